"""Render a sample monthly report's HTML page to ``out/report-preview.png`` (for the README).

The sample is a made-up but realistic March 2025 of a small business (about 180 invoices,
payments, reminders, older open invoices), run through the same figures and rendering code
as the Lambda. The page is then photographed with headless Chromium (Debian's ``chromium``
package; ``make report-preview`` installs it). Also written: ``out/report-preview.html``.

Run: `make report-preview` or `.venv/bin/python bench/report_preview.py [--out DIR]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers/shared"), str(ROOT / "functions/reporting"), str(ROOT)]

from reporting.figures import MonthlyReport, MonthTotals, monthly_report  # noqa: E402
from reporting.period import ReportMonth  # noqa: E402
from reporting.rendering import report_html  # noqa: E402

from autopilot.billomat.models import (  # noqa: E402
    Invoice,
    InvoicePayment,
    InvoiceStatus,
    Reminder,
    ReminderStatus,
)
from autopilot.money import to_cents  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1200, 1600)
CLIENTS = (
    "Müller Maschinenbau GmbH",
    "Schneider & Partner Steuerberatung",
    "Bäckerei Fischer",
    "Weber IT-Services",
    "Hotel Zur Post",
    "Architekturbüro Wagner",
    "Becker Logistik AG",
    "Praxis Dr. Hoffmann",
    "Schulz Immobilien",
    "Koch Events GmbH",
    "Richter Handwerk",
    "Klein & Groß Design",
    "Wolf Elektrotechnik",
    "Neumann Verlag",
    "Schwarz Gastronomie",
    "Zimmermann Consulting",
    "Braun Autohaus",
    "Krüger Medien",
    "Hofmann Garten- und Landschaftsbau",
    "Hartmann Textil",
)


def sample_report(seed: int = 20250401) -> MonthlyReport:
    """A deterministic sample report for March 2025 as of 1 April 2025."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    month, as_of = ReportMonth(2025, 3), dt.date(2025, 4, 1)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(CLIENTS))]
    next_id = iter(range(10_000, 99_999))
    invoices: list[Invoice] = []
    payments: list[InvoicePayment] = []
    for day in month.days():
        per_day = rng.randint(0, 3) if day.weekday() >= 5 else rng.randint(4, 11)
        for _ in range(per_day):
            client = rng.choices(range(len(CLIENTS)), weights)[0]
            invoice, paid = sample_invoice(rng, next(next_id), client + 1, day, as_of)
            invoices.append(invoice)
            if paid is not None:
                payments.append(paid)
    open_earlier = [
        sample_open_invoice(rng, next(next_id), rng.randrange(len(CLIENTS)) + 1, as_of, days)
        for days in (3, 9, 14, 20, 26, 33, 38, 45, 58, 66, 71, 84, 97, 130, 160)
    ]
    reminders = [
        Reminder(
            id=next(next_id),
            status=ReminderStatus.OPEN,
            date=month.first_day + dt.timedelta(days=rng.randrange(31)),
            reminder_level=level,
            reminder_level_name=name,
        )
        for level, name, count in (
            (1, "Zahlungserinnerung", 9),
            (2, "1. Mahnung", 4),
            (3, "2. Mahnung", 1),
        )
        for _ in range(count)
    ]
    return monthly_report(
        month,
        as_of,
        "EUR",
        invoices=invoices,
        open_invoices=[*open_earlier, *(i for i in invoices if i.status in _OPEN)],
        payments=payments,
        reminders=reminders,
        client_names={index + 1: name for index, name in enumerate(CLIENTS)},
        review_sort_keys=["2025-02-27#a", "2025-03-11#b", "2025-03-19#c", "2025-03-30#d"],
        previous=MonthTotals(
            invoice_count=171,
            net=Decimal("148210.40"),
            gross=Decimal("174301.87"),
            cash_received=Decimal("151877.12"),
        ),
    )


_OPEN = {InvoiceStatus.OPEN, InvoiceStatus.OVERDUE}


def sample_invoice(
    rng: random.Random, invoice_id: int, client_id: int, day: dt.date, as_of: dt.date
) -> tuple[Invoice, InvoicePayment | None]:
    """One invoice of the month; most are paid by the report date, some only in part."""
    rate = rng.choices((Decimal(19), Decimal(7), Decimal(0)), (85, 12, 3))[0]
    net = to_cents(Decimal(rng.lognormvariate(6.3, 0.9)).quantize(Decimal("0.01")))
    gross = to_cents(net * (100 + rate) / 100)
    due = day + dt.timedelta(days=14)
    roll = rng.random()
    if roll < 0.03:
        status, paid = InvoiceStatus.CANCELED, Decimal(0)
    elif (due < as_of and roll < 0.72) or roll < 0.45:
        status, paid = InvoiceStatus.PAID, gross
    else:
        status = InvoiceStatus.OVERDUE if due < as_of else InvoiceStatus.OPEN
        paid = to_cents(gross / 2) if roll > 0.93 else Decimal(0)
    invoice = Invoice(
        id=invoice_id,
        client_id=client_id,
        status=status,
        date=day,
        due_date=due,
        currency_code="EUR",
        total_net=net,
        total_gross=gross,
        paid_amount=paid,
        open_amount=Decimal(0) if status is InvoiceStatus.PAID else gross - paid,
        taxes=[{"rate": rate, "amount": gross - net, "amount_net": net, "amount_gross": gross}],
    )
    payment = None
    if paid:
        paid_on = min(day + dt.timedelta(days=rng.randint(2, 20)), dt.date(2025, 3, 31))
        payment = InvoicePayment(
            id=invoice_id + 100_000,
            invoice_id=invoice_id,
            date=paid_on,
            amount=paid,
            type=rng.choices(["BANK_TRANSFER", "PAYPAL", "DEBIT"], (75, 18, 7))[0],
            currency_code="EUR",
        )
    return invoice, payment


def sample_open_invoice(
    rng: random.Random, invoice_id: int, client_id: int, as_of: dt.date, days_overdue: int
) -> Invoice:
    """An unpaid invoice from before the month, ``days_overdue`` past due at ``as_of``."""
    due = as_of - dt.timedelta(days=days_overdue)
    gross = to_cents(Decimal(rng.lognormvariate(6.8, 0.7)).quantize(Decimal("0.01")))
    return Invoice(
        id=invoice_id,
        client_id=client_id,
        status=InvoiceStatus.OVERDUE,
        date=due - dt.timedelta(days=14),
        due_date=due,
        currency_code="EUR",
        total_net=to_cents(gross / Decimal("1.19")),
        total_gross=gross,
        open_amount=gross,
    )


def screenshot(html: Path, png: Path) -> None:
    """Photograph ``html`` with headless Chromium (no network, throwaway profile)."""
    with tempfile.TemporaryDirectory(prefix="report-preview-") as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--screenshot={png}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--user-data-dir={profile}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="output folder")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(
            "chromium is not installed: run `apt-get install chromium` (Debian package) "
            "or `make report-preview`, which installs it",
            file=sys.stderr,
        )
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    html = args.out / "report-preview.html"
    png = args.out / "report-preview.png"
    report = sample_report()
    html.write_bytes(report_html(report))
    screenshot(html, png)
    if not png.exists() or png.stat().st_size == 0:
        print(f"chromium ran but wrote no screenshot to {png}", file=sys.stderr)
        return 1
    print(f"sample report: {report.issued.invoice_count} invoices, net {report.issued.net} EUR")
    print(f"html: {html}")
    print(f"png:  {png} ({png.stat().st_size // 1024} KiB, {WINDOW[0]}x{WINDOW[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
