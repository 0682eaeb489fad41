"""The intake answers every contract route (every workflow is built: none answers 501)."""

from __future__ import annotations

import json

import pytest

from local.lambda_events import LocalLambdaContext, http_api_event

CONTRACT_PATHS = [
    "/webhooks/shopify/orders",
    "/webhooks/shopify/products",
    "/webhooks/woocommerce/orders",
    "/webhooks/woocommerce/products",
    "/webhooks/hubspot/deals",
    "/webhooks/bank/transactions",
    "/webhooks/qonto/transactions",
]


def invoke(path: str, body: bytes = b"{}", method: str = "POST") -> dict:
    from webhooks.app import lambda_handler

    event = http_api_event(method, path, {"content-type": "application/json"}, body)
    return lambda_handler(event, LocalLambdaContext(function_name="webhooks", timeout_seconds=5))


@pytest.mark.parametrize("path", ["/webhooks/shopify/products", "/webhooks/woocommerce/products"])
def test_product_routes_are_built_and_refuse_an_unsigned_body(path: str, stack: object) -> None:
    response = invoke(path, body=b'{"id": 1}')
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"] in {"unknown_shop", "invalid_signature"}


@pytest.mark.parametrize("path", CONTRACT_PATHS)
def test_every_contract_route_exists(path: str, stack: object) -> None:
    assert invoke(path, body=b"")["statusCode"] != 404


def test_unknown_route_is_a_json_404() -> None:
    response = invoke("/webhooks/stripe/charges")
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"] == "not_found"


def test_get_on_a_webhook_route_is_not_accepted() -> None:
    response = invoke("/webhooks/shopify/orders", method="GET")
    assert response["statusCode"] in {404, 405}
