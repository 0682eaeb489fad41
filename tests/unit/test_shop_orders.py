"""Shop orders: webhook payloads are validated and become one normalised order."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from webhooks.deliveries import validation_problems
from webhooks.shopify_orders import ShopifyOrderPayload, shop_order_from_shopify
from webhooks.woocommerce_orders import WooCommerceOrderPayload, shop_order_from_woocommerce

from autopilot.billomat.vocabulary import PaymentType
from autopilot.shop_orders import (
    OrderLine,
    ShopOrder,
    ShopOrderError,
    payment_type_for_gateway,
)

ROOT = Path(__file__).resolve().parents[2]
SHOP_DOMAIN = "demo-shop.myshopify.com"
WOO_SOURCE = "https://shop.example.de/"

# reference/webhooks.md §2.7
WOO_FIXTURE: dict[str, Any] = {
    "id": 4711,
    "number": "4711",
    "status": "processing",
    "currency": "EUR",
    "prices_include_tax": True,
    "date_created_gmt": "2025-01-15T10:00:00",
    "date_modified_gmt": "2025-01-15T10:00:05",
    "discount_total": "0.00",
    "shipping_total": "4.11",
    "shipping_tax": "0.78",
    "total": "123.89",
    "total_tax": "19.78",
    "payment_method": "paypal",
    "billing": {
        "first_name": "Erika",
        "last_name": "Musterfrau",
        "company": "Beispiel UG",
        "address_1": "Ringstr. 5",
        "address_2": "",
        "postcode": "80331",
        "city": "München",
        "country": "DE",
        "email": "erika@example.de",
        "phone": "",
    },
    "shipping": {
        "first_name": "Erika",
        "last_name": "Musterfrau",
        "company": "",
        "address_1": "Ringstr. 5",
        "postcode": "80331",
        "city": "München",
        "country": "DE",
    },
    "line_items": [
        {
            "id": 9,
            "name": "Kaffeebecher",
            "product_id": 93,
            "variation_id": 0,
            "quantity": 2,
            "sku": "KB-01",
            "subtotal": "100.00",
            "subtotal_tax": "19.00",
            "total": "100.00",
            "total_tax": "19.00",
            "taxes": [{"id": 1, "total": "19", "subtotal": "19"}],
            "price": 50,
        }
    ],
    "tax_lines": [
        {
            "id": 12,
            "rate_code": "DE-MWST-1",
            "rate_id": 1,
            "label": "MwSt.",
            "compound": False,
            "tax_total": "19.00",
            "shipping_tax_total": "0.78",
            "rate_percent": 19,
        }
    ],
    "shipping_lines": [
        {
            "id": 10,
            "method_title": "DHL",
            "method_id": "flat_rate",
            "total": "4.11",
            "total_tax": "0.78",
            "taxes": [{"id": 1, "total": "0.78", "subtotal": ""}],
        }
    ],
    "fee_lines": [],
    "coupon_lines": [],
}


def shopify_fixture() -> dict[str, Any]:
    """The body of events/shopify/order-paid-b2c-taxes-included.json (webhooks.md §1.7)."""
    event = json.loads(
        (ROOT / "events/shopify/order-paid-b2c-taxes-included.json").read_text("utf-8")
    )
    body: dict[str, Any] = event["body"]
    return body


def woo_fixture() -> dict[str, Any]:
    return copy.deepcopy(WOO_FIXTURE)


def shopify_order(body: dict[str, Any]) -> ShopOrder:
    return shop_order_from_shopify(ShopifyOrderPayload.model_validate(body), SHOP_DOMAIN)


def woo_order(body: dict[str, Any]) -> ShopOrder:
    return shop_order_from_woocommerce(WooCommerceOrderPayload.model_validate(body), WOO_SOURCE)


def problem_fields(error: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {problem["field"] for problem in validation_problems(error.value)}


# ---------------------------------------------------------------------------- Shopify


def test_paid_shopify_order_becomes_a_gross_shop_order() -> None:
    order = shopify_order(shopify_fixture())

    assert order.source == "shopify"
    assert order.shop == SHOP_DOMAIN
    assert order.order_id == "820982911946154508"
    assert order.order_number == "#1001"
    assert order.reference == "shopify:demo-shop.myshopify.com:order:820982911946154508"
    assert order.customer_reference == (
        "shopify:demo-shop.myshopify.com:customer:115310627314723954"
    )
    assert order.currency == "EUR"
    assert order.prices_include_tax is True
    assert order.is_paid is True
    assert order.status == "paid"
    assert order.payment_gateway == "shopify_payments"
    assert order.payment_type is PaymentType.CREDIT_CARD
    assert order.total == Decimal("123.89")
    assert order.total_tax == Decimal("19.78")
    assert order.customer.email == "max.mustermann@example.de"
    assert order.customer.first_name == "Max"
    assert order.customer.street == "Hauptstr. 1"
    assert order.customer.zip == "10115"
    assert order.customer.country_code == "DE"
    assert order.customer.company is None
    assert order.lines == [
        OrderLine(
            kind="item",
            title="T-Shirt",
            sku="TS-001",
            quantity=Decimal(2),
            unit_price=Decimal("59.50"),
            discount=Decimal(0),
            tax_rate=Decimal(19),
        ),
        OrderLine(
            kind="shipping",
            title="DHL Paket",
            quantity=Decimal(1),
            unit_price=Decimal("4.89"),
            discount=Decimal(0),
            tax_rate=Decimal(19),
        ),
    ]
    assert str(order.lines[0].tax_rate) == "19"


def test_shopify_order_dates_come_from_processed_at_in_the_shops_offset() -> None:
    body = shopify_fixture()
    body["created_at"] = "2025-01-15T23:30:00+01:00"
    body["processed_at"] = "2025-01-16T00:10:00+01:00"
    order = shopify_order(body)
    assert order.ordered_on == dt.date(2025, 1, 16)
    assert order.paid_on == dt.date(2025, 1, 16)


def test_shopify_order_without_dates_uses_the_receiving_day() -> None:
    payload = ShopifyOrderPayload.model_validate(shopify_fixture())
    order = shop_order_from_shopify(payload, SHOP_DOMAIN, received_on=dt.date(2025, 1, 15))
    assert order.ordered_on == dt.date(2025, 1, 15)
    assert order.paid_on == dt.date(2025, 1, 15)


@pytest.mark.parametrize("status", ["pending", "authorized", "partially_paid", "refunded"])
def test_shopify_order_is_only_paid_when_financial_status_is_paid(status: str) -> None:
    body = shopify_fixture()
    body["financial_status"] = status
    order = shopify_order(body)
    assert order.is_paid is False
    assert order.paid_on is None
    assert order.status == status


def test_shopify_ids_keep_all_64_bits_whether_sent_as_number_or_text() -> None:
    body = shopify_fixture()
    body["id"] = 9223372036854775807
    assert shopify_order(body).order_id == "9223372036854775807"
    body["id"] = "9223372036854775806"
    assert shopify_order(body).order_id == "9223372036854775806"


def test_shopify_b2b_order_keeps_company_and_vat_id() -> None:
    body = shopify_fixture()
    body["billing_address"] = {
        "first_name": "Petra",
        "last_name": "Einkauf",
        "company": "Muster GmbH",
        "address1": "Industriestr. 7",
        "address2": "Halle 3",
        "zip": "20095",
        "city": "Hamburg",
        "country_code": "de",
        "phone": "+49 40 123456",
    }
    body["note_attributes"] = [
        {"name": "Lieferhinweis", "value": "Rampe 2"},
        {"name": "USt-IdNr.", "value": " DE123456789 "},
    ]
    customer = shopify_order(body).customer
    assert customer.company == "Muster GmbH"
    assert customer.first_name == "Petra"
    assert customer.street == "Industriestr. 7"
    assert customer.street2 == "Halle 3"
    assert customer.city == "Hamburg"
    assert customer.country_code == "DE"
    assert customer.phone == "+49 40 123456"
    assert customer.vat_id == "DE123456789"


def test_shopify_order_without_customer_has_no_customer_reference() -> None:
    body = shopify_fixture()
    body["customer"] = None
    body["billing_address"] = None
    order = shopify_order(body)
    assert order.customer_reference is None
    assert order.customer.email == "max.mustermann@example.de"
    # the shipping address stands in for a missing billing address
    assert order.customer.city == "Berlin"


def test_shopify_discount_allocations_are_line_discounts() -> None:
    body = shopify_fixture()
    body["line_items"][0]["discount_allocations"] = [
        {"amount": "5.95", "discount_application_index": 0},
        {"amount": "1.00", "discount_application_index": 1},
    ]
    body["shipping_lines"][0]["discount_allocations"] = [
        {"amount": "4.89", "discount_application_index": 2}
    ]
    item, shipping = shopify_order(body).lines
    assert item.discount == Decimal("6.95")
    assert item.amount == Decimal("112.05")
    assert shipping.discount == Decimal("4.89")
    assert shipping.amount == Decimal(0)


def test_shopify_shipping_discount_without_allocations_comes_from_discounted_price() -> None:
    body = shopify_fixture()
    body["shipping_lines"][0]["discounted_price"] = "0.00"
    shipping = shopify_order(body).lines[1]
    assert shipping.unit_price == Decimal("4.89")
    assert shipping.discount == Decimal("4.89")


def test_untaxed_shopify_lines_and_gift_cards_are_zero_percent() -> None:
    body = shopify_fixture()
    body["line_items"] += [
        {
            "title": "Geschenkgutschein",
            "quantity": 1,
            "price": "25.00",
            "taxable": False,
            "gift_card": True,
            "tax_lines": [],
        },
        {
            "title": "Buch",
            "variant_title": "Taschenbuch",
            "quantity": 1,
            "price": "12.00",
            "taxable": True,
            "tax_lines": [],
        },
        {
            "title": "Export",
            "quantity": 1,
            "price": "10.00",
            "taxable": False,
            "tax_lines": [{"rate": 0.19, "price": "0.00"}],
        },
    ]
    lines = shopify_order(body).lines
    assert [(line.title, line.tax_rate) for line in lines[1:4]] == [
        ("Geschenkgutschein", Decimal(0)),
        ("Buch – Taschenbuch", Decimal(0)),
        ("Export", Decimal(0)),
    ]


def test_several_shopify_tax_lines_on_one_item_add_up() -> None:
    body = shopify_fixture()
    body["line_items"][0]["tax_lines"] = [
        {"title": "GST", "rate": 0.05, "price": "5.00"},
        {"title": "QST", "rate": 0.09975, "price": "9.98"},
    ]
    assert shopify_order(body).lines[0].tax_rate == Decimal("14.98")


def test_foreign_currency_shopify_order_keeps_its_currency() -> None:
    body = shopify_fixture()
    body["currency"] = "chf"
    body["line_items"][0]["tax_lines"] = [{"title": "MWST", "rate": 0.081, "price": "8.92"}]
    order = shopify_order(body)
    assert order.currency == "CHF"
    assert order.lines[0].tax_rate == Decimal("8.1")


def test_shopify_gateway_falls_back_to_payment_gateway_names() -> None:
    body = shopify_fixture()
    del body["gateway"]
    body["payment_gateway_names"] = ["gift_card", "paypal"]
    order = shopify_order(body)
    assert order.payment_gateway == "paypal"
    assert order.payment_type is PaymentType.PAYPAL


# ---------------------------------------------------------------------------- WooCommerce


def test_processing_paypal_woocommerce_order_becomes_a_gross_shop_order() -> None:
    order = woo_order(woo_fixture())

    assert order.source == "woocommerce"
    assert order.shop == "shop.example.de"
    assert order.order_id == "4711"
    assert order.order_number == "4711"
    assert order.reference == "woocommerce:shop.example.de:order:4711"
    assert order.customer_reference is None
    assert order.currency == "EUR"
    assert order.prices_include_tax is True
    assert order.is_paid is True
    assert order.paid_on == dt.date(2025, 1, 15)
    assert order.ordered_on == dt.date(2025, 1, 15)
    assert order.status == "processing"
    assert order.payment_type is PaymentType.PAYPAL
    assert order.customer.company == "Beispiel UG"
    assert order.customer.email == "erika@example.de"
    assert order.customer.street == "Ringstr. 5"
    assert order.customer.street2 is None
    assert order.customer.phone is None
    assert order.customer.city == "München"
    assert [
        (line.kind, line.title, line.quantity, line.unit_price, line.discount, line.tax_rate)
        for line in order.lines
    ] == [
        ("item", "Kaffeebecher", Decimal(2), Decimal("59.50"), Decimal(0), Decimal(19)),
        ("shipping", "DHL", Decimal(1), Decimal("4.89"), Decimal(0), Decimal(19)),
    ]
    assert order.total == Decimal("123.89")


def test_registered_woocommerce_customer_gets_a_customer_reference() -> None:
    body = woo_fixture()
    body["customer_id"] = 17
    assert woo_order(body).customer_reference == "woocommerce:shop.example.de:customer:17"


@pytest.mark.parametrize(
    "source_url",
    [
        "https://shop.example.de/",
        "https://Shop.Example.de",
        "shop.example.de/",
        "http://shop.example.de:8080/wp",
    ],
)
def test_woocommerce_shop_is_the_host_of_the_source_url(source_url: str) -> None:
    payload = WooCommerceOrderPayload.model_validate(woo_fixture())
    assert shop_order_from_woocommerce(payload, source_url).shop == "shop.example.de"


def test_woocommerce_net_order_with_coupon_and_fees_keeps_net_amounts() -> None:
    body = woo_fixture()
    body["prices_include_tax"] = False
    body["line_items"] = [
        {
            "name": "Kaffee 1 kg",
            "sku": "KF-1",
            "quantity": 3,
            "subtotal": "45.00",
            "subtotal_tax": "3.15",
            "total": "40.50",
            "total_tax": "2.84",
            "taxes": [{"id": 2, "total": "2.835", "subtotal": "3.15"}],
            "price": 13.5,
        },
        {
            "name": "Mühle",
            "sku": "MU-1",
            "quantity": 1,
            "subtotal": "80.00",
            "subtotal_tax": "15.20",
            "total": "72.00",
            "total_tax": "13.68",
            "taxes": [{"id": 1, "total": "13.68", "subtotal": "15.2"}],
            "price": 72,
        },
    ]
    body["tax_lines"] = [
        {"id": 20, "rate_id": 1, "label": "MwSt.", "rate_percent": 19},
        {"id": 21, "rate_id": 2, "label": "MwSt. ermäßigt", "rate_percent": 7},
    ]
    body["fee_lines"] = [
        {
            "name": "Nachnahmegebühr",
            "total": "2.00",
            "total_tax": "0.38",
            "taxes": [{"id": 1, "total": "0.38", "subtotal": ""}],
        },
        {
            "name": "Treuerabatt",
            "total": "-5.00",
            "total_tax": "-0.95",
            "taxes": [{"id": 1, "total": "-0.95", "subtotal": ""}],
        },
    ]
    body["coupon_lines"] = [{"code": "kaffee10", "discount": "12.50", "discount_tax": "2.08"}]
    order = woo_order(body)
    assert order.prices_include_tax is False
    coffee, grinder, shipping, fee, negative_fee = order.lines
    assert (coffee.quantity, coffee.unit_price, coffee.discount, coffee.tax_rate) == (
        Decimal(3),
        Decimal(15),
        Decimal("4.50"),
        Decimal(7),
    )
    assert coffee.amount == Decimal("40.50")
    assert (grinder.unit_price, grinder.discount, grinder.tax_rate) == (
        Decimal(80),
        Decimal(8),
        Decimal(19),
    )
    assert (shipping.kind, shipping.unit_price) == ("shipping", Decimal("4.11"))
    assert (fee.kind, fee.title, fee.unit_price, fee.tax_rate) == (
        "fee",
        "Nachnahmegebühr",
        Decimal("2.00"),
        Decimal(19),
    )
    assert (negative_fee.unit_price, negative_fee.tax_rate) == (Decimal("-5.00"), Decimal(19))


def test_woocommerce_gross_order_with_coupon_discounts_the_gross_amount() -> None:
    body = woo_fixture()
    body["line_items"][0].update(
        {
            "total": "90.00",
            "total_tax": "17.10",
            "taxes": [{"id": 1, "total": "17.1", "subtotal": "19"}],
        }
    )
    item = woo_order(body).lines[0]
    assert item.unit_price == Decimal("59.50")
    assert item.subtotal == Decimal("119.00")
    assert item.discount == Decimal("11.90")
    assert item.amount == Decimal("107.10")


def test_woocommerce_unit_price_stays_exact_when_the_shop_only_states_line_amounts() -> None:
    body = woo_fixture()
    body["line_items"][0].update({"quantity": 3, "subtotal": "84.03", "subtotal_tax": "15.97"})
    body["line_items"][0].update({"total": "84.03", "total_tax": "15.97"})
    item = woo_order(body).lines[0]
    assert item.subtotal == Decimal("100.00")
    assert item.unit_price * 3 != Decimal("100.00")  # 33.33… does not terminate


def test_woocommerce_rate_is_inferred_when_tax_lines_lack_rate_percent() -> None:
    body = woo_fixture()
    body["prices_include_tax"] = False
    body["tax_lines"] = [{"id": 12, "rate_id": 1, "label": "MwSt."}]
    body["line_items"].append(
        {
            "name": "Buch",
            "quantity": 1,
            "subtotal": "18.69",
            "subtotal_tax": "1.31",
            "total": "18.69",
            "total_tax": "1.31",
            "taxes": [{"id": 2, "total": "1.31", "subtotal": "1.31"}],
        }
    )
    item, book, shipping = woo_order(body).lines
    assert item.tax_rate == Decimal(19)
    assert book.tax_rate == Decimal(7)
    assert shipping.tax_rate == Decimal(19)


@pytest.mark.parametrize(
    ("rate", "net", "tax"), [(20, "50.00", "10.00"), (21, "50.00", "10.50"), (10, "50.00", "5.00")]
)
def test_other_eu_rates_come_through_from_tax_lines(rate: int, net: str, tax: str) -> None:
    body = woo_fixture()
    body["prices_include_tax"] = False
    body["line_items"] = [
        {
            "name": "Ware",
            "quantity": 1,
            "subtotal": net,
            "subtotal_tax": tax,
            "total": net,
            "total_tax": tax,
            "taxes": [{"id": 9, "total": tax, "subtotal": tax}],
        }
    ]
    body["shipping_lines"] = []
    body["tax_lines"] = [{"id": 30, "rate_id": 9, "rate_percent": rate}]
    assert woo_order(body).lines[0].tax_rate == Decimal(rate)


def test_untaxed_woocommerce_line_is_zero_percent() -> None:
    body = woo_fixture()
    body["line_items"][0].update({"subtotal_tax": "0.00", "total_tax": "0.00", "taxes": []})
    assert woo_order(body).lines[0].tax_rate == Decimal(0)


def test_woocommerce_line_with_unknown_rate_is_refused_naming_the_line() -> None:
    body = woo_fixture()
    body["tax_lines"] = []
    body["line_items"][0].update({"subtotal_tax": "33.00", "total_tax": "33.00"})
    payload = WooCommerceOrderPayload.model_validate(body)
    with pytest.raises(ShopOrderError, match=r"line_items\.0\.taxes") as error:
        shop_order_from_woocommerce(payload, WOO_SOURCE)
    assert error.value.field == "line_items.0.taxes"


def test_woocommerce_vat_id_comes_from_billing_or_meta_data() -> None:
    body = woo_fixture()
    body["meta_data"] = [
        {"id": 1, "key": "_wc_order_attribution_source_type", "value": "typein"},
        {"id": 2, "key": "_billing_vat_id", "value": "ATU12345678"},
    ]
    assert woo_order(body).customer.vat_id == "ATU12345678"
    body["billing"]["vat_id"] = "DE999999999"
    assert woo_order(body).customer.vat_id == "DE999999999"


@pytest.mark.parametrize(
    ("status", "method", "date_paid", "paid"),
    [
        ("processing", "paypal", None, True),
        ("completed", "stripe", None, True),
        ("on-hold", "paypal", None, False),
        ("pending", "stripe", None, False),
        ("processing", "bacs", None, False),
        ("processing", "bacs", "2025-01-17T09:00:00", True),
        ("completed", "cheque", "2025-01-17T09:00:00", True),
        ("processing", "cod", "2025-01-15T10:00:00", False),
        ("completed", "cod", "2025-01-20T10:00:00", False),
        ("processing", "", None, False),
        ("refunded", "paypal", "2025-01-15T10:00:00", False),
    ],
)
def test_woocommerce_paid_rule(status: str, method: str, date_paid: str | None, paid: bool) -> None:
    body = woo_fixture()
    body.update({"status": status, "payment_method": method, "date_paid": date_paid})
    order = woo_order(body)
    assert order.is_paid is paid
    if paid and date_paid:
        assert order.paid_on == dt.date.fromisoformat(date_paid[:10])
    if not paid:
        assert order.paid_on is None


def test_foreign_currency_woocommerce_order_keeps_its_currency() -> None:
    body = woo_fixture()
    body["currency"] = "CHF"
    assert woo_order(body).currency == "CHF"


# ---------------------------------------------------------------------------- transport


def test_shop_order_survives_the_queue_as_json_with_decimal_strings() -> None:
    order = woo_order(woo_fixture())
    text = order.model_dump_json()
    data = json.loads(text)
    assert data["total"] == "123.89"
    assert data["lines"][0]["unit_price"] == "59.50"
    assert data["lines"][0]["tax_rate"] == "19"
    assert data["ordered_on"] == "2025-01-15"
    again = ShopOrder.model_validate_json(text)
    assert again == order
    assert again.reference == order.reference


def test_shop_order_is_frozen() -> None:
    order = shopify_order(shopify_fixture())
    with pytest.raises(ValidationError):
        order.total = Decimal(1)  # type: ignore[misc]


# ---------------------------------------------------------------------------- validation


def test_shopify_payload_without_line_items_names_the_field() -> None:
    body = shopify_fixture()
    del body["line_items"]
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert problem_fields(error) == {"line_items"}


def test_shopify_payload_with_empty_line_items_names_the_field() -> None:
    body = shopify_fixture()
    body["line_items"] = []
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert problem_fields(error) == {"line_items"}


def test_non_numeric_price_names_the_line_and_field() -> None:
    body = shopify_fixture()
    body["line_items"][0]["price"] = "59,50 €"
    body["total_price"] = "NaN"
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert problem_fields(error) == {"line_items.0.price", "total_price"}
    messages = {p["field"]: p["message"] for p in validation_problems(error.value)}
    assert "59,50" in messages["line_items.0.price"]


def test_missing_required_shopify_fields_are_all_named() -> None:
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate({"name": "#1001"})
    assert problem_fields(error) == {
        "id",
        "currency",
        "taxes_included",
        "total_price",
        "total_tax",
        "line_items",
    }


def test_float_order_id_is_refused_because_it_lost_digits() -> None:
    body = shopify_fixture()
    body["id"] = 8.209829119461545e17
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert problem_fields(error) == {"id"}


def test_bad_currency_is_refused() -> None:
    body = shopify_fixture()
    body["currency"] = "EURO"
    with pytest.raises(ValidationError) as error:
        ShopifyOrderPayload.model_validate(body)
    assert problem_fields(error) == {"currency"}


def test_woocommerce_payload_needs_billing_email_and_numeric_totals() -> None:
    body = woo_fixture()
    del body["billing"]["email"]
    body["line_items"][0]["total"] = "abc"
    body["line_items"][0]["quantity"] = -1
    with pytest.raises(ValidationError) as error:
        WooCommerceOrderPayload.model_validate(body)
    assert problem_fields(error) == {
        "billing.email",
        "line_items.0.total",
        "line_items.0.quantity",
    }


def test_unknown_fields_are_ignored_and_numbers_accepted_as_text() -> None:
    body = woo_fixture()
    body["something_new"] = {"x": 1}
    body["line_items"][0]["price"] = 49.999999
    body["line_items"][0]["sku"] = 12345
    payload = WooCommerceOrderPayload.model_validate(body)
    assert payload.line_items[0].price == Decimal("49.999999")
    assert payload.line_items[0].sku == "12345"


# ---------------------------------------------------------------------------- payment types


@pytest.mark.parametrize(
    ("gateway", "payment_type"),
    [
        ("paypal", PaymentType.PAYPAL),
        ("ppcp-gateway", PaymentType.PAYPAL),
        ("PayPal Express Checkout", PaymentType.PAYPAL),
        ("shopify_payments", PaymentType.CREDIT_CARD),
        ("stripe", PaymentType.CREDIT_CARD),
        ("stripe_cc", PaymentType.CREDIT_CARD),
        ("woocommerce_payments", PaymentType.CREDIT_CARD),
        ("mollie_wc_gateway_creditcard", PaymentType.CREDIT_CARD),
        ("Apple Pay", PaymentType.CREDIT_CARD),
        ("stripe_sepa", PaymentType.DEBIT),
        ("mollie_wc_gateway_directdebit", PaymentType.DEBIT),
        ("girocard", PaymentType.BANK_CARD),
        ("bacs", PaymentType.BANK_TRANSFER),
        ("Bank Deposit", PaymentType.BANK_TRANSFER),
        ("Vorkasse", PaymentType.BANK_TRANSFER),
        ("Überweisung", PaymentType.BANK_TRANSFER),
        ("sofort", PaymentType.BANK_TRANSFER),
        ("mollie_wc_gateway_ideal", PaymentType.BANK_TRANSFER),
        ("klarna_payments", PaymentType.MISC),
        ("cod", PaymentType.CASH),
        ("Cash on Delivery (COD)", PaymentType.CASH),
        ("cheque", PaymentType.CHECK),
        ("gift_card", PaymentType.COUPON),
        ("amazon_checkout", PaymentType.MISC),
        ("manual", PaymentType.MISC),
        ("", PaymentType.MISC),
        (None, PaymentType.MISC),
    ],
)
def test_payment_type_follows_the_gateway(gateway: str | None, payment_type: PaymentType) -> None:
    assert payment_type_for_gateway(gateway) is payment_type
