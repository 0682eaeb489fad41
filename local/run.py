"""`make run`: start local mode on the embedded sandboxes, replay events/, show the result.

Steps: start `python -m local.server` on a free port with demo records in the sandbox
(local/demo_data.py) and wait for its `ready` line; send every sample delivery in events/
(signed like the real source); wait until the queue worker has drained the queues; check the
Billomat client against the sandbox; run the scheduled functions (dunning, recurring, the
monthly report of the sample orders' month); print what is in Billomat (clients, invoices
with totals and status, payments, reminders, e-mails); stop the server with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from local.dev_settings import LocalSettings
from local.sample_events import load_delivery, sample_files

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 90
DRAIN_TIMEOUT_SECONDS = 30
BERLIN = ZoneInfo("Europe/Berlin")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def local_mode(port: int) -> Iterator[str]:
    """Run `python -m local.server` until the block ends; yield its base URL."""
    env = {**os.environ, "PORT": str(port), "LOCAL_DEMO_DATA": "1"}
    env.pop("BILLOMAT_BASE_URL", None)  # make run always uses the embedded sandbox
    process = subprocess.Popen(
        [sys.executable, "-m", "local.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    ready = threading.Event()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if "ready" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(READY_TIMEOUT_SECONDS) or process.poll() is not None:
            tail = "\n".join(output[-30:])
            raise SystemExit(f"local mode did not become ready:\n{tail}")
        for line in output:
            if line.startswith(("demo data", "ready")):
                print(f"  {line}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        print(f"  local mode stopped (exit code {process.returncode})")


def replay_phase(path: Path) -> int:
    """Products first (an order can only link a synced article), refunds and cancellations
    last (they need the order's invoice), everything else in between."""
    if path.name.startswith("product-"):
        return 0
    if path.name.startswith(("refund-", "order-cancelled", "order-refunded")):
        return 2
    return 1


def replay_events(http: httpx.Client, public_base_url: str, *, phase: int) -> list[tuple[str, int]]:
    """POST the samples of one replay phase; print (name, status) each."""
    secrets = LocalSettings.from_env().webhook_secrets
    results = []
    for path in (p for p in sample_files() if replay_phase(p) == phase):
        delivery = load_delivery(path, secrets, public_base_url)
        response = http.post(delivery.route, content=delivery.body, headers=delivery.headers)
        detail = response.text.strip().replace("\n", " ")
        print(f"  {response.status_code}  {delivery.name:<50} {detail[:110]}")
        results.append((delivery.name, response.status_code))
    return results


def wait_for_drained_queues(http: httpx.Client) -> dict[str, Any]:
    """Poll /local/health until queues with a worker are empty; return the last health."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while True:
        health: dict[str, Any] = http.get("/local/health").json()
        busy = {
            name: depth
            for name, depth in health["queues"].items()
            if name in health["queue_workers"]
            and (depth["visible"] or depth["in_flight"] or depth.get("delayed"))
        }
        if not busy or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def client_smoke_check(base_url: str) -> None:
    """Drive the layer's Billomat client through one invoice life cycle on the sandbox."""
    from autopilot.billomat import (
        BillomatClient,
        ClientDraft,
        InvoiceDraft,
        InvoiceItemDraft,
        PaymentType,
    )
    from local.billomat_sandbox import DEV_API_KEY

    with BillomatClient(base_url, DEV_API_KEY) as billomat:
        customer = billomat.find_client_by_email("smoke-check@example.de")
        if customer is None:
            customer = billomat.create_client(
                ClientDraft(
                    name="Smoke Check GmbH",
                    email="smoke-check@example.de",
                    country_code="DE",
                    customfield="local:smoke-check",
                )
            )
        invoice = billomat.create_invoice(
            InvoiceDraft(
                client_id=customer.id,
                label="local smoke check",
                net_gross="GROSS",
                items=[
                    InvoiceItemDraft(
                        title="Beratung",
                        quantity=Decimal(2),
                        unit_price=Decimal("59.50"),
                        tax_rate=Decimal(19),
                    ),
                    InvoiceItemDraft(
                        title="Fachbuch",
                        quantity=Decimal(1),
                        unit_price=Decimal("21.40"),
                        tax_rate=Decimal(7),
                    ),
                ],
            )
        )
        billomat.complete_invoice(invoice.id)
        pdf = billomat.invoice_pdf(invoice.id)
        billomat.email_invoice(invoice.id, to=["smoke-check@example.de"])
        completed = billomat.get_invoice(invoice.id)
        billomat.book_payment(
            invoice_id=invoice.id,
            amount=completed.open_amount,
            date=datetime.now(BERLIN).date(),
            type=PaymentType.BANK_TRANSFER,
            comment="local smoke check",
        )
        paid = billomat.get_invoice(invoice.id)
        print(
            f"  client {customer.client_number} · invoice {paid.invoice_number} "
            f"gross {paid.total_gross} EUR · PDF {len(pdf)} bytes · e-mailed · "
            f"status {paid.status} "
            f"· {billomat.request_count} Billomat requests"
        )


def print_billomat_summary(http: httpx.Client) -> None:
    """What is in the embedded sandbox now."""
    state = http.get("/local/billomat").json()
    records: dict[str, list[dict[str, Any]]] = state["records"]
    clients = {str(c["id"]): c for c in records.get("clients", [])}
    print(f"  clients ({len(clients)}):")
    for client in clients.values():
        print(
            f"    {client.get('client_number', '')!s:<8} {client.get('name') or ''!s:<28} "
            f"{client.get('email') or ''}"
        )
    invoices = records.get("invoices", [])
    print(f"  invoices ({len(invoices)}):")
    for inv in invoices:
        owner = clients.get(str(inv.get("client_id")), {}).get("name", "?")
        print(
            f"    {inv.get('invoice_number') or '(draft)'!s:<8} {owner!s:<28} "
            f"gross {inv.get('total_gross')!s:>9} {inv.get('currency_code', '')} "
            f"{inv.get('status')!s:<9} open {inv.get('open_amount')!s:>9}  {inv.get('label') or ''}"
        )
        if inv.get("note"):  # the VAT note (reverse charge, export, § 19)
            print(f"             note: {' / '.join(str(inv['note']).splitlines())[:220]}")
    payments = records.get("invoice-payments", [])
    print(f"  payments ({len(payments)}):")
    for pay in payments:
        print(
            f"    invoice {pay.get('invoice_id')!s:<6} {pay.get('amount')!s:>9} "
            f"{pay.get('type')} {pay.get('date')}  {pay.get('comment') or ''}"
        )
    credit_notes = records.get("credit-notes", [])
    print(f"  credit notes ({len(credit_notes)}):")
    for note in credit_notes:
        invoice = next((i for i in invoices if i.get("id") == note.get("invoice_id")), {})
        print(
            f"    {note.get('credit_note_number') or '(draft)'!s:<8} for "
            f"{invoice.get('invoice_number') or note.get('invoice_id')!s:<8} "
            f"gross {note.get('total_gross')!s:>9} {note.get('status')!s:<9} "
            f"{note.get('label') or ''}"
        )
    reminders = records.get("reminders", [])
    print(f"  reminders ({len(reminders)}):")
    for rem in reminders:
        print(
            f"    invoice {rem.get('invoice_id')!s:<6} level {rem.get('reminder_level')} "
            f"{rem.get('status')}"
        )
    review = http.get("/local/review").json()
    print(f"  bank review list ({review['count']}):")
    for item in review["review"]:
        transaction = item.get("transaction") or {}
        print(
            f"    {item.get('reason')!s:<22} {transaction.get('amount', '')!s:>9} "
            f"{transaction.get('currency', '')} {transaction.get('payer') or ''}  "
            f"{(item.get('message') or '')[:70]}"
        )
    emails = state.get("emails", [])
    print(f"  e-mails ({len(emails)}):")
    for mail in emails:
        print(
            f"    {mail.get('document_type')} {mail.get('document_id')} to "
            f"{', '.join(mail.get('to') or [])}  {mail.get('subject') or ''}"
        )


def print_articles(http: httpx.Client) -> None:
    """The articles the product samples became."""
    records: dict[str, list[dict[str, Any]]] = http.get("/local/billomat").json()["records"]
    articles = records.get("articles", [])
    print(f"  articles ({len(articles)}):")
    for article in articles:
        print(
            f"    {article.get('article_number')!s:<6} net {article.get('sales_price')!s:>9} "
            f"{article.get('title')!s:<42} [{article.get('customfield')}]"
        )


def print_linked_positions(http: httpx.Client) -> None:
    """Invoice positions that carry an article id (orders whose SKU has a synced article)."""
    records: dict[str, list[dict[str, Any]]] = http.get("/local/billomat").json()["records"]
    articles = {a["id"]: a for a in records.get("articles", [])}
    invoices = {i["id"]: i for i in records.get("invoices", [])}
    linked = [i for i in records.get("invoice-items", []) if i.get("article_id")]
    print(f"  invoice positions linked to an article ({len(linked)}):")
    for item in linked:
        article = articles.get(item["article_id"], {})
        invoice = invoices.get(item["invoice_id"], {})
        print(
            f"    {invoice.get('invoice_number') or invoice.get('id')!s:<8} "
            f"{item.get('title')!s:<34} {item.get('quantity')!s:>4} × {item.get('unit_price')!s:>7}"
            f"  → article {item['article_id']} {article.get('article_number', '')} "
            f"[{article.get('customfield', '')}]"
        )


def print_offers(http: httpx.Client) -> None:
    """The offers in the sandbox (made from HubSpot deals)."""
    records: dict[str, list[dict[str, Any]]] = http.get("/local/billomat").json()["records"]
    offers = records.get("offers", [])
    print(f"  offers ({len(offers)}):")
    for offer in offers:
        print(
            f"    {offer.get('offer_number') or '(draft)'!s:<8} net {offer.get('total_net')!s:>9} "
            f"gross {offer.get('total_gross')!s:>9} {offer.get('currency_code', '')} "
            f"{offer.get('status')!s:<8} {offer.get('label') or ''}  [{offer.get('customfield')}]"
        )
    for invoice in records.get("invoices", []):
        if invoice.get("offer_id"):
            print(
                f"    → invoice {invoice.get('invoice_number') or '(draft)'} from offer "
                f"{invoice['offer_id']}: gross {invoice.get('total_gross')} "
                f"{invoice.get('status')}"
            )


def hubspot_deal_demo(http: httpx.Client) -> None:
    """The demo deal's replayed quote-stage event made its offer; now it is won."""
    portal = http.get("/local/hubspot").json()
    if not portal.get("deals"):
        print("  no HubSpot deal in the sandbox")
        return
    deal = portal["deals"][0]
    name = deal["properties"].get("dealname")
    print(f"  deal {deal['id']} {name!r} in stage {deal['properties'].get('dealstage')}:")
    print_offers(http)
    moved = http.post(f"/local/hubspot/deals/{deal['id']}/stage", json={"stage": "closedwon"})
    intake = moved.json().get("intake", {})
    print(f"  moved to closedwon in HubSpot → webhook answered {json.dumps(intake)[:150]}")
    wait_for_drained_queues(http)
    print_offers(http)
    portal = http.get("/local/hubspot").json()
    written = {
        key: value
        for key, value in portal["deals"][0]["properties"].items()
        if key.startswith("billomat_") and value
    }
    print(f"  written back to the deal: {json.dumps(written, ensure_ascii=False)}")
    state = http.get("/local/billomat").json()
    records = state["records"]
    deal_documents = {("offer", o["id"]) for o in records.get("offers", [])} | {
        ("invoice", i["id"]) for i in records.get("invoices", []) if i.get("offer_id")
    }
    for mail in state["emails"]:
        if (mail["document_type"], mail["document_id"]) not in deal_documents:
            continue
        print(f"  e-mail: {mail['document_type']} to {', '.join(mail['to'])}  {mail['subject']}")


# The sample orders are from January 2025: report that month.
REPORT_NOW = "2025-02-01T08:00:00+01:00"


def run_schedules(http: httpx.Client) -> None:
    """Run each scheduled function once and print what it did."""
    for name in ("dunning", "recurring"):
        response = http.post(f"/local/schedules/{name}", json={})
        answer = response.json()
        if response.status_code != 200:
            print(
                f"  {name}: {response.status_code} {json.dumps(answer, ensure_ascii=False)[:200]}"
            )
            continue
        brief = {k: v for k, v in answer.items() if not isinstance(v, list | dict) or v}
        print(f"  {name}: {json.dumps(brief, ensure_ascii=False)[:300]}")
    response = http.post("/local/schedules/reporting", json={"now": REPORT_NOW})
    if response.status_code != 200:
        print(f"  reporting: {response.status_code} {response.text[:200]}")
        return
    result = response.json()
    summary = result.get("summary", {})
    print(
        f"  monthly report for {result.get('month')}: "
        f"{json.dumps(summary, ensure_ascii=False)[:300]}"
    )
    for path in dict(result.get("local_files") or {}).values():
        print(f"    written: {path}")


def main() -> int:
    """The `make run` walk-through."""
    port = free_port()
    print("1. starting local mode (moto + embedded Billomat and HubSpot sandboxes)")
    with local_mode(port) as base, httpx.Client(base_url=base, timeout=30) as http:
        health = http.get("/local/health").json()
        print(f"   Billomat sandbox at {health['billomat_base_url']}")
        print(f"   HubSpot sandbox at {health['hubspot_base_url']}")
        print("2. replaying events/ (signed like the real senders): shop products first")
        replay_events(http, health["public_base_url"], phase=0)
        wait_for_drained_queues(http)
        print_articles(http)
        print("   then orders, deals and bank transactions")
        replay_events(http, health["public_base_url"], phase=1)
        wait_for_drained_queues(http)
        print("   then refunds and cancellations of those orders")
        replay_events(http, health["public_base_url"], phase=2)
        print("   camt.053 statement events/camt053/statement-sample.xml → /local/imports/camt053")
        statement = (ROOT / "events" / "camt053" / "statement-sample.xml").read_bytes()
        imported = http.post("/local/imports/camt053", content=statement)
        print(f"  {imported.status_code}  {imported.text.strip()[:160]}")
        print("3. waiting for the queue worker")
        health = wait_for_drained_queues(http)
        for name, depth in health["queues"].items():
            if depth["visible"] or depth["in_flight"]:
                print(f"   {name}: {depth['visible']} waiting, {depth['in_flight']} in flight")
        workers = ", ".join(health["queue_workers"]) or "none built yet"
        print(f"   queue workers: {workers}")
        print_linked_positions(http)
        print("4. a HubSpot deal: quote → won")
        hubspot_deal_demo(http)
        print("5. Billomat client against the sandbox (smoke check, no workflow involved)")
        client_smoke_check(health["billomat_base_url"])
        print("6. scheduled functions, run now")
        run_schedules(http)
        print("7. what is in Billomat now")
        print_billomat_summary(http)
        print("8. the operator CLI: autopilot status, autopilot review list")
        from cli.autopilot import main as autopilot

        for command in (["status"], ["review", "list"]):
            print(f"   $ autopilot --local {base} {' '.join(command)}")
            if autopilot(["--local", base, *command]) != 0:
                raise SystemExit(f"autopilot {' '.join(command)} failed")
        print("9. stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
