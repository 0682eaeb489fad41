"""Demo records for `make run`: what a real account would already hold when the schedules run.

Only the embedded sandbox gets them, and only when local mode is started with
`LOCAL_DEMO_DATA=1` (make run does): the open invoices the bank samples in events/bank/ pay,
two overdue invoices for dunning, and a monthly recurring invoice with action CREATE whose
draft the recurring follow-up completes and e-mails. `seed_open_invoices` also seeds the
labelled bank set's context in tests and bench/bank_matching.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BANK_SEED = Path(__file__).resolve().parents[1] / "events" / "bank" / "_seed_open_invoices.json"


def seed_demo_data(sandbox: Any) -> list[str]:
    """Insert the demo records into ``sandbox``; returns one line per record for the log."""
    bank = seed_open_invoices(sandbox, json.loads(BANK_SEED.read_text("utf-8")))
    lines = [f"open invoices for the bank samples: {', '.join(bank.invoices)}"]
    today = sandbox.clock.today()
    late = sandbox.seed(
        "clients", {"name": "Spätzahler KG", "email": "buchhaltung@spaetzahler.example"}
    )
    lines.append(f"client {late['id']} Spätzahler KG")
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


@dataclass
class Seeded:
    """Ids of what was seeded: clients by ``ref``, invoices by number."""

    clients: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)

    @property
    def numbers(self) -> dict[int, str]:
        return {invoice_id: number for number, invoice_id in self.invoices.items()}


def split_invoice_number(number: str) -> tuple[str, int, int]:
    """``RE1042`` → (``RE``, 1042, 0); ``RE-2026-0012`` → (``RE-2026-``, 12, 4)."""
    digits = len(number) - len(number.rstrip("0123456789"))
    if digits == 0:
        raise ValueError(f"invoice number {number!r} must end in digits")
    tail = number[-digits:]
    return number[:-digits], int(tail), len(tail) if tail.startswith("0") else 0


def seed_open_invoices(sandbox: Any, spec: Mapping[str, Any]) -> Seeded:
    """Seed ``spec``'s clients and invoices into a ``BillomatSandbox`` (no HTTP, no quota).

    Invoices are GROSS with one 19 % position of ``gross``; ``number`` is kept exactly;
    ``status`` (default OPEN) may be OVERDUE, PAID or CANCELED; ``paid`` books a payment first.
    """
    seeded = Seeded()
    for client in spec["clients"]:
        fields = {key: value for key, value in client.items() if key != "ref"}
        seeded.clients[client["ref"]] = int(sandbox.seed("clients", fields)["id"])
    for invoice in spec["invoices"]:
        prefix, number, length = split_invoice_number(invoice["number"])
        values: dict[str, Any] = {
            "client_id": seeded.clients[invoice["client"]],
            "number_pre": prefix,
            "number": number,
            "number_length": length,
            "date": invoice["date"],
            "due_days": invoice.get("due_days", 14),
            "net_gross": "GROSS",
            "currency_code": invoice.get("currency", "EUR"),
            "status": invoice.get("status", "OPEN"),
            "invoice-items": [
                {
                    "title": invoice.get("title", "Leistung"),
                    "quantity": 1,
                    "unit_price": invoice["gross"],
                    "tax_rate": 19,
                }
            ],
        }
        for key in ("discount_rate", "discount_days", "label"):
            if key in invoice:
                values[key] = invoice[key]
        record = sandbox.seed("invoices", values)
        seeded.invoices[invoice["number"]] = int(record["id"])
        if invoice.get("paid"):
            sandbox.seed(
                "invoice-payments",
                {
                    "invoice_id": record["id"],
                    "amount": invoice["paid"],
                    "date": invoice["date"],
                    "type": "BANK_TRANSFER",
                },
            )
    return seeded


def seed_demo_deal(hubspot: Any) -> list[str]:
    """A HubSpot deal in the quote stage (``contractsent``) for the embedded HubSpot sandbox.

    It is the deal the samples in events/hubspot/ name (the portal's first deal, 5001): their
    replay makes its offer; `make run` then moves it to won and shows the invoice.
    """
    company = hubspot.add_company(
        "Muster Digital GmbH",
        address="Friedrichstraße 12",
        zip="10117",
        city="Berlin",
        country="Deutschland",
        domain="muster-digital.example",
    )
    contact = hubspot.add_contact("Erika", "Musterfrau", "erika@muster-digital.example")
    items = [
        hubspot.add_line_item("Konzeption", 2, "1200.00", sku="WEB-KONZ"),
        hubspot.add_line_item(
            "Umsetzung (Stunden)", 40, "95.00", sku="WEB-DEV", discount_percentage=10
        ),
        hubspot.add_line_item("Hosting (Monate)", 12, "29.90", sku="WEB-HOST"),
    ]
    deal = hubspot.add_deal(
        "Website-Relaunch Muster Digital",
        amount="6178.80",
        stage="contractsent",
        company=company,
        contacts=[contact],
        line_items=items,
    )
    return [f"HubSpot deal {deal} Website-Relaunch Muster Digital (stage contractsent)"]
