"""The intake answers every contract route; unbuilt workflows say so with 501."""

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
UNBUILT_ROUTES = [
    ("/webhooks/shopify/products", "article_sync"),
    ("/webhooks/woocommerce/products", "article_sync"),
]


def invoke(path: str, body: bytes = b"{}", method: str = "POST") -> dict:
    from webhooks.app import lambda_handler

    event = http_api_event(method, path, {"content-type": "application/json"}, body)
    return lambda_handler(event, LocalLambdaContext(function_name="webhooks", timeout_seconds=5))


@pytest.mark.parametrize(("path", "workflow"), UNBUILT_ROUTES)
def test_route_of_unbuilt_workflow_answers_501_naming_it(path: str, workflow: str) -> None:
    response = invoke(path)
    assert response["statusCode"] == 501
    payload = json.loads(response["body"])
    assert payload["error"] == "not_implemented"
    assert payload["workflow"] == workflow


def test_unbuilt_route_table_is_exactly_the_unbuilt_workflows() -> None:
    from webhooks.app import PENDING_ROUTES

    assert sorted(PENDING_ROUTES.items()) == sorted(UNBUILT_ROUTES)


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
