"""The intake finds the buyer's VAT ID and the shop's reverse charge exemption in one place
(autopilot.vat_rules), with configurable names, and carries them in the ShopOrder contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from webhooks.deliveries import validation_problems
from webhooks.shopify_orders import ShopifyOrderPayload, shop_order_from_shopify
from webhooks.woocommerce_orders import WooCommerceOrderPayload, shop_order_from_woocommerce

from autopilot.messages import parse_message
from autopilot.settings import IntakeSettings
from autopilot.shop_orders import ShopOrder

ROOT = Path(__file__).resolve().parents[2]
SHOP_DOMAIN = "demo-shop.myshopify.com"
WOO_SOURCE = "https://shop.example.de/"


def body_of(sample: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((ROOT / "events" / sample).read_text("utf-8"))["body"]
    return body


def shopify_order(body: dict[str, Any], names: tuple[str, ...] | None = None) -> ShopOrder:
    payload = ShopifyOrderPayload.model_validate(body)
    return shop_order_from_shopify(payload, SHOP_DOMAIN, vat_id_names=names)


def woo_order(body: dict[str, Any], keys: tuple[str, ...] | None = None) -> ShopOrder:
    payload = WooCommerceOrderPayload.model_validate(body)
    return shop_order_from_woocommerce(payload, WOO_SOURCE, vat_id_keys=keys)


# -- Shopify ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["vat_number", "VAT number", "VAT ID", "USt-IdNr.", "ust id nr", "EU VAT number"]
)
def test_shopify_vat_id_comes_from_note_attributes_named_like_a_vat_id(name: str) -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [
        {"name": "Lieferhinweis", "value": "NL123456789B01"},
        {"name": name, "value": " nl 1234.567.89 b01 "},
    ]
    customer = shopify_order(body).customer
    assert customer.vat_id == "NL123456789B01"  # normalised
    assert customer.reverse_charge_exemption is False


def test_shopify_well_formed_vat_id_wins_over_a_malformed_one() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [
        {"name": "VAT ID", "value": "ATU1234"},
        {"name": "vat_number", "value": "ATU12345678"},
    ]
    assert shopify_order(body).customer.vat_id == "ATU12345678"


def test_shopify_malformed_vat_id_still_reaches_the_worker() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [{"name": "VAT ID", "value": "atu-1234"}]
    assert shopify_order(body).customer.vat_id == "ATU1234"


def test_shopify_customer_reverse_charge_exemption_is_carried() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["customer"]["tax_exemptions"] = [
        "CA_STATUS_CARD_EXEMPTION",
        "EU_REVERSE_CHARGE_EXEMPTION_RULE",
    ]
    customer = shopify_order(body).customer
    assert customer.reverse_charge_exemption is True
    assert customer.vat_id is None


@pytest.mark.parametrize("exemptions", [None, [], ["CA_STATUS_CARD_EXEMPTION"]])
def test_shopify_other_or_no_tax_exemptions_are_no_reverse_charge(
    exemptions: list[str] | None,
) -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["customer"]["tax_exemptions"] = exemptions
    assert shopify_order(body).customer.reverse_charge_exemption is False


@pytest.mark.parametrize(
    ("exemptions", "field"),
    [
        (["X" * 101], "customer.tax_exemptions.0"),
        (["EU_REVERSE_CHARGE_EXEMPTION_RULE"] * 101, "customer.tax_exemptions"),
        ([{"code": "EU_REVERSE_CHARGE_EXEMPTION_RULE"}], "customer.tax_exemptions.0"),
        ("EU_REVERSE_CHARGE_EXEMPTION_RULE", "customer.tax_exemptions"),
    ],
)
def test_shopify_tax_exemptions_are_bounded(exemptions: object, field: str) -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["customer"]["tax_exemptions"] = exemptions
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert field in {problem["field"] for problem in validation_problems(error.value)}


def test_shopify_note_attribute_names_are_configurable() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [
        {"name": "vat_number", "value": "FR12345678901"},
        {"name": "Steuernummer Firma", "value": "BE0123456789"},
    ]
    assert shopify_order(body, ("Steuernummer Firma",)).customer.vat_id == "BE0123456789"
    assert shopify_order(body).customer.vat_id == "FR12345678901"


def test_shopify_vat_id_longer_than_any_vat_id_is_ignored() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [{"name": "VAT ID", "value": "DE" + "1" * 100}]
    assert shopify_order(body).customer.vat_id is None


def test_shopify_vat_id_loses_its_control_characters() -> None:
    body = body_of("shopify/order-paid-b2c-discount.json")
    body["note_attributes"] = [{"name": "VAT ID", "value": "DE12345\x016789"}]
    assert shopify_order(body).customer.vat_id == "DE123456789"


# -- WooCommerce -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["_billing_vat_id", "billing_vat_id", "_vat_number", "vat_number", "_billing_vat_number"]
)
def test_woocommerce_vat_id_comes_from_the_plugins_meta_keys(key: str) -> None:
    body = body_of("woocommerce/order-processing-paypal.json")
    body["meta_data"] = [
        {"id": 1, "key": "_wc_order_attribution_source_type", "value": "typein"},
        {"id": 2, "key": key, "value": "IT 123 456 789 01"},
    ]
    assert woo_order(body).customer.vat_id == "IT12345678901"


def test_woocommerce_billing_vat_id_comes_first_unless_it_is_malformed() -> None:
    body = body_of("woocommerce/order-processing-paypal.json")
    body["meta_data"] = [{"id": 2, "key": "_billing_vat_id", "value": "ATU12345678"}]
    body["billing"]["vat_id"] = "DE999999999"
    assert woo_order(body).customer.vat_id == "DE999999999"
    body["billing"]["vat_id"] = "DE99"
    assert woo_order(body).customer.vat_id == "ATU12345678"


@pytest.mark.parametrize(("value", "exempt"), [("yes", True), ("no", False), ("", False)])
def test_woocommerce_is_vat_exempt_is_the_reverse_charge_exemption(
    value: str, exempt: bool
) -> None:
    body = body_of("woocommerce/order-processing-paypal.json")
    body["meta_data"] = [{"id": 3, "key": "is_vat_exempt", "value": value}]
    assert woo_order(body).customer.reverse_charge_exemption is exempt


def test_woocommerce_meta_keys_are_configurable() -> None:
    body = body_of("woocommerce/order-processing-paypal.json")
    body["meta_data"] = [
        {"id": 1, "key": "vat_number", "value": "ATU12345678"},
        {"id": 2, "key": "_my_vat", "value": "ESX1234567X"},
    ]
    assert woo_order(body, ("_my_vat",)).customer.vat_id == "ESX1234567X"


def test_woocommerce_meta_values_that_are_not_text_are_no_vat_id() -> None:
    body = body_of("woocommerce/order-processing-paypal.json")
    body["meta_data"] = [{"id": 1, "key": "vat_number", "value": {"nested": "ATU12345678"}}]
    assert woo_order(body).customer.vat_id is None


# -- settings and the queued contract --------------------------------------------------------

INTAKE_ENV = {
    "WEBHOOK_SECRETS_ARN": "arn",
    "IDEMPOTENCY_TABLE": "idempotency",
    "ORDERS_QUEUE_URL": "orders",
    "DEALS_QUEUE_URL": "deals",
    "BANK_QUEUE_URL": "bank",
    "PRODUCTS_QUEUE_URL": "products",
    "REFUNDS_QUEUE_URL": "refunds",
}


def test_vat_id_name_lists_are_comma_separated_settings() -> None:
    settings = IntakeSettings.from_env(
        {
            **INTAKE_ENV,
            "VAT_ID_NOTE_ATTRIBUTES": " VAT ID , Steuernummer Firma,",
            "VAT_ID_META_KEYS": "_my_vat",
        }
    )
    assert settings.vat_id_note_attributes == ("VAT ID", "Steuernummer Firma")
    assert settings.vat_id_meta_keys == ("_my_vat",)
    defaults = IntakeSettings.from_env(INTAKE_ENV)
    assert (defaults.vat_id_note_attributes, defaults.vat_id_meta_keys) == (None, None)


def test_a_message_queued_before_the_exemption_field_existed_still_parses() -> None:
    order = shopify_order(body_of("shopify/order-paid-b2b-company.json"))
    message = {"kind": "shop_order", "topic": "orders/paid", "order": order.model_dump(mode="json")}
    del message["order"]["customer"]["reverse_charge_exemption"]  # type: ignore[index]
    parsed = parse_message(json.dumps(message))
    assert parsed.order.customer.reverse_charge_exemption is False  # type: ignore[union-attr]
    assert parsed.order.customer.vat_id == "DE123456789"  # type: ignore[union-attr]
