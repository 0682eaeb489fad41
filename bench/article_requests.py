"""Billomat requests per product delivery, through the article_sync worker's Lambda handler.

In-process: moto for AWS and the Billomat sandbox on a simulated clock. A warm container (tax
and unit ids already read) takes, for a Shopify product with two variants:

1. the first delivery (2 articles created; a cold container also reads taxes and units);
2. a stock-only ``products/update`` (nothing Billomat holds changed) — target 0;
3. a price change of one variant — target <= 2;
4. a new variant — target <= 2;
5. the product deleted (one article used by an invoice is kept, one deleted).

Run: `.venv/bin/python bench/article_requests.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def product(minutes: int, price_500: str = "15.90", sizes: tuple[str, ...] = ("250", "500")):  # type: ignore[no-untyped-def]
    from autopilot.shop_products import ProductVariant, ShopProduct

    prices = {"250": "8.90", "500": price_500, "1000": "29.90"}
    return ShopProduct(
        source="shopify",
        shop="demo-shop.myshopify.com",
        product_id="632910392",
        title="Kaffee Hausmischung",
        updated_at=T0 + dt.timedelta(minutes=minutes),
        variants=tuple(
            ProductVariant(
                variant_id=f"80{s}", sku=f"KAF-HM-{s}", title=f"{s} g", price=Decimal(prices[s])
            )
            for s in sizes
        ),
    )


def main() -> int:
    from moto import mock_aws

    from local.aws import LocalAws, use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    os.environ["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"
    import logging

    logging.disable(logging.CRITICAL)
    with mock_aws():
        environment = LocalAws().create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        os.environ.update(environment)
        from article_sync.app import lambda_handler

        from autopilot.billomat import ClientDraft, InvoiceDraft, InvoiceItemDraft
        from autopilot.billomat_access import use_billomat_client
        from autopilot.messages import ShopProductMessage, message_body
        from local.billomat_sandbox import BillomatSandbox, SandboxClock
        from local.containers import clear_container_caches
        from local.lambda_events import LocalLambdaContext

        clear_container_caches()
        sandbox = BillomatSandbox(clock=SandboxClock(T0))
        from local.sandbox_client import sandbox_client

        billomat = sandbox_client(sandbox)
        use_billomat_client(billomat)

        def deliver(label: str, shop_product: object, *, deleted: bool = False) -> list[str]:
            if deleted:
                shop_product = shop_product.model_copy(update={"deleted": True, "variants": ()})  # type: ignore[attr-defined]
            message = ShopProductMessage(topic="products/update", product=shop_product)  # type: ignore[arg-type]
            record = {
                "messageId": "1",
                "receiptHandle": "1",
                "body": message_body(message),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:bench-products",
                "awsRegion": "eu-central-1",
            }
            before = len(sandbox.requests)
            with contextlib.redirect_stdout(io.StringIO()):
                result = lambda_handler(
                    {"Records": [record]}, LocalLambdaContext("article_sync", 60)
                )
            assert result["batchItemFailures"] == [], result
            calls = [f"{r.method} {_route(r.path)}" for r in sandbox.requests[before:]]
            rows.append((label, calls))
            return calls

        rows: list[tuple[str, list[str]]] = []
        deliver("first delivery, cold container (2 variants)", product(0))
        deliver("stock-only update (target 0)", product(5))
        deliver("price change of one variant (target <= 2)", product(10, "16.90"))
        deliver("a new variant (target <= 2)", product(15, "16.90", ("250", "500", "1000")))
        articles = {a["customfield"]: a["id"] for a in sandbox.snapshot()["articles"]}
        client = billomat.create_client(ClientDraft(name="Kundin"))
        billomat.create_invoice(
            InvoiceDraft(
                client_id=client.id,
                items=[
                    InvoiceItemDraft(
                        article_id=articles["sku:KAF-HM-500"],
                        title="Kaffee",
                        quantity=Decimal(1),
                        unit_price=Decimal("16.90"),
                        tax_rate=Decimal(19),
                    )
                ],
            )
        )
        deliver("product deleted (1 of 3 articles used)", product(20), deleted=True)
        duplicates = sum(
            n > 1
            for n in Counter(a["customfield"] for a in sandbox.snapshot()["articles"]).values()
        )
    print("Billomat requests per product delivery (article_sync worker, warm unless noted):")
    for label, calls in rows:
        detail = ", ".join(f"{c}×{n}" if n > 1 else c for c, n in Counter(calls).items())
        print(f"  {label:<48} {len(calls):>2}   [{detail}]")
    print(f"duplicate articles: {duplicates}")
    return 0


def _route(path: str) -> str:
    parts = path.removeprefix("/api/").strip("/").split("/")
    return "/".join("{id}" if part.isdigit() else part for part in parts)


if __name__ == "__main__":
    raise SystemExit(main())
