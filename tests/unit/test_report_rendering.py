"""The report as JSON, CSV and a self-contained HTML page, and the notice to accounting."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reporting.figures import MonthlyReport, MonthTotals, monthly_report
from reporting.period import ReportMonth
from reporting.rendering import (
    compact_money,
    money,
    nice_ceiling,
    notification_lines,
    notification_subject,
    report_csv,
    report_html,
    report_json,
    signed_percent,
)

from autopilot.billomat.models import Invoice, InvoicePayment, InvoiceStatus, Reminder
from autopilot.money import german_number, gross_from_net

D = Decimal
IDS = itertools.count(1)
MARCH = ReportMonth(2025, 3)


def invoice(
    net: str, rate: str, day: int, client: int, status: str = "PAID", **extra: Any
) -> Invoice:
    amount, tax_rate = D(net), D(rate)
    gross = gross_from_net(amount, tax_rate)
    return Invoice(
        id=next(IDS),
        client_id=client,
        status=InvoiceStatus(status),
        date=dt.date(2025, 3, day),
        due_date=dt.date(2025, 3, day) + dt.timedelta(days=14),
        currency_code=extra.pop("currency", "EUR"),
        total_net=amount,
        total_gross=gross,
        open_amount=D(0) if status == "PAID" else gross,
        taxes=[
            {
                "rate": tax_rate,
                "amount": gross - amount,
                "amount_net": amount,
                "amount_gross": gross,
            }
        ],
    )


def sample(**overrides: Any) -> MonthlyReport:
    parts: dict[str, Any] = {
        "invoices": [
            invoice("1234.56", "19", 3, 1),
            invoice("100", "7", 4, 2, "OPEN"),
            invoice("2500", "19", 17, 3, "OVERDUE"),
            invoice("50", "19", 18, 4, "CANCELED"),
            invoice("700", "0", 19, 5, currency="USD"),
        ],
        "open_invoices": [],
        "payments": [InvoicePayment(id=90, amount=D("1469.13"), date=dt.date(2025, 3, 20))],
        "reminders": [Reminder(id=91, status="OPEN", reminder_level=1, date=dt.date(2025, 3, 21))],
        "client_names": {1: "Müller & Söhne <GmbH>", 2: "Beta AG", 3: 'Gamma "KG"'},
        "review_sort_keys": ["2025-03-02#x"],
        "previous": MonthTotals(2, D("3000"), D("3570"), D("1000")),
    }
    parts.update(overrides)
    return monthly_report(MARCH, dt.date(2025, 4, 1), "EUR", **parts)


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (D("1234567.891"), 2, "1.234.567,89"),
        (D("0.005"), 2, "0,01"),
        (D("-1234.5"), 2, "-1.234,50"),
        (D("999"), 0, "999"),
        (D("1000"), 0, "1.000"),
        (D("12.25"), 1, "12,3"),
        (0, 2, "0,00"),
    ],
)
def test_german_number_format(value: Decimal | int, decimals: int, text: str) -> None:
    assert german_number(value, decimals) == text


def test_money_and_percent_format() -> None:
    assert money(D("12345.6"), "EUR") == "12.345,60\u00a0€"
    assert money(D("1"), "SEK") == "1,00\u00a0SEK"
    assert money(D("-0.004"), "USD") == "0,00\u00a0$"
    assert compact_money(D("850"), "EUR") == "850\u00a0€"
    assert compact_money(D("12499.5"), "EUR") == "12.500\u00a0€"
    assert compact_money(D("1249999"), "CHF") == "1,2\u00a0Mio.\u00a0CHF"
    assert signed_percent(D("12.3")) == "+12,3\u00a0%"
    assert signed_percent(D("-4")) == "−4,0\u00a0%"
    assert signed_percent(None) == "neu"


@given(st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=2))
def test_chart_axis_is_round_and_covers_the_largest_value(value: Decimal) -> None:
    top, step = nice_ceiling(value)
    assert top >= value
    assert top % step == 0
    assert 1 <= top / step <= 5
    assert step.normalize().as_tuple().digits[0] in (1, 2, 5)


# --- JSON -------------------------------------------------------------------------------------


def test_json_has_exact_amounts_as_strings_and_iso_dates() -> None:
    document = json.loads(report_json(sample()))
    assert document["month"] == "2025-03"
    assert document["period"] == {"from": "2025-03-01", "to": "2025-03-31"}
    issued = document["invoices_issued"]
    assert issued == {
        "count": 3,
        "net": "3834.56",
        "tax": "716.57",
        "gross": "4551.13",
        "cancelled_count": 1,
        "cancelled_gross": "59.50",
    }
    assert [row["rate"] for row in document["by_tax_rate"]] == ["19", "7"]
    assert document["top_clients"][0]["name"] == 'Gamma "KG"'
    assert document["previous_month"]["month"] == "2025-02"
    changes = {row["metric"]: row for row in document["changes"]}
    assert changes["invoice_count"] == {
        "metric": "invoice_count",
        "current": "3",
        "previous": "2",
        "difference": "1",
        "percent": "50.0",
    }
    assert document["other_currencies"][0]["currency"] == "USD"


def test_json_has_no_floats() -> None:
    def walk(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(json.loads(report_json(sample()), parse_float=lambda text: float(text)))


def test_same_report_renders_byte_for_byte_the_same() -> None:
    first, second = sample(), sample()
    assert report_json(first) == report_json(second)
    assert report_csv(first) == report_csv(second)
    assert report_html(first) == report_html(second)


# --- CSV --------------------------------------------------------------------------------------


def csv_rows(report: MonthlyReport) -> list[dict[str, str]]:
    raw = report_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the umlauts
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_csv_is_for_german_spreadsheets() -> None:
    rows = csv_rows(sample())
    issued = next(row for row in rows if row["Posten"] == "ausgestellt")
    assert issued["Bereich"] == "Rechnungen"
    assert (issued["Anzahl"], issued["Netto"], issued["Brutto"]) == ("3", "3.834,56", "4.551,13")
    days = [row for row in rows if row["Bereich"] == "Tag"]
    assert len(days) == 31
    assert sum(D(row["Netto"].replace(".", "").replace(",", ".")) for row in days) == D("3834.56")


def test_csv_sections_cover_the_whole_report() -> None:
    sections = {row["Bereich"] for row in csv_rows(sample())}
    assert {
        "Bericht",
        "Rechnungen",
        "Steuersatz",
        "Status",
        "Tag",
        "Top-Kunde",
        "Offene Posten",
        "Zahlungseingang",
        "Mahnungen",
        "Prüfliste",
        "Vormonat",
        "Andere Währung USD",
    } <= sections


# --- HTML -------------------------------------------------------------------------------------


def test_html_page_is_self_contained() -> None:
    html = report_html(sample()).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert not re.search(r"(src|href)\s*=", html)
    assert "url(" not in html
    outside = re.findall(r"https?://[^\"' ]+", html)
    assert set(outside) <= {"http://www.w3.org/2000/svg"}


def test_html_page_has_the_three_charts_and_key_figures() -> None:
    html = report_html(sample()).decode("utf-8")
    assert 'aria-label="Umsatz netto pro Tag"' in html
    assert 'aria-label="Offene Posten nach Fälligkeit"' in html
    assert 'aria-label="Top-Kunden nach Umsatz"' in html
    assert html.count("<svg") == 4  # the three charts and the status strip
    assert "Monatsbericht März 2025" in html
    assert "3.834,56\u00a0€" in html
    assert "▲ +50,0\u00a0%" in html  # three invoices against two
    assert "1 Rechnung (700,00\u00a0$) und 0 Zahlungen" in html  # the dollar invoice


def test_client_names_are_escaped() -> None:
    html = report_html(sample()).decode("utf-8")
    assert "Müller &amp; Söhne &lt;GmbH&gt;" in html
    assert "Gamma &quot;KG&quot;" in html
    assert "<GmbH>" not in html


def test_an_empty_month_still_renders() -> None:
    empty = sample(invoices=[], payments=[], reminders=[], previous=None, review_sort_keys=[])
    html = report_html(empty).decode("utf-8")
    assert "keine Daten" in html
    assert "kein Vormonatsvergleich" in html
    assert json.loads(report_json(empty))["invoices_issued"]["net"] == "0.00"
    assert csv_rows(empty)


# --- the notice -------------------------------------------------------------------------------


def test_notice_summarises_the_month_and_links_the_files() -> None:
    report = sample()
    links = {
        "html": "https://bucket.s3.amazonaws.com/reports/2025-03/report.html?X-Amz-Signature=x",
        "csv": "https://bucket.s3.amazonaws.com/reports/2025-03/report.csv?X-Amz-Signature=y",
        "location": "s3://bucket/reports/2025-03/",
    }
    subject = notification_subject(report)
    assert subject == "Monatsbericht März 2025: 3 Rechnungen, 3.834,56 € netto"
    text = "\n".join(notification_lines(report, links))
    assert links["html"] in text
    assert links["csv"] in text
    assert "s3://bucket/reports/2025-03/" in text
    assert "Zahlungseingang: 1.469,13 €" in text
    assert "+27,8 % ggü. Februar 2025" in text
    assert "USD sind in keiner Summe enthalten" in text
