"""The monthly report as files: JSON for machines, CSV for spreadsheets, HTML for people.

All three are byte-for-byte the same for the same report (no timestamps beyond the report
date), so a second run on the same day with unchanged data produces identical files.

- JSON: English keys, amounts as strings with two decimals (never floats), dates ISO-8601.
- CSV: for German spreadsheets: ``;`` as separator, decimal comma, UTF-8 with BOM, one row
  per figure with a section, an item and the columns that apply to it.
- HTML: one self-contained page (inline CSS and SVG, no scripts, fonts or links to load)
  with key figures, charts of revenue by day, receivables by age and the top clients, and
  the tables behind them. German labels and number formats: the readers are in accounting.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from autopilot.billomat.models import InvoiceStatus
from autopilot.money import compact_german_amount, german_amount, german_number

from .figures import (
    NOT_DUE,
    AgingBucket,
    Change,
    ClientRevenue,
    DayRevenue,
    MonthlyReport,
)

REPORT_FORMAT_VERSION = 1

STATUS_LABELS = {
    InvoiceStatus.PAID: "bezahlt",
    InvoiceStatus.OPEN: "offen (nicht fällig)",
    InvoiceStatus.OVERDUE: "überfällig",
    InvoiceStatus.CANCELED: "storniert",
    InvoiceStatus.DRAFT: "Entwurf",
}
STATUS_COLOURS = {
    InvoiceStatus.PAID: "#16a34a",
    InvoiceStatus.OPEN: "#3b82f6",
    InvoiceStatus.OVERDUE: "#dc2626",
    InvoiceStatus.CANCELED: "#9ca3af",
    InvoiceStatus.DRAFT: "#d1d5db",
}
AGING_LABELS = {
    NOT_DUE: "noch nicht fällig",
    "0-30": "0–30 Tage überfällig",
    "31-60": "31–60 Tage überfällig",
    "61-90": "61–90 Tage überfällig",
    "90+": "über 90 Tage überfällig",
}
AGING_COLOURS = {
    NOT_DUE: "#16a34a",
    "0-30": "#eab308",
    "31-60": "#f97316",
    "61-90": "#dc2626",
    "90+": "#7f1d1d",
}
PAYMENT_TYPE_LABELS = {
    "BANK_TRANSFER": "Überweisung",
    "DEBIT": "Lastschrift",
    "PAYPAL": "PayPal",
    "CREDIT_CARD": "Kreditkarte",
    "BANK_CARD": "EC-Karte",
    "CASH": "Bar",
    "CHECK": "Scheck",
    "COUPON": "Gutschein",
    "CREDIT_NOTE": "Gutschrift",
    "INVOICE_CORRECTION": "Rechnungskorrektur",
    "MISC": "Sonstige",
    "UNSPECIFIED": "ohne Angabe",
}
CHANGE_LABELS = {
    "invoice_count": "Rechnungen",
    "net": "Umsatz netto",
    "gross": "Umsatz brutto",
    "cash_received": "Zahlungseingang",
}
WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}
NO_BREAK_SPACE = "\u00a0"

ACCENT = "#2563eb"
ACCENT_LIGHT = "#93c5fd"
INK = "#111827"
MUTED = "#6b7280"
GRID = "#e5e7eb"


# --- numbers as people in Germany write them -------------------------------------------------


def counted(count: int, one: str, many: str) -> str:
    """``1 Rechnung``, ``1.000 Rechnungen``."""
    return f"{german_number(count)} {one if count == 1 else many}"


def invoices(count: int) -> str:
    """``1 Rechnung``, ``12 Rechnungen``."""
    return counted(count, "Rechnung", "Rechnungen")


def money(amount: Decimal, currency: str) -> str:
    """``12.345,67 €``: the layer's German amount with the currency's sign, never broken."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    return german_amount(amount, symbol, space=NO_BREAK_SPACE)


def compact_money(amount: Decimal, currency: str) -> str:
    """Axis labels: ``850 €``, ``12.500 €``, ``1,2 Mio. €`` (no cents)."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    return compact_german_amount(amount, symbol, space=NO_BREAK_SPACE)


def signed_percent(percent: Decimal | None) -> str:
    """``+12,3 %`` / ``−4,0 %``; ``neu`` when there is no percentage (month before was 0)."""
    if percent is None:
        return "neu"
    sign = "+" if percent > 0 else "−" if percent < 0 else "±"
    return f"{sign}{german_number(abs(percent), 1)}\u00a0%"


def german_date(day: Any) -> str:
    """``01.04.2025``."""
    return f"{day:%d.%m.%Y}"


def rate_label(rate: Decimal) -> str:
    """``19 %``, ``7 %``, ``5,5 %``."""
    decimals = 0 if rate == rate.to_integral_value() else 1 if rate * 10 % 1 == 0 else 2
    return f"{german_number(rate, decimals)}\u00a0%"


def _cents(amount: Decimal) -> str:
    """Machine form of an amount: two decimals, a point, no grouping."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def _plain(value: Decimal) -> str:
    normal = value.normalize()
    return f"{normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal:f}"


# --- JSON ----------------------------------------------------------------------------------


def report_document(report: MonthlyReport) -> dict[str, Any]:
    """The report as plain JSON-able data (amounts as strings, dates ISO)."""
    month = report.month
    previous = report.previous
    return {
        "report": "monthly",
        "format_version": REPORT_FORMAT_VERSION,
        "month": month.key,
        "month_name": month.german_name,
        "period": {"from": month.first_day.isoformat(), "to": month.last_day.isoformat()},
        "as_of": report.as_of.isoformat(),
        "currency": report.currency,
        "invoices_issued": {
            "count": report.issued.invoice_count,
            "net": _cents(report.issued.net),
            "tax": _cents(report.issued.tax),
            "gross": _cents(report.issued.gross),
            "cancelled_count": report.issued.cancelled_count,
            "cancelled_gross": _cents(report.issued.cancelled_gross),
        },
        "by_tax_rate": [
            {
                "rate": _plain(row.rate),
                "invoice_count": row.invoice_count,
                "net": _cents(row.net),
                "tax": _cents(row.tax),
                "gross": _cents(row.gross),
            }
            for row in report.by_tax_rate
        ],
        "by_status": [
            {
                "status": row.status.value,
                "invoice_count": row.invoice_count,
                "gross": _cents(row.gross),
                "open_amount": _cents(row.open_amount),
            }
            for row in report.by_status
        ],
        "revenue_by_day": [
            {
                "date": row.day.isoformat(),
                "invoice_count": row.invoice_count,
                "net": _cents(row.net),
                "gross": _cents(row.gross),
            }
            for row in report.by_day
        ],
        "top_clients": [
            {
                "rank": row.rank,
                "client_id": row.client_id,
                "name": row.name,
                "invoice_count": row.invoice_count,
                "net": _cents(row.net),
                "gross": _cents(row.gross),
                "share_percent": f"{row.share_percent:f}",
            }
            for row in report.top_clients
        ],
        "receivables": {
            "as_of": report.receivables.as_of.isoformat(),
            "invoice_count": report.receivables.invoice_count,
            "open_amount": _cents(report.receivables.open_amount),
            "overdue_count": report.receivables.overdue_count,
            "overdue_amount": _cents(report.receivables.overdue_amount),
            "aging": [
                {
                    "bucket": bucket.key,
                    "invoice_count": bucket.invoice_count,
                    "open_amount": _cents(bucket.open_amount),
                }
                for bucket in report.receivables.buckets
            ],
        },
        "cash_received": {
            "payment_count": report.cash.payment_count,
            "total": _cents(report.cash.total),
            "by_type": [
                {
                    "type": row.payment_type,
                    "payment_count": row.payment_count,
                    "amount": _cents(row.amount),
                }
                for row in report.cash.by_type
            ],
        },
        "reminders_sent": {
            "total": report.reminders.total,
            "by_level": [
                {"level": row.level, "name": row.name, "count": row.count}
                for row in report.reminders.by_level
            ],
        },
        "review_list": {
            "open_items": report.review.open_items,
            "added_in_month": report.review.added_in_month,
        },
        "previous_month": None
        if previous is None
        else {
            "month": month.previous().key,
            "invoice_count": previous.invoice_count,
            "net": _cents(previous.net),
            "gross": _cents(previous.gross),
            "cash_received": _cents(previous.cash_received),
        },
        "changes": [
            {
                "metric": change.metric,
                "current": _change_value(change, change.current),
                "previous": _change_value(change, change.previous),
                "difference": _change_value(change, change.difference),
                "percent": None if change.percent is None else f"{change.percent:f}",
            }
            for change in report.changes
        ],
        "other_currencies": [
            {
                "currency": row.currency,
                "invoice_count": row.invoice_count,
                "gross": _cents(row.gross),
                "payment_count": row.payment_count,
                "payments_total": _cents(row.payments_total),
            }
            for row in report.other_currencies
        ],
    }


def _change_value(change: Change, value: Decimal) -> str:
    return _plain(value) if change.metric == "invoice_count" else _cents(value)


def report_json(report: MonthlyReport) -> bytes:
    """``report.json``: UTF-8, indented, keys in a fixed order."""
    text = json.dumps(report_document(report), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "Bereich",
    "Posten",
    "Anzahl",
    "Netto",
    "Steuer",
    "Brutto",
    "Betrag",
    "Prozent",
)


def report_rows(report: MonthlyReport) -> list[dict[str, str]]:
    """The report as spreadsheet rows (German labels and decimal commas)."""
    rows: list[dict[str, str]] = []

    def add(section: str, item: str, **values: Decimal | int | None) -> None:
        row = {"Bereich": section, "Posten": item}
        for column, value in values.items():
            if value is None:
                continue
            if column == "Anzahl":
                row[column] = str(value)
            elif column == "Prozent":
                row[column] = german_number(Decimal(value), 1)
            else:
                row[column] = german_number(Decimal(value), 2)
        rows.append({column: row.get(column, "") for column in CSV_COLUMNS})

    month = report.month
    rows.append(
        {
            **dict.fromkeys(CSV_COLUMNS, ""),
            "Bereich": "Bericht",
            "Posten": f"{month.key} ({month.german_name}), Stand {german_date(report.as_of)}, "
            f"Beträge in {report.currency}",
        }
    )
    issued = report.issued
    add(
        "Rechnungen",
        "ausgestellt",
        Anzahl=issued.invoice_count,
        Netto=issued.net,
        Steuer=issued.tax,
        Brutto=issued.gross,
    )
    add("Rechnungen", "storniert", Anzahl=issued.cancelled_count, Brutto=issued.cancelled_gross)
    for tax in report.by_tax_rate:
        add(
            "Steuersatz",
            rate_label(tax.rate).replace("\u00a0", " "),
            Anzahl=tax.invoice_count,
            Netto=tax.net,
            Steuer=tax.tax,
            Brutto=tax.gross,
        )
    for status in report.by_status:
        add(
            "Status",
            STATUS_LABELS[status.status],
            Anzahl=status.invoice_count,
            Brutto=status.gross,
            Betrag=status.open_amount,
        )
    for day in report.by_day:
        add("Tag", day.day.isoformat(), Anzahl=day.invoice_count, Netto=day.net, Brutto=day.gross)
    for client in report.top_clients:
        add(
            "Top-Kunde",
            f"{client.rank}. {client.name}",
            Anzahl=client.invoice_count,
            Netto=client.net,
            Brutto=client.gross,
            Prozent=client.share_percent,
        )
    receivables = report.receivables
    add(
        "Offene Posten",
        f"gesamt am {german_date(receivables.as_of)}",
        Anzahl=receivables.invoice_count,
        Betrag=receivables.open_amount,
    )
    for bucket in receivables.buckets:
        add(
            "Offene Posten",
            AGING_LABELS[bucket.key],
            Anzahl=bucket.invoice_count,
            Betrag=bucket.open_amount,
        )
    add("Zahlungseingang", "gesamt", Anzahl=report.cash.payment_count, Betrag=report.cash.total)
    for kind in report.cash.by_type:
        add(
            "Zahlungseingang",
            PAYMENT_TYPE_LABELS.get(kind.payment_type, kind.payment_type),
            Anzahl=kind.payment_count,
            Betrag=kind.amount,
        )
    add("Mahnungen", "versendet", Anzahl=report.reminders.total)
    for level in report.reminders.by_level:
        add("Mahnungen", _level_label(level.level, level.name), Anzahl=level.count)
    add("Prüfliste", "offene Einträge", Anzahl=report.review.open_items)
    add("Prüfliste", "im Monat hinzugekommen", Anzahl=report.review.added_in_month)
    for change in report.changes:
        label = f"{CHANGE_LABELS[change.metric]} {month.previous().key}"
        if change.metric == "invoice_count":
            add("Vormonat", label, Anzahl=int(change.previous), Prozent=change.percent)
        else:
            add("Vormonat", label, Betrag=change.previous, Prozent=change.percent)
    for other in report.other_currencies:
        add(
            f"Andere Währung {other.currency}",
            "Rechnungen (nicht summiert)",
            Anzahl=other.invoice_count,
            Brutto=other.gross,
        )
        add(
            f"Andere Währung {other.currency}",
            "Zahlungen (nicht summiert)",
            Anzahl=other.payment_count,
            Betrag=other.payments_total,
        )
    return rows


def report_csv(report: MonthlyReport) -> bytes:
    """``report.csv``: semicolons, decimal commas, UTF-8 with BOM (Excel reads umlauts)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return buffer.getvalue().encode("utf-8-sig")


def _level_label(level: int | None, name: str | None) -> str:
    prefix = f"Stufe {level}" if level is not None else "ohne Stufe"
    return f"{prefix} ({name})" if name else prefix


# --- charts (inline SVG) ---------------------------------------------------------------------


def nice_ceiling(value: Decimal) -> tuple[Decimal, Decimal]:
    """A round axis maximum ≥ ``value`` and its grid step (1, 2, 2.5 or 5 × 10ⁿ, 4–5 steps)."""
    if value <= 0:
        return Decimal(100), Decimal(25)
    magnitude = Decimal(10) ** math.floor(math.log10(float(value) / 4))
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        step = factor * magnitude
        if step * 5 >= value:
            top = (value / step).to_integral_value(rounding=ROUND_CEILING) * step
            return top, step
    raise AssertionError("a factor of 10 always reaches the value")  # pragma: no cover


def _svg_text(x: float, y: float, text: str, **attributes: str | float) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def revenue_by_day_chart(days: Sequence[DayRevenue], currency: str) -> str:
    """Bars of net revenue per day; weekends lighter, a dashed line at the daily average."""
    width, height = 1040, 300
    left, right, top, bottom = 84, 12, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((day.net for day in days), default=Decimal(0))
    axis_max, step = nice_ceiling(peak)
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.72, 2.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Umsatz netto pro Tag" xmlns="http://www.w3.org/2000/svg">'
    ]
    level = Decimal(0)
    while level <= axis_max:
        y = top + plot_h - float(level / axis_max) * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            _svg_text(
                left - 8, y + 4, compact_money(level, currency), text_anchor="end", class_="axis"
            )
        )
        level += step
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        weekend = day.day.weekday() >= 5
        bar_h = float(day.net / axis_max) * plot_h if axis_max else 0.0
        y = top + plot_h - bar_h
        tip = (
            f"{WEEKDAYS[day.day.weekday()]} {german_date(day.day)}: "
            f"{invoices(day.invoice_count)}, {money(day.net, currency)} netto"
        )
        colour = ACCENT_LIGHT if weekend else ACCENT
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" rx="2" '
            f'fill="{colour}"><title>{escape(tip)}</title></rect>'
        )
        label_colour = MUTED if weekend else INK
        parts.append(
            _svg_text(
                x + bar_w / 2,
                top + plot_h + 16,
                str(day.day.day),
                text_anchor="middle",
                class_="axis",
                fill=label_colour,
            )
        )
        if day.day.weekday() == 0:
            parts.append(
                _svg_text(
                    x + bar_w / 2,
                    top + plot_h + 32,
                    "Mo",
                    text_anchor="middle",
                    class_="axis small",
                )
            )
    active = [day for day in days if day.net]
    if active:
        average = sum((day.net for day in days), Decimal(0)) / len(days)
        y = top + plot_h - float(average / axis_max) * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#f59e0b" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
        )
        label = f"Ø {money(average, currency)} pro Tag"
        parts.append(
            f'<rect x="{left + 4}" y="{y - 21:.1f}" width="{len(label) * 7 + 12}" height="18" '
            f'rx="4" fill="#ffffff" fill-opacity="0.92"/>'
        )
        parts.append(_svg_text(left + 10, y - 8, label, class_="note"))
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class HorizontalBar:
    """One labelled bar of a horizontal bar chart."""

    label: str
    value: Decimal
    caption: str
    colour: str
    tip: str


def horizontal_bar_chart(
    bars: Sequence[HorizontalBar], aria_label: str, *, row_h: int = 34, label_w: int = 250
) -> str:
    """Labelled horizontal bars scaled to the largest, each with its caption at the end."""
    width, caption_w = 640, 170
    label_chars = int((label_w - 14) / 8)
    height = max(len(bars), 1) * row_h + 8
    plot_w = width - label_w - caption_w - 16
    peak = max((bar.value for bar in bars), default=Decimal(0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(aria_label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if not bars:
        parts.append(_svg_text(0, 22, "keine Daten", class_="note"))
    for index, bar in enumerate(bars):
        y = 4 + index * row_h
        length = float(bar.value / peak) * plot_w if peak > 0 else 0.0
        parts.append(
            _svg_text(
                label_w - 10,
                y + row_h / 2 + 4,
                _shorten(bar.label, label_chars),
                text_anchor="end",
                class_="label",
            )
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 5}" width="{plot_w}" height="{row_h - 10}" rx="3" '
            f'fill="#f3f4f6"/>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 5}" width="{max(length, 0.0):.1f}" '
            f'height="{row_h - 10}" rx="3" fill="{bar.colour}"><title>{escape(bar.tip)}</title>'
            f"</rect>"
        )
        parts.append(
            _svg_text(label_w + plot_w + 10, y + row_h / 2 + 4, bar.caption, class_="value")
        )
    parts.append("</svg>")
    return "".join(parts)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def aging_chart(buckets: Sequence[AgingBucket], currency: str) -> str:
    """Open receivables by age: green when not yet due, darkening to red with lateness."""
    return horizontal_bar_chart(
        [
            HorizontalBar(
                label=AGING_LABELS[bucket.key],
                value=bucket.open_amount,
                caption=f"{money(bucket.open_amount, currency)} · {bucket.invoice_count}",
                colour=AGING_COLOURS[bucket.key],
                tip=f"{AGING_LABELS[bucket.key]}: {invoices(bucket.invoice_count)}, "
                f"{money(bucket.open_amount, currency)} offen",
            )
            for bucket in buckets
        ],
        "Offene Posten nach Fälligkeit",
        row_h=44,
        label_w=200,
    )


def top_clients_chart(clients: Sequence[ClientRevenue], currency: str) -> str:
    """The top clients' net revenue with their share of the month."""
    return horizontal_bar_chart(
        [
            HorizontalBar(
                label=f"{client.rank}. {client.name}",
                value=client.net,
                caption=f"{money(client.net, currency)} · "
                f"{german_number(client.share_percent, 1)}\u00a0%",
                colour=ACCENT,
                tip=f"{client.name}: {invoices(client.invoice_count)}, "
                f"{money(client.net, currency)} netto, {money(client.gross, currency)} brutto",
            )
            for client in clients
        ],
        "Top-Kunden nach Umsatz",
    )


def status_strip(report: MonthlyReport) -> str:
    """One stacked bar: how many of the month's invoices are paid, open, overdue, cancelled."""
    width, height = 640, 22
    total = sum(row.invoice_count for row in report.by_status)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Status der Rechnungen des Monats" xmlns="http://www.w3.org/2000/svg">'
    ]
    x = 0.0
    for row in report.by_status:
        segment = row.invoice_count / total * width if total else 0.0
        if segment > 0:
            tip = f"{STATUS_LABELS[row.status]}: {invoices(row.invoice_count)}"
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{segment:.1f}" height="{height}" '
                f'fill="{STATUS_COLOURS[row.status]}"><title>{escape(tip)}</title></rect>'
            )
        x += segment
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="{GRID}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{STATUS_COLOURS[row.status]}"></i>'
        f"{escape(STATUS_LABELS[row.status])} {german_number(row.invoice_count)}</span>"
        for row in report.by_status
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


# --- HTML ----------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;
 font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
 margin-bottom:20px}
h1{font-size:28px;margin:0}
h2{font-size:17px;margin:0 0 12px}
.sub{color:#6b7280;margin:4px 0 0}
.tiles{display:grid;grid-template-columns:repeat(3,1fr);gap:14px;margin-bottom:16px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px #0000000d}
.tile .k{color:#6b7280;font-size:13px}
.tile .v{font-size:25px;font-weight:650;margin-top:2px;white-space:nowrap}
.tile .d{font-size:13px;margin-top:2px;color:#6b7280}
.up{color:#15803d;font-weight:600}.down{color:#b91c1c;font-weight:600}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px #0000000d;
 margin-bottom:16px}
.row{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.row .card{margin-bottom:16px}
svg.chart{width:100%;height:auto;display:block}
svg text{font-family:inherit}
svg .axis{font-size:12px;fill:#6b7280}
svg .small{font-size:10px}
svg .label{font-size:13px;fill:#111827}
svg .value{font-size:13px;fill:#374151;font-weight:600}
svg .note{font-size:12px;fill:#b45309;font-weight:600}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
th{color:#6b7280;font-weight:600;font-size:13px}
tfoot td{font-weight:650;border-bottom:0}
.notes{color:#6b7280;font-size:12.5px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:13px;margin:8px 0 10px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px}
.aging-sum{margin-top:12px}
.warn{background:#fef3c7;border-radius:8px;padding:10px 12px;margin-bottom:16px}
@media print{body{background:#fff}.card,.tile{box-shadow:none;border:1px solid #e5e7eb}}
@media (max-width:760px){.tiles{grid-template-columns:1fr 1fr}.row{grid-template-columns:1fr}}
"""


def _change_for(report: MonthlyReport, metric: str) -> Change | None:
    return next((change for change in report.changes if change.metric == metric), None)


def _delta_html(change: Change | None, previous_label: str, currency: str | None) -> str:
    if change is None:
        return '<div class="d">kein Vormonatsvergleich</div>'
    if change.percent is None:
        trend = '<span class="up">neu</span>'
    elif change.percent > 0:
        trend = f'<span class="up">▲ {signed_percent(change.percent)}</span>'
    elif change.percent < 0:
        trend = f'<span class="down">▼ {signed_percent(change.percent)}</span>'
    else:
        trend = f"<span>{signed_percent(change.percent)}</span>"
    before = (
        german_number(change.previous) if currency is None else money(change.previous, currency)
    )
    return f'<div class="d">{trend} ggü. {escape(previous_label)} ({before})</div>'


def _tile(label: str, value: str, detail: str) -> str:
    return (
        f'<div class="tile"><div class="k">{escape(label)}</div>'
        f'<div class="v">{escape(value)}</div>{detail}</div>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], foot: Sequence[str] = ()) -> str:
    header = "".join(f"<th>{escape(cell)}</th>" for cell in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(head)}">keine</td></tr>'
    footer = (
        "<tfoot><tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in foot) + "</tr></tfoot>"
        if foot
        else ""
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody>{footer}</table>"


def report_html(report: MonthlyReport, company: str | None = None) -> bytes:
    """``report.html``: one self-contained page a person would rather read than a table."""
    month, currency = report.month, report.currency
    previous_label = month.previous().german_name
    issued, receivables, cash = report.issued, report.receivables, report.cash
    overdue_share = (
        f"{german_number(receivables.overdue_amount * 100 / receivables.open_amount, 0)}\u00a0%"
        if receivables.open_amount
        else "0\u00a0%"
    )
    tiles = "".join(
        (
            _tile(
                "Umsatz netto",
                money(issued.net, currency),
                _delta_html(_change_for(report, "net"), previous_label, currency),
            ),
            _tile(
                "Rechnungen ausgestellt",
                german_number(issued.invoice_count),
                _delta_html(_change_for(report, "invoice_count"), previous_label, None),
            ),
            _tile(
                "Zahlungseingang",
                money(cash.total, currency),
                _delta_html(_change_for(report, "cash_received"), previous_label, currency),
            ),
            _tile(
                "Offene Posten",
                money(receivables.open_amount, currency),
                f'<div class="d">{invoices(receivables.invoice_count)}, davon '
                f"{escape(overdue_share)} überfällig</div>",
            ),
            _tile(
                "Mahnungen versendet",
                german_number(report.reminders.total),
                '<div class="d">'
                + escape(
                    ", ".join(
                        f"Stufe {level.level}: {level.count}"
                        for level in report.reminders.by_level
                        if level.level is not None
                    )
                    or "keine"
                )
                + "</div>",
            ),
            _tile(
                "Prüfliste Bank",
                german_number(report.review.open_items),
                f'<div class="d">{german_number(report.review.added_in_month)} aus '
                f"{escape(month.german_name)}</div>",
            ),
        )
    )
    tax_table = _table(
        ("Steuersatz", "Rechnungen", "Netto", "Steuer", "Brutto"),
        [
            (
                rate_label(row.rate),
                german_number(row.invoice_count),
                money(row.net, currency),
                money(row.tax, currency),
                money(row.gross, currency),
            )
            for row in report.by_tax_rate
        ],
        (
            "Summe",
            german_number(issued.invoice_count),
            money(issued.net, currency),
            money(issued.tax, currency),
            money(issued.gross, currency),
        ),
    )
    status_table = _table(
        ("Status heute", "Rechnungen", "Brutto", "noch offen"),
        [
            (
                STATUS_LABELS[row.status],
                german_number(row.invoice_count),
                money(row.gross, currency),
                money(row.open_amount, currency) if row.open_amount else "–",
            )
            for row in report.by_status
        ],
    )
    cash_table = _table(
        ("Zahlart", "Zahlungen", "Betrag"),
        [
            (
                PAYMENT_TYPE_LABELS.get(row.payment_type, row.payment_type),
                german_number(row.payment_count),
                money(row.amount, currency),
            )
            for row in cash.by_type
        ],
        ("Summe", german_number(cash.payment_count), money(cash.total, currency)),
    )
    reminder_table = _table(
        ("Mahnstufe", "versendet"),
        [
            (_level_label(row.level, row.name), german_number(row.count))
            for row in report.reminders.by_level
        ],
        ("Summe", german_number(report.reminders.total)),
    )
    comparison = _comparison_table(report, previous_label)
    aging_summary = _table(
        ("Offene Posten", "Rechnungen", "offen"),
        [
            (
                "noch nicht fällig",
                german_number(receivables.invoice_count - receivables.overdue_count),
                money(receivables.open_amount - receivables.overdue_amount, currency),
            ),
            (
                "überfällig",
                german_number(receivables.overdue_count),
                money(receivables.overdue_amount, currency),
            ),
        ],
        (
            "gesamt",
            german_number(receivables.invoice_count),
            money(receivables.open_amount, currency),
        ),
    )
    warnings = "".join(
        f'<div class="warn">{invoices(other.invoice_count)} '
        f"({escape(money(other.gross, other.currency))}) und "
        f"{counted(other.payment_count, 'Zahlung', 'Zahlungen')} "
        f"({escape(money(other.payments_total, other.currency))}) in {escape(other.currency)} "
        f"sind in keiner Summe enthalten.</div>"
        for other in report.other_currencies
    )
    title = f"Monatsbericht {month.german_name}"
    top_title = (
        f"Top {len(report.top_clients)} Kunden nach Umsatz netto"
        if len(report.top_clients) > 1
        else "Kunden nach Umsatz netto"
    )
    who = f"{escape(company)} · " if company else ""
    page = f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><main>
<header><div><h1>{escape(title)}</h1>
<p class="sub">{who}{german_date(month.first_day)} – {german_date(month.last_day)} ·
Stand {german_date(report.as_of)} · Beträge in {escape(currency)}</p></div></header>
{warnings}
<section class="tiles">{tiles}</section>
<section class="card"><h2>Umsatz netto pro Tag</h2>
{revenue_by_day_chart(report.by_day, currency)}</section>
<div class="row">
<section class="card"><h2>Offene Posten am {german_date(receivables.as_of)}</h2>
{aging_chart(receivables.buckets, currency)}<div class="aging-sum">{aging_summary}</div></section>
<section class="card"><h2>{top_title}</h2>
{top_clients_chart(report.top_clients, currency)}</section>
</div>
<div class="row">
<section class="card"><h2>Rechnungen aus {escape(month.german_name)} heute</h2>
{status_strip(report)}{status_table}</section>
<section class="card"><h2>Umsatz nach Steuersatz</h2>{tax_table}</section>
</div>
<div class="row">
<section class="card"><h2>Zahlungseingang</h2>{cash_table}</section>
<section class="card"><h2>Vergleich mit {escape(previous_label)}</h2>{comparison}
<h2 style="margin-top:18px">Mahnungen</h2>{reminder_table}</section>
</div>
<p class="notes">Umsatz: abgeschlossene Rechnungen mit Rechnungsdatum im Monat, ohne
Stornos ({german_number(issued.cancelled_count)} storniert,
{escape(money(issued.cancelled_gross, currency))} brutto). Zahlungseingang: Zahlungen mit
Zahlungsdatum im Monat. Offene Posten: Rechnungen bis {german_date(month.last_day)}, die am
{german_date(receivables.as_of)} noch offen sind, nach Tagen seit Fälligkeit. Prüfliste:
Banktransaktionen, die auf eine Prüfung warten.</p>
</main></body></html>
"""
    return page.encode("utf-8")


def _comparison_table(report: MonthlyReport, previous_label: str) -> str:
    if not report.changes:
        return '<p class="notes">Keine Zahlen für den Vormonat.</p>'
    rows = []
    for change in report.changes:
        if change.metric == "invoice_count":
            now, before = german_number(change.current), german_number(change.previous)
        else:
            now = money(change.current, report.currency)
            before = money(change.previous, report.currency)
        rows.append((CHANGE_LABELS[change.metric], now, before, signed_percent(change.percent)))
    return _table(("Kennzahl", report.month.german_name, previous_label, "Veränderung"), rows)


# --- the notice to accounting --------------------------------------------------------------


def notification_subject(report: MonthlyReport) -> str:
    """``Monatsbericht März 2025: 1.000 Rechnungen, 123.456,78 € netto``."""
    return (
        f"Monatsbericht {report.month.german_name}: "
        f"{invoices(report.issued.invoice_count)}, "
        f"{money(report.issued.net, report.currency).replace(chr(0xA0), ' ')} netto"
    )


def notification_lines(report: MonthlyReport, links: dict[str, str]) -> list[str]:
    """The notice's text: the summary in a few lines and where the files are."""
    currency = report.currency

    def amount(value: Decimal) -> str:
        return money(value, currency).replace("\u00a0", " ")

    previous = report.month.previous().german_name
    net_change = _change_for(report, "net")
    trend = (
        f" ({signed_percent(net_change.percent).replace(chr(0xA0), ' ')} ggü. {previous})"
        if net_change is not None
        else ""
    )
    issued, receivables = report.issued, report.receivables
    lines = [
        f"Monatsbericht {report.month.german_name} (Stand {german_date(report.as_of)})",
        "",
        f"Rechnungen ausgestellt: {german_number(issued.invoice_count)} "
        f"(netto {amount(issued.net)}, brutto {amount(issued.gross)}){trend}",
        f"Storniert: {german_number(issued.cancelled_count)}",
        f"Zahlungseingang: {amount(report.cash.total)} "
        f"({counted(report.cash.payment_count, 'Zahlung', 'Zahlungen')})",
        f"Offene Posten: {amount(receivables.open_amount)} in "
        f"{invoices(receivables.invoice_count)}, davon überfällig "
        f"{amount(receivables.overdue_amount)}",
        f"Mahnungen versendet: {german_number(report.reminders.total)}",
        f"Prüfliste Bank: {german_number(report.review.open_items)} Einträge",
    ]
    if report.top_clients:
        best = report.top_clients[0]
        lines.append(f"Umsatzstärkster Kunde: {best.name} ({amount(best.net)} netto)")
    for other in report.other_currencies:
        lines.append(
            f"Hinweis: {invoices(other.invoice_count)} und "
            f"{counted(other.payment_count, 'Zahlung', 'Zahlungen')} in "
            f"{other.currency} sind in keiner Summe enthalten."
        )
    lines.append("")
    if "html" in links:
        lines.append(f"Bericht ansehen: {links['html']}")
    if "csv" in links:
        lines.append(f"Tabelle (CSV): {links['csv']}")
    if "location" in links:
        lines.append(f"Ablage: {links['location']}")
    return lines
