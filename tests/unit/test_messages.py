"""Queue messages: the intake builds one typed message per kind, the workers parse it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from webhooks.shopify_orders import ShopifyOrderPayload, shop_order_from_shopify
from webhooks.woocommerce_orders import WooCommerceOrderPayload, shop_order_from_woocommerce

from autopilot.bank_transactions import BankTransaction, from_bank_json
from autopilot.messages import (
    BankTransactionMessage,
    ShopOrderMessage,
    message_body,
    parse_message,
)
from autopilot.shop_orders import ShopOrder

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EVENTS / name).read_text("utf-8"))["body"]
    return body


def shopify_order() -> ShopOrder:
    payload = ShopifyOrderPayload.model_validate(event_body("shopify/order-paid-b2b-company.json"))
    return shop_order_from_shopify(payload, "demo-shop.myshopify.com")


def woocommerce_order() -> ShopOrder:
    payload = WooCommerceOrderPayload.model_validate(
        event_body("woocommerce/order-processing-paypal.json")
    )
    return shop_order_from_woocommerce(payload, "https://shop.example.de/")


def bank_transaction() -> BankTransaction:
    return from_bank_json(event_body("bank/bank-transfer-full-payment.json"))


def shop_order_message() -> ShopOrderMessage:
    return ShopOrderMessage(topic="orders/paid", order=shopify_order())


def bank_message() -> BankTransactionMessage:
    return BankTransactionMessage(transaction=bank_transaction())


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "message",
    [
        shop_order_message(),
        ShopOrderMessage(topic="order.updated", order=woocommerce_order()),
        ShopOrderMessage(order=shopify_order()),
        bank_message(),
        BankTransactionMessage(transaction=bank_transaction(), origin="camt053/2026-11-24.xml"),
    ],
    ids=["shopify", "woocommerce", "no-topic", "bank", "bank-import"],
)
def test_every_message_kind_comes_back_as_it_was_queued(
    message: ShopOrderMessage | BankTransactionMessage,
) -> None:
    parsed = parse_message(message_body(message))
    assert type(parsed) is type(message)
    assert parsed == message
    assert parsed.correlation_id == message.correlation_id


def test_the_kind_tells_the_messages_apart() -> None:
    shop = json.loads(message_body(shop_order_message()))
    bank = json.loads(message_body(bank_message()))
    assert (shop["kind"], bank["kind"]) == ("shop_order", "bank_transaction")
    assert isinstance(parse_message(json.dumps(shop)), ShopOrderMessage)
    assert isinstance(parse_message(json.dumps(bank)), BankTransactionMessage)


def test_a_queued_shop_order_has_the_shape_the_worker_reads() -> None:
    message = shop_order_message()
    body = json.loads(message_body(message))
    assert set(body) == {"kind", "topic", "order"}
    assert body["order"]["total"] == str(message.order.total)
    assert ShopOrder.model_validate(body["order"]) == message.order
    assert message.correlation_id == message.order.reference


def test_a_queued_bank_transaction_keeps_its_schema_key() -> None:
    message = bank_message()
    body = json.loads(message_body(message))
    assert set(body) == {"kind", "transaction"}
    assert body["transaction"]["schema"] == "bank-transaction/v1"
    assert BankTransaction.model_validate(body["transaction"]) == message.transaction
    assert message.correlation_id == message.transaction.reference


@pytest.mark.parametrize(
    "legacy",
    [
        # What the intake queued before the typed messages (None fields written as null):
        # messages still in flight after an upgrade must read the same.
        lambda: {
            "kind": "shop_order",
            "topic": "orders/paid",
            "order": shopify_order().model_dump(mode="json"),
        },
        lambda: {"kind": "bank_transaction", "transaction": bank_transaction().as_message()},
    ],
    ids=["shop_order", "bank_transaction"],
)
def test_messages_queued_before_the_typed_models_still_parse(legacy: Any) -> None:
    body = legacy()
    parsed = parse_message(json.dumps(body))
    assert parsed == parse_message(message_body(parsed))
    assert json.loads(json.dumps(parsed.as_body())).keys() == body.keys()


# ---------------------------------------------------------------------------- refusals


def shop_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(message_body(shop_order_message()))
    return body


def bank_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(message_body(bank_message()))
    return body


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != key}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({**shop_body(), "kind": "deal"}, "kind"),  # an unknown kind
        (without(shop_body(), "kind"), "kind"),  # no kind at all
        ({**shop_body(), "kind": "bank_transaction"}, "transaction"),  # the other kind's name
        ({**bank_body(), "kind": "shop_order"}, "order"),
        ({**shop_body(), "priority": "high"}, "priority"),  # an extra key
        ({**bank_body(), "order": {}}, "order"),
        ({**shop_body(), "order": {"source": "shopify"}}, "order"),  # a bad payload
        ({**shop_body(), "order": {**shop_body()["order"], "source": "amazon"}}, "source"),
        ({**shop_body(), "topic": "x" * 65}, "topic"),
        ({**bank_body(), "transaction": {"schema": "bank-transaction/v1"}}, "transaction"),
        ({**bank_body(), "delayed_attempts": -1}, "delayed_attempts"),
    ],
)
def test_a_body_that_is_not_one_of_the_kinds_is_refused(body: Any, problem: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_message(json.dumps(body))
    assert problem in str(error.value)


@pytest.mark.parametrize("body", ["", "please fail", "[]", '{"order": 1}', "null"])
def test_a_body_that_is_not_a_message_at_all_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_message(body)
