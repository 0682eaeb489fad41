"""Invoice pricing: shop orders become Billomat positions whose total is the shop's total."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from order_invoice.pricing import (
    InvoicePosition,
    PricedInvoice,
    billomat_total_gross,
    invoice_positions,
)
from webhooks.shopify_orders import ShopifyOrderPayload, shop_order_from_shopify
from webhooks.woocommerce_orders import WooCommerceOrderPayload, shop_order_from_woocommerce

from autopilot.money import CENT, net_from_gross, tax_on_net
from autopilot.shop_orders import OrderLine, ShopCustomer, ShopOrder

ROOT = Path(__file__).resolve().parents[2]
RATES = (19, 7, 0, 20, 21, 10)


def shopify_fixture() -> dict[str, Any]:
    event = json.loads(
        (ROOT / "events/shopify/order-paid-b2c-taxes-included.json").read_text("utf-8")
    )
    body: dict[str, Any] = event["body"]
    return body


def shopify_order(body: dict[str, Any]) -> ShopOrder:
    payload = ShopifyOrderPayload.model_validate(body)
    return shop_order_from_shopify(payload, "demo-shop.myshopify.com")


def woo_order(body: dict[str, Any]) -> ShopOrder:
    payload = WooCommerceOrderPayload.model_validate(body)
    return shop_order_from_woocommerce(payload, "https://shop.example.de/")


WOO_BASE: dict[str, Any] = {
    "id": 4711,
    "number": "4711",
    "status": "processing",
    "currency": "EUR",
    "prices_include_tax": True,
    "date_created": "2025-01-15T11:00:00",
    "payment_method": "paypal",
    "billing": {"first_name": "Erika", "last_name": "Musterfrau", "email": "erika@example.de"},
    "tax_lines": [
        {"id": 12, "rate_id": 1, "label": "MwSt.", "rate_percent": 19},
        {"id": 13, "rate_id": 2, "label": "MwSt. 7 %", "rate_percent": 7},
    ],
    "shipping_lines": [],
    "fee_lines": [],
    "coupon_lines": [],
}


def woo_body(**fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(WOO_BASE)
    body.update(fields)
    return body


def summary(priced: PricedInvoice) -> list[tuple[str, str, str, str, str]]:
    return [
        (p.kind, p.title, str(p.quantity), str(p.unit_price), str(p.tax_rate))
        for p in priced.positions
    ]


def order_with_lines(*lines: OrderLine, gross: bool = True, total: str = "0") -> ShopOrder:
    return ShopOrder(
        source="shopify",
        shop="demo-shop.myshopify.com",
        order_id="1",
        order_number="#1",
        currency="EUR",
        prices_include_tax=gross,
        is_paid=False,
        status="pending",
        ordered_on="2025-01-15",
        customer=ShopCustomer(email="a@example.de"),
        lines=list(lines),
        total=Decimal(total),
        total_tax=Decimal(0),
    )


def line(
    title: str,
    quantity: str,
    unit_price: str,
    rate: str = "19",
    *,
    kind: str = "item",
    **extra: Any,
) -> OrderLine:
    return OrderLine(
        kind=kind,
        title=title,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(rate),
        **extra,
    )


# ---------------------------------------------------------------------------- examples


def test_shopify_fixture_becomes_gross_positions_with_the_shops_total() -> None:
    priced = invoice_positions(shopify_order(shopify_fixture()))
    assert priced.net_gross == "GROSS"
    assert summary(priced) == [
        ("item", "T-Shirt", "2", "59.50", "19"),
        ("shipping", "DHL Paket", "1", "4.89", "19"),
    ]
    assert priced.positions[0].sku == "TS-001"
    assert priced.expected_total_gross == Decimal("123.89")
    assert billomat_total_gross(priced) == Decimal("123.89")


def test_shopify_discount_code_shows_as_a_discount_per_tax_rate() -> None:
    body = shopify_fixture()
    body["line_items"] = [
        {
            "title": "T-Shirt",
            "sku": "TS-001",
            "quantity": 2,
            "price": "29.90",
            "taxable": True,
            "discount_allocations": [{"amount": "5.98", "discount_application_index": 0}],
            "tax_lines": [{"title": "MwSt", "rate": 0.19, "price": "8.59"}],
        },
        {
            "title": "Kaffee 500 g",
            "sku": "KF-500",
            "quantity": 1,
            "price": "12.50",
            "taxable": True,
            "discount_allocations": [{"amount": "1.25", "discount_application_index": 0}],
            "tax_lines": [{"title": "MwSt", "rate": 0.07, "price": "0.74"}],
        },
    ]
    body["shipping_lines"] = [
        {
            "title": "DHL Paket",
            "price": "4.90",
            "discounted_price": "4.90",
            "tax_lines": [{"title": "MwSt", "rate": 0.19, "price": "0.78"}],
        }
    ]
    body["discount_codes"] = [{"code": "WINTER10", "amount": "7.23", "type": "percentage"}]
    body.update({"total_price": "69.97", "total_tax": "10.11", "total_discounts": "7.23"})

    priced = invoice_positions(shopify_order(body))
    assert summary(priced) == [
        ("item", "T-Shirt", "2", "29.90", "19"),
        ("item", "Kaffee 500 g", "1", "12.50", "7"),
        ("discount", "Rabatt 19 %", "1", "-5.98", "19"),
        ("discount", "Rabatt 7 %", "1", "-1.25", "7"),
        ("shipping", "DHL Paket", "1", "4.90", "19"),
    ]
    assert billomat_total_gross(priced) == Decimal("69.97") == priced.expected_total_gross


def test_woocommerce_fixture_becomes_gross_positions_with_the_shops_total() -> None:
    body = woo_body(
        line_items=[
            {
                "name": "Kaffeebecher",
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
        shipping_lines=[
            {
                "method_title": "DHL",
                "total": "4.11",
                "total_tax": "0.78",
                "taxes": [{"id": 1, "total": "0.78", "subtotal": ""}],
            }
        ],
        total="123.89",
        total_tax="19.78",
    )
    priced = invoice_positions(woo_order(body))
    assert summary(priced) == [
        ("item", "Kaffeebecher", "2", "59.50", "19"),
        ("shipping", "DHL", "1", "4.89", "19"),
    ]
    assert billomat_total_gross(priced) == Decimal("123.89")


def test_woocommerce_net_order_with_coupon_and_fees_prices_net_per_tax_group() -> None:
    body = woo_body(
        prices_include_tax=False,
        line_items=[
            {
                "name": "Kaffee 1 kg",
                "quantity": 3,
                "subtotal": "45.00",
                "subtotal_tax": "3.15",
                "total": "40.50",
                "total_tax": "2.84",
                "taxes": [{"id": 2, "total": "2.835", "subtotal": "3.15"}],
            },
            {
                "name": "Mühle",
                "quantity": 1,
                "subtotal": "80.00",
                "subtotal_tax": "15.20",
                "total": "72.00",
                "total_tax": "13.68",
                "taxes": [{"id": 1, "total": "13.68", "subtotal": "15.2"}],
            },
        ],
        shipping_lines=[
            {
                "method_title": "DHL",
                "total": "4.11",
                "total_tax": "0.78",
                "taxes": [{"id": 1, "total": "0.78", "subtotal": ""}],
            }
        ],
        fee_lines=[
            {
                "name": "Nachnahmegebühr",
                "total": "2.00",
                "total_tax": "0.38",
                "taxes": [{"id": 1, "total": "0.38"}],
            },
            {
                "name": "Treuerabatt",
                "total": "-5.00",
                "total_tax": "-0.95",
                "taxes": [{"id": 1, "total": "-0.95"}],
            },
        ],
        coupon_lines=[{"code": "kaffee10", "discount": "12.50", "discount_tax": "2.08"}],
        # WooCommerce rounding tax at subtotal level: 73.11 @19 % → 13.89, 40.50 @7 % → 2.84
        total="130.34",
        total_tax="16.73",
    )
    priced = invoice_positions(woo_order(body))
    assert priced.net_gross == "NET"
    assert summary(priced) == [
        ("item", "Kaffee 1 kg", "3", "15.00", "7"),
        ("item", "Mühle", "1", "80.00", "19"),
        ("discount", "Rabatt 19 %", "1", "-8.00", "19"),
        ("discount", "Rabatt 7 %", "1", "-4.50", "7"),
        ("shipping", "DHL", "1", "4.11", "19"),
        ("fee", "Nachnahmegebühr", "1", "2.00", "19"),
        ("fee", "Treuerabatt", "1", "-5.00", "19"),
    ]
    assert billomat_total_gross(priced) == Decimal("130.34")


def test_net_invoice_can_differ_by_a_cent_from_a_shop_that_rounds_tax_per_line() -> None:
    # Two lines of 0.13 net at 19 %: the shop rounds 0.0247 → 0.02 twice (total 0.30),
    # Billomat rounds the group once: 0.26 → 0.0494 → 0.05 (total 0.31). The worker must
    # report this mismatch instead of sending the invoice.
    order = order_with_lines(
        line("Aufkleber A", "1", "0.13"),
        line("Aufkleber B", "1", "0.13"),
        gross=False,
        total="0.30",
    )
    priced = invoice_positions(order)
    assert billomat_total_gross(priced) == Decimal("0.31")
    assert billomat_total_gross(priced) != priced.expected_total_gross


def test_unit_price_that_does_not_reproduce_the_line_amount_becomes_one_line_amount() -> None:
    body = woo_body(
        prices_include_tax=False,
        line_items=[
            {
                "name": "Kaffeebecher",
                "quantity": 3,
                "subtotal": "10.00",
                "subtotal_tax": "1.90",
                "total": "10.00",
                "total_tax": "1.90",
                "taxes": [{"id": 1, "total": "1.9", "subtotal": "1.9"}],
            }
        ],
        total="11.90",
        total_tax="1.90",
    )
    priced = invoice_positions(woo_order(body))
    assert summary(priced) == [("item", "3 × Kaffeebecher", "1", "10.00", "19")]
    assert billomat_total_gross(priced) == Decimal("11.90")


def test_fractional_quantities_are_kept_or_written_the_german_way() -> None:
    order = order_with_lines(
        line("Stoff (m)", "1.5", "10.00"),
        line("Kordel (m)", "1.5", "3.33", "5.5"),
    )
    assert summary(invoice_positions(order)) == [
        ("item", "Stoff (m)", "1.5", "10.00", "19"),
        ("item", "1,5 × Kordel (m)", "1", "5.00", "5.5"),
    ]


def test_free_items_stay_but_free_shipping_and_empty_lines_are_dropped() -> None:
    order = order_with_lines(
        line("T-Shirt", "1", "19.90"),
        line("Gratis-Sticker", "2", "0.00"),
        line("Storniert", "0", "5.00"),
        line("Versandkostenfrei", "1", "0.00", kind="shipping"),
        line("Gebühr", "1", "0.00", kind="fee"),
        total="19.90",
    )
    priced = invoice_positions(order)
    assert [p.title for p in priced.positions] == ["T-Shirt", "Gratis-Sticker"]
    assert billomat_total_gross(priced) == Decimal("19.90")


def test_fully_discounted_shipping_shows_price_and_discount() -> None:
    order = order_with_lines(
        line("Buch", "1", "20.00", "7", discount=Decimal("2.00")),
        line("Versand", "1", "4.90", kind="shipping", discount=Decimal("4.90")),
        total="18.00",
    )
    assert summary(invoice_positions(order)) == [
        ("item", "Buch", "1", "20.00", "7"),
        ("discount", "Rabatt 19 %", "1", "-4.90", "19"),
        ("discount", "Rabatt 7 %", "1", "-2.00", "7"),
        ("shipping", "Versand", "1", "4.90", "19"),
    ]


@pytest.mark.parametrize(("rate", "title"), [("20", "Rabatt 20 %"), ("21", "Rabatt 21 %"),
                                             ("10", "Rabatt 10 %"), ("5.5", "Rabatt 5,5 %"),
                                             ("0", "Rabatt 0 %")])  # fmt: skip
def test_discounts_of_other_eu_rates_are_titled_with_their_rate(rate: str, title: str) -> None:
    order = order_with_lines(line("Ware", "1", "100.00", rate, discount=Decimal("10.00")))
    discount = invoice_positions(order).positions[1]
    assert (discount.title, discount.tax_rate, discount.unit_price) == (
        title,
        Decimal(rate),
        Decimal("-10.00"),
    )


def test_gross_total_sums_each_tax_group_and_net_total_adds_rounded_group_tax() -> None:
    positions = [
        InvoicePosition("A", Decimal(3), Decimal("3.33"), Decimal(19), None, "item"),
        InvoicePosition("B", Decimal(1), Decimal("1.05"), Decimal(7), None, "item"),
        InvoicePosition("Rabatt 19 %", Decimal(1), Decimal("-1.00"), Decimal(19), None, "discount"),
    ]
    gross = PricedInvoice(net_gross="GROSS", positions=positions)
    net = PricedInvoice(net_gross="NET", positions=positions)
    assert billomat_total_gross(gross) == Decimal("10.04")
    # 19 %: 8.99 + 1.7081 → 1.71; 7 %: 1.05 + 0.0735 → 0.07
    assert billomat_total_gross(net) == Decimal("11.82")


# ---------------------------------------------------------------------------- properties

cents = st.integers
rates = st.sampled_from(RATES)


@st.composite
def shopify_gross_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A Shopify order with taxes included: random items, discounts, shipping."""
    items: list[dict[str, Any]] = []
    total = 0
    for _ in range(draw(st.integers(1, 6))):
        quantity = draw(st.integers(1, 20))
        price = draw(cents(0, 100_000))
        rate = draw(rates)
        discount = draw(cents(0, quantity * price))
        allocations = []
        if discount:
            first = draw(cents(0, discount))
            allocations = [
                {"amount": str(Decimal(first) * CENT), "discount_application_index": 0},
                {"amount": str(Decimal(discount - first) * CENT), "discount_application_index": 1},
            ]
        items.append(
            {
                "title": f"Artikel {len(items) + 1}",
                "quantity": quantity,
                "price": str(Decimal(price) * CENT),
                "taxable": rate != 0,
                "discount_allocations": allocations,
                "tax_lines": [{"rate": rate / 100, "price": "0.00"}] if rate else [],
            }
        )
        total += quantity * price - discount
    shipping_lines = []
    for _ in range(draw(st.integers(0, 2))):
        price = draw(cents(0, 3_000))
        rate = draw(rates)
        discount = draw(cents(0, price))
        shipping_lines.append(
            {
                "title": "Versand",
                "price": str(Decimal(price) * CENT),
                "discounted_price": str(Decimal(price - discount) * CENT),
                "tax_lines": [{"rate": rate / 100, "price": "0.00"}],
            }
        )
        total += price - discount
    body = shopify_fixture()
    body.update(
        line_items=items,
        shipping_lines=shipping_lines,
        total_price=str(Decimal(total) * CENT),
        total_tax="0.00",
        currency=draw(st.sampled_from(["EUR", "CHF", "USD"])),
    )
    return body


@settings(max_examples=200, deadline=None)
@given(shopify_gross_orders())
def test_gross_shopify_orders_keep_their_total_to_the_cent(body: dict[str, Any]) -> None:
    order = shopify_order(body)
    priced = invoice_positions(order)
    assert priced.net_gross == "GROSS"
    assert billomat_total_gross(priced) == order.total
    assert all(p.unit_price == p.unit_price.quantize(CENT) for p in priced.positions)


def _woo_tax_lines(used: set[int]) -> list[dict[str, Any]]:
    return [
        {"id": 100 + rate, "rate_id": rate + 1000, "rate_percent": rate} for rate in sorted(used)
    ]


def _woo_taxes(rate: int, total_tax: Decimal, subtotal_tax: Decimal | str) -> list[dict[str, Any]]:
    return [{"id": rate + 1000, "total": str(total_tax), "subtotal": str(subtotal_tax)}]


@st.composite
def woo_net_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A WooCommerce order with net prices whose shop rounds tax once per tax group."""
    group_net: defaultdict[int, Decimal] = defaultdict(Decimal)
    items: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 6))):
        quantity = draw(st.integers(1, 20))
        subtotal = Decimal(draw(cents(0, 200_000))) * CENT
        total = subtotal - Decimal(draw(cents(0, int(subtotal * 100)))) * CENT
        rate = draw(rates)
        items.append(
            {
                "name": f"Artikel {index}",
                "quantity": quantity,
                "subtotal": str(subtotal),
                "subtotal_tax": str(tax_on_net(subtotal, Decimal(rate))),
                "total": str(total),
                "total_tax": str(tax_on_net(total, Decimal(rate))),
                "taxes": _woo_taxes(
                    rate, tax_on_net(total, Decimal(rate)), tax_on_net(subtotal, Decimal(rate))
                ),
                "price": float(total / quantity),
            }
        )
        group_net[rate] += total
    charges: dict[str, list[dict[str, Any]]] = {"shipping_lines": [], "fee_lines": []}
    for kind, low in (("shipping_lines", 0), ("fee_lines", -2_000)):
        for _ in range(draw(st.integers(0, 2))):
            net = Decimal(draw(cents(low, 2_000))) * CENT
            rate = draw(rates)
            tax = tax_on_net(net, Decimal(rate))
            title = {"method_title": "Versand"} if kind == "shipping_lines" else {"name": "Gebühr"}
            charges[kind].append(
                {
                    **title,
                    "total": str(net),
                    "total_tax": str(tax),
                    "taxes": _woo_taxes(rate, tax, ""),
                }
            )
            group_net[rate] += net
    group_tax = {rate: tax_on_net(net, Decimal(rate)) for rate, net in group_net.items()}
    total_tax = sum(group_tax.values(), Decimal(0))
    # A negative fee may discount the order, but never below zero (the intake refuses that).
    assume(total_tax >= 0 and sum(group_net.values(), Decimal(0)) + total_tax >= 0)
    return woo_body(
        prices_include_tax=False,
        line_items=items,
        tax_lines=_woo_tax_lines(set(group_net)),
        total=str(sum(group_net.values(), Decimal(0)) + total_tax),
        total_tax=str(total_tax),
        **charges,
    )


@settings(max_examples=200, deadline=None)
@given(woo_net_orders())
def test_net_woocommerce_orders_taxed_per_group_keep_their_total_to_the_cent(
    body: dict[str, Any],
) -> None:
    order = woo_order(body)
    priced = invoice_positions(order)
    assert priced.net_gross == "NET"
    assert billomat_total_gross(priced) == order.total


@st.composite
def woo_gross_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A WooCommerce order with prices entered gross (lines still sent net + tax)."""
    items: list[dict[str, Any]] = []
    total = Decimal(0)
    for index in range(draw(st.integers(1, 6))):
        quantity = draw(st.integers(1, 20))
        gross_before = quantity * Decimal(draw(cents(0, 50_000))) * CENT
        gross_after = gross_before - Decimal(draw(cents(0, int(gross_before * 100)))) * CENT
        rate = Decimal(draw(rates))
        subtotal, total_net = net_from_gross(gross_before, rate), net_from_gross(gross_after, rate)
        items.append(
            {
                "name": f"Artikel {index}",
                "quantity": quantity,
                "subtotal": str(subtotal),
                "subtotal_tax": str(gross_before - subtotal),
                "total": str(total_net),
                "total_tax": str(gross_after - total_net),
                "taxes": _woo_taxes(int(rate), gross_after - total_net, gross_before - subtotal),
            }
        )
        total += gross_after
    return woo_body(
        line_items=items,
        tax_lines=_woo_tax_lines(set(RATES)),
        total=str(total),
        total_tax="0.00",
    )


@settings(max_examples=100, deadline=None)
@given(woo_gross_orders())
def test_gross_woocommerce_orders_keep_their_total_to_the_cent(body: dict[str, Any]) -> None:
    order = woo_order(body)
    priced = invoice_positions(order)
    assert priced.net_gross == "GROSS"
    assert billomat_total_gross(priced) == order.total
    assert [p.title for p in priced.positions if p.kind == "item"] == [
        item["name"] for item in body["line_items"]
    ]


positions = st.lists(
    st.builds(
        InvoicePosition,
        title=st.just("X"),
        quantity=st.integers(1, 20).map(Decimal),
        unit_price=st.integers(-50_000, 50_000).map(lambda c: Decimal(c) * CENT),
        tax_rate=st.sampled_from(RATES).map(Decimal),
        sku=st.none(),
        kind=st.just("item"),
    ),
    min_size=1,
    max_size=10,
)


@given(positions, st.booleans())
def test_predicted_total_matches_the_local_billomat_sandbox(
    items: list[InvoicePosition], gross: bool
) -> None:
    sandbox = pytest.importorskip("local.billomat_sandbox.document_totals")
    totals = sandbox.calculate_totals(
        [sandbox.LineInput(p.quantity, p.unit_price, p.tax_rate) for p in items],
        gross_prices=gross,
    )
    priced = PricedInvoice(net_gross="GROSS" if gross else "NET", positions=items)
    assert billomat_total_gross(priced) == totals.total_gross
