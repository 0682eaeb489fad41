"""Demo records for `make run`: what a real account would already hold when the schedules run.

Only the embedded sandbox gets them, and only when local mode is started with
`LOCAL_DEMO_DATA=1` (make run does): two overdue invoices for dunning and a monthly recurring
invoice with action CREATE whose draft the recurring follow-up completes and e-mails.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any


def seed_demo_data(sandbox: Any) -> list[str]:
    """Insert the demo records into ``sandbox``; returns one line per record for the log."""
    today = sandbox.clock.today()
    late = sandbox.seed(
        "clients", {"name": "Spätzahler KG", "email": "buchhaltung@spaetzahler.example"}
    )
    lines = [f"client {late['id']} Spätzahler KG"]
    for days_overdue, amount in ((26, "480.00"), (9, "119.00")):
        due = today - timedelta(days=days_overdue)
        invoice = sandbox.seed(
            "invoices",
            {
                "client_id": late["id"],
                "date": due - timedelta(days=14),
                "due_date": due,
                "status": "OPEN",
                "invoice-items": [
                    {
                        "title": "Beratung",
                        "quantity": 1,
                        "unit_price": Decimal(amount),
                        "tax_rate": 19,
                    }
                ],
            },
        )
        lines.append(f"invoice {invoice['invoice_number']} {days_overdue} days overdue")
    subscriber = sandbox.seed(
        "clients", {"name": "Abo-Kunde GmbH", "email": "rechnung@abo-kunde.example"}
    )
    first_of_month = today.replace(day=1)
    recurring = sandbox.seed(
        "recurrings",
        {
            "client_id": subscriber["id"],
            "name": "Wartungsvertrag",
            "cycle": "MONTHLY",
            "action": "CREATE",
            "start_date": first_of_month,
            "next_creation_date": first_of_month,
            "recurring-items": [
                {"title": "Wartung pauschal", "quantity": 1, "unit_price": 250, "tax_rate": 19}
            ],
        },
    )
    created = sandbox.run_due_recurrings()
    lines.append(f"recurring {recurring['id']} (CREATE) produced draft invoice(s) {created}")
    return lines
