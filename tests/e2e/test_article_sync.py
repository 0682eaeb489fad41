"""Shop products become Billomat articles through the article_sync worker, against the Billomat
sandbox and moto: create, update, stock-only update (zero requests), out-of-order and
concurrent deliveries, delete and restore, Billomat faults, and an order position linked to
its article."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import boto3
import pytest

from autopilot.messages import ShopProductMessage, message_body
from autopilot.shop_products import ProductVariant, ShopProduct

from .conftest import Billomat, Stack, drain_queue, receive_from, run_queue_worker

REGION = "eu-central-1"
T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


pytestmark = pytest.mark.usefixtures("immediate_requeue", "sandbox_retry_clock")


def coffee(
    *,
    minutes: int = 0,
    price_500: str = "15.90",
    variants: tuple[str, ...] = ("250", "500"),
    deleted: bool = False,
    title: str = "Kaffee Hausmischung",
) -> ShopProduct:
    prices = {"250": "8.90", "500": price_500, "1000": "29.90"}
    return ShopProduct(
        source="shopify",
        shop="demo-shop.myshopify.com",
        product_id="632910392",
        title=title,
        product_type="Kaffee",
        updated_at=T0 + dt.timedelta(minutes=minutes),
        deleted=deleted,
        variants=()
        if deleted
        else tuple(
            ProductVariant(
                variant_id=f"80{size}",
                sku=f"KAF-HM-{size}",
                title=f"{size} g",
                price=Decimal(prices[size]),
            )
            for size in variants
        ),
    )


def send(stack: Stack, product: ShopProduct, topic: str = "products/update") -> None:
    message = ShopProductMessage(topic=topic, product=product)
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=stack.aws.queue_urls["products"], MessageBody=message_body(message)
    )


def receive(stack: Stack) -> list[dict[str, Any]]:
    return receive_from(stack, "products")


def run_worker(stack: Stack, batch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from article_sync.app import lambda_handler

    return run_queue_worker(stack, "products", lambda_handler, "article_sync", batch)


def drain(stack: Stack, billomat: Billomat, rounds: int = 10) -> None:
    drain_queue(stack, "products", lambda: run_worker(stack), rounds, billomat.sandbox.clock)


def sync(stack: Stack, billomat: Billomat, product: ShopProduct) -> int:
    """Deliver one product and drain; returns the Billomat requests it cost."""
    before = len(billomat.sandbox.requests)
    send(stack, product)
    drain(stack, billomat)
    return len(billomat.sandbox.requests) - before


def articles(billomat: Billomat) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for article in billomat.sandbox.snapshot().get("articles", []):
        key = article["customfield"]
        assert key not in found, f"two articles for {key}"
        found[key] = article
    return found


def test_a_product_with_variants_becomes_one_article_per_variant(
    stack: Stack, billomat: Billomat
) -> None:
    sync(stack, billomat, coffee())
    by_key = articles(billomat)
    assert set(by_key) == {"sku:KAF-HM-250", "sku:KAF-HM-500"}
    article = by_key["sku:KAF-HM-500"]
    assert article["title"] == "Kaffee Hausmischung – 500 g"
    assert article["sales_price"] == Decimal("13.3613")  # 15.90 gross at 19 %
    assert article["article_number"].startswith("ART")  # Billomat numbers it, not the SKU
    assert "Artikel-Nr. KAF-HM-500" in article["description"]
    units = billomat.sandbox.snapshot().get("units", [])
    assert [u["name"] for u in units] == ["Stück"]
    assert article["unit_id"] == units[0]["id"]


def test_an_update_that_changes_nothing_billomat_holds_costs_zero_requests(
    stack: Stack, billomat: Billomat
) -> None:
    sync(stack, billomat, coffee())
    assert sync(stack, billomat, coffee(minutes=5)) == 0  # e.g. only the stock changed


def test_a_price_change_is_one_request_and_a_new_variant_one_more(
    stack: Stack, billomat: Billomat
) -> None:
    sync(stack, billomat, coffee())
    assert sync(stack, billomat, coffee(minutes=5, price_500="16.90")) == 1
    assert articles(billomat)["sku:KAF-HM-500"]["sales_price"] == Decimal("14.2017")
    assert (
        sync(
            stack, billomat, coffee(minutes=10, price_500="16.90", variants=("250", "500", "1000"))
        )
        <= 2
    )
    assert len(articles(billomat)) == 3


def test_an_older_update_arriving_late_changes_nothing(stack: Stack, billomat: Billomat) -> None:
    sync(stack, billomat, coffee(minutes=10, price_500="16.90"))
    assert sync(stack, billomat, coffee(minutes=5, price_500="15.90")) == 0
    assert articles(billomat)["sku:KAF-HM-500"]["sales_price"] == Decimal("14.2017")


@pytest.mark.usefixtures("atomic_aws_calls")
def test_concurrent_deliveries_of_one_product_create_each_article_once(
    stack: Stack, billomat: Billomat
) -> None:
    for minutes in (0, 1, 2, 3):
        send(stack, coffee(minutes=minutes))
    batch = receive(stack)
    threads = [threading.Thread(target=run_worker, args=(stack, [m])) for m in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(stack, billomat)
    assert len(articles(billomat)) == 2


def test_a_redelivered_message_writes_nothing_more(stack: Stack, billomat: Billomat) -> None:
    send(stack, coffee())
    (message,) = receive(stack)
    run_worker(stack, [message])
    before = len(billomat.sandbox.requests)
    run_worker(stack, [message])
    assert len(billomat.sandbox.requests) == before
    assert len(articles(billomat)) == 2


def test_a_deleted_product_deletes_unused_articles_and_keeps_used_ones_discontinued(
    stack: Stack, billomat: Billomat
) -> None:
    from autopilot.billomat import ClientDraft, InvoiceDraft, InvoiceItemDraft

    sync(stack, billomat, coffee())
    used = articles(billomat)["sku:KAF-HM-500"]["id"]
    client = billomat.client.create_client(ClientDraft(name="Kundin"))
    billomat.client.create_invoice(
        InvoiceDraft(
            client_id=client.id,
            items=[
                InvoiceItemDraft(
                    article_id=used,
                    title="Kaffee",
                    quantity=Decimal(1),
                    unit_price=Decimal("15.90"),
                    tax_rate=Decimal(19),
                )
            ],
        )
    )
    sync(stack, billomat, coffee(minutes=5, deleted=True))
    left = articles(billomat)
    assert set(left) == {"sku:KAF-HM-500"}
    assert left["sku:KAF-HM-500"]["title"].startswith("[Eingestellt] ")

    # restored: the deleted article comes back, the discontinued one gets its title back
    sync(stack, billomat, coffee(minutes=10))
    back = articles(billomat)
    assert set(back) == {"sku:KAF-HM-250", "sku:KAF-HM-500"}
    assert back["sku:KAF-HM-500"]["title"] == "Kaffee Hausmischung – 500 g"
    assert back["sku:KAF-HM-500"]["id"] == used


def test_a_variant_removed_from_a_product_is_retired(stack: Stack, billomat: Billomat) -> None:
    sync(stack, billomat, coffee())
    sync(stack, billomat, coffee(minutes=5, variants=("500",)))
    assert set(articles(billomat)) == {"sku:KAF-HM-500"}


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "articles"), ("PUT", "articles/*"), ("GET", "units")]
)
@pytest.mark.parametrize("kind", ["commit_then_fail", "commit_then_timeout", "server_error"])
def test_a_billomat_fault_on_any_call_never_duplicates_an_article(
    stack: Stack, billomat: Billomat, method: str, path: str, kind: str
) -> None:
    if method == "PUT":
        sync(stack, billomat, coffee())
    billomat.sandbox.faults.add(method, path, kind)
    sync(stack, billomat, coffee(minutes=5, price_500="16.90"))
    by_key = articles(billomat)
    assert set(by_key) == {"sku:KAF-HM-250", "sku:KAF-HM-500"}
    assert by_key["sku:KAF-HM-500"]["sales_price"] == Decimal("14.2017")


def test_a_fault_on_delete_or_usage_check_is_retried(stack: Stack, billomat: Billomat) -> None:
    sync(stack, billomat, coffee())
    billomat.sandbox.faults.add("GET", "invoices", "server_error")
    billomat.sandbox.faults.add("DELETE", "articles/*", "commit_then_fail")
    sync(stack, billomat, coffee(minutes=5, deleted=True))
    assert articles(billomat) == {}


def test_an_order_line_with_a_synced_sku_links_its_article_and_keeps_the_orders_price(
    stack: Stack, billomat: Billomat
) -> None:
    from order_invoice.invoicing import OrderInvoicing

    from autopilot.settings import OrderInvoiceSettings
    from autopilot.shop_orders import OrderLine, ShopCustomer, ShopOrder
    from autopilot.workflow_state import WorkflowStore

    sync(stack, billomat, coffee())
    article = articles(billomat)["sku:KAF-HM-500"]
    order = ShopOrder(
        source="shopify",
        shop="demo-shop.myshopify.com",
        order_id="1",
        order_number="#1",
        ordered_on=dt.date(2026, 11, 25),
        currency="EUR",
        prices_include_tax=True,
        customer=ShopCustomer(email="kundin@example.de", first_name="Kim"),
        lines=[
            OrderLine(
                kind="item",
                title="Kaffee 500 g (Aktion)",
                sku="KAF-HM-500",
                quantity=Decimal(2),
                unit_price=Decimal("14.90"),
                tax_rate=Decimal(19),
            ),
            OrderLine(
                kind="item",
                title="Tasse",
                sku="NO-ARTICLE",
                quantity=Decimal(1),
                unit_price=Decimal("5.00"),
                tax_rate=Decimal(19),
            ),
        ],
        total=Decimal("34.80"),
        total_tax=Decimal("5.56"),
        is_paid=False,
        status="open",
    )
    workflow = OrderInvoicing(
        billomat.client,
        WorkflowStore(stack.environment["WORKFLOW_TABLE"]),
        None,  # type: ignore[arg-type] - nothing to notify in this order
        OrderInvoiceSettings.from_env(),
    )
    outcome = workflow.run(order)
    items = [
        i
        for i in billomat.sandbox.snapshot()["invoice-items"]
        if i["invoice_id"] == outcome.invoice_id
    ]
    linked = {i["title"]: i.get("article_id") for i in items}
    assert linked == {"Kaffee 500 g (Aktion)": article["id"], "Tasse": None}
    coffee_item = next(i for i in items if i["article_id"])
    assert coffee_item["unit_price"] == Decimal("14.90")  # the order is the truth


def test_an_article_deleted_in_billomat_by_hand_is_created_anew_on_the_next_change(
    stack: Stack, billomat: Billomat
) -> None:
    sync(stack, billomat, coffee())
    billomat.client.delete_article(articles(billomat)["sku:KAF-HM-500"]["id"])
    sync(stack, billomat, coffee(minutes=5, price_500="16.90"))
    assert set(articles(billomat)) == {"sku:KAF-HM-250", "sku:KAF-HM-500"}
