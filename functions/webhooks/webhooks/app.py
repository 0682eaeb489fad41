"""Webhook intake Lambda: every route of architecture.md §3.

The intake only verifies the signature on the raw body, validates the payload and
enqueues it for a worker; it never holds the Billomat key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.observability import route_domain_logs

from .bank_routes import bank_transaction, qonto_transaction
from .deliveries import RequestRejected, raw_body
from .hubspot_routes import RequestTarget, hubspot_deals
from .refund_routes import shopify_refund
from .shop_order_routes import shopify_order, woocommerce_order
from .shop_product_routes import shopify_product, woocommerce_product

logger = Logger(service="webhooks")
app = APIGatewayHttpResolver()


def json_response(status_code: int, payload: dict[str, Any]) -> Response[str]:
    """A JSON response with the given status."""
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(payload),
    )


def _delivery(handle: Callable[[dict[str, str], bytes], dict[str, Any]]) -> Response[str]:
    """Run a route's handling on the raw body; map rejections to JSON errors."""
    event = app.current_event
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    try:
        body = raw_body(event.body, bool(event.is_base64_encoded))
        result = handle(headers, body)
    except RequestRejected as rejected:
        logger.warning(
            "webhook rejected",
            extra={
                "path": event.path,
                "status": rejected.status_code,
                "error": rejected.payload["error"],
                "reason": rejected.payload["message"],
            },
        )
        return json_response(rejected.status_code, rejected.payload)
    logger.info("webhook accepted", extra={"path": event.path, **result})
    return json_response(200, result)


@app.post("/webhooks/shopify/orders")
def shopify_orders() -> Response[str]:
    """Shopify `orders/create` and `orders/paid`."""
    return _delivery(shopify_order)


@app.post("/webhooks/shopify/refunds")
def shopify_refunds() -> Response[str]:
    """Shopify `refunds/create` (credit notes); `orders/cancelled` comes on the orders route."""
    return _delivery(shopify_refund)


@app.post("/webhooks/woocommerce/orders")
def woocommerce_orders() -> Response[str]:
    """WooCommerce `order.created` / `order.updated`; the unsigned ping gets exactly 200."""
    return _delivery(woocommerce_order)


@app.post("/webhooks/shopify/products")
def shopify_products() -> Response[str]:
    """Shopify `products/create`, `products/update` and `products/delete`."""
    return _delivery(shopify_product)


@app.post("/webhooks/woocommerce/products")
def woocommerce_products() -> Response[str]:
    """WooCommerce `product.created|updated|deleted|restored`; the unsigned ping gets 200."""
    return _delivery(woocommerce_product)


@app.post("/webhooks/hubspot/deals")
def hubspot_deal_events() -> Response[str]:
    """HubSpot app webhooks (`X-HubSpot-Signature-v3` over method, URL, body, timestamp)."""
    target = RequestTarget.from_http_api_event(app.current_event.raw_event)
    return _delivery(lambda headers, body: hubspot_deals(headers, body, target))


@app.post("/webhooks/bank/transactions")
def bank_transactions() -> Response[str]:
    """Our own `bank-transaction/v1` JSON, signed `X-Signature: t=…,v1=…`."""
    return _delivery(bank_transaction)


@app.post("/webhooks/qonto/transactions")
def qonto_transactions() -> Response[str]:
    """Qonto's transaction webhook (`X-Qonto-Signature`); answered well within 1 s."""
    return _delivery(qonto_transaction)


@app.not_found
def unknown_route(_exc: Exception) -> Response[str]:
    """404 in JSON for anything outside the contract."""
    return json_response(404, {"error": "not_found", "message": "No such webhook route."})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point for API Gateway HTTP API (payload format 2.0)."""
    route_domain_logs(logger)
    return app.resolve(event, context)
