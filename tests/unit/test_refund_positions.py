"""A refund's credit-note positions: matched tax rates, shipping, the proportional split."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from refund_credit.positions import (
    InvoiceLine,
    credit_positions,
    exceeds_invoice,
    gross_per_rate,
    sku_of,
)

from autopilot.messages import ShopCancellationMessage, ShopRefundMessage, parse_message
from autopilot.shop_refunds import RefundLine, ShopCancellation, ShopRefund

D = Decimal
INVOICE = [
    InvoiceLine("Kaffeebohnen 1 kg", "COF-1", D(7), D("39.80")),
    InvoiceLine("Kaffeemühle", "GRN-2", D(19), D("89.00")),
    InvoiceLine("Rabatt", None, D(19), D("-9.00")),
    InvoiceLine("Standardversand", None, D(19), D("4.90")),
]


def refund(**changes: Any) -> ShopRefund:
    fields: dict[str, Any] = {
        "source": "shopify",
        "shop": "demo-shop.myshopify.com",
        "order_id": "1001",
        "refund_id": "77",
        "created_at": dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC),
        "amount": D("19.90"),
        "currency": "EUR",
        "gateway": "shopify_payments",
    }
    fields.update(changes)
    return ShopRefund(**fields)


def test_lines_take_the_tax_rate_of_their_invoice_position() -> None:
    result = credit_positions(
        refund(
            lines=[
                RefundLine(title="Kaffeebohnen 1 kg", sku="COF-1", quantity=D(1), amount=D("19.90"))
            ]
        ),
        INVOICE,
        "Bestellung #1001",
    )
    assert result.problem is None
    assert not result.split
    (position,) = result.positions
    assert (position.quantity, position.unit_price, position.tax_rate) == (D(1), D("19.90"), D(7))
    assert result.total == D("19.90")


def test_the_invoice_rate_wins_over_the_shops_and_title_matches_without_sku() -> None:
    line = RefundLine(title="Kaffeemühle", quantity=D(1), amount=D(89), tax_rate=D(7))
    result = credit_positions(refund(amount=D(89), lines=[line]), INVOICE, "x")
    assert result.positions[0].tax_rate == D(19)


def test_shipping_is_credited_at_the_main_rate() -> None:
    line = RefundLine(title="Kaffeemühle", sku="GRN-2", quantity=D(2), amount=D("178.00"))
    result = credit_positions(
        refund(amount=D("182.90"), lines=[line], shipping=D("4.90")), INVOICE, "x"
    )
    assert [(p.title, p.quantity, p.unit_price, p.tax_rate) for p in result.positions] == [
        ("Kaffeemühle", D(2), D(89), D(19)),
        ("Versandkosten", D(1), D("4.90"), D(19)),
    ]
    assert result.total == D("182.90")


def test_a_unit_price_that_is_not_whole_cents_becomes_one_position_of_the_amount() -> None:
    line = RefundLine(title="Kaffeemühle", sku="GRN-2", quantity=D(3), amount=D("100.00"))
    (position,) = credit_positions(refund(amount=D(100), lines=[line]), INVOICE, "x").positions
    assert (position.title, position.quantity, position.unit_price) == (
        "3 × Kaffeemühle",
        D(1),
        D(100),
    )


def test_an_unknown_line_with_several_invoice_rates_is_a_problem() -> None:
    line = RefundLine(title="Etwas anderes", quantity=D(1), amount=D(5))
    assert credit_positions(refund(amount=D(5), lines=[line]), INVOICE, "x").problem


def test_an_amount_only_refund_is_split_in_proportion_to_the_gross_per_rate() -> None:
    result = credit_positions(refund(amount=D("50.00")), INVOICE, "Bestellung #1001")
    assert result.split
    assert result.problem is None
    # 7 %: 39.80, 19 %: 89.00 - 9.00 + 4.90 = 84.90 → 50 × 84.90/124.70 = 34.04...
    assert {p.tax_rate: p.unit_price for p in result.positions} == {
        D(19): D("34.04"),
        D(7): D("15.96"),
    }
    assert result.total == D("50.00")
    assert all("(" in p.title for p in result.positions)


def test_gross_per_rate_and_sku() -> None:
    assert gross_per_rate(INVOICE) == {D(19): D("84.90"), D(7): D("39.80")}
    assert sku_of("Artikel-Nr. COF-1") == "COF-1"
    assert sku_of("something") is None


def test_contract_refuses_fractions_of_cents_and_negative_amounts() -> None:
    with pytest.raises(ValidationError):
        refund(amount=D("1.001"))
    with pytest.raises(ValidationError):
        refund(amount=D("-1"))


def test_messages_round_trip() -> None:
    message = ShopRefundMessage(topic="refunds/create", refund=refund())
    assert parse_message(message.model_dump_json()) == message
    assert message.correlation_id == "shopify:demo-shop.myshopify.com:refund:77"
    cancellation = ShopCancellationMessage(
        cancellation=ShopCancellation(
            source="woocommerce",
            shop="shop.example.de",
            order_id="4711",
            cancelled_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
        )
    )
    assert parse_message(cancellation.model_dump_json()) == cancellation


# ------------------------------------------------------------------ properties

rates = st.sampled_from([D(0), D(7), D(19), D("5.5"), D(20)])
cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: D(c) / 100)
invoices = st.lists(
    st.builds(
        lambda r, g, i: InvoiceLine(f"Artikel {i}", f"SKU-{i}", r, g),
        rates,
        cents,
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(invoice=invoices, share=st.fractions(min_value=0, max_value=1))
def test_split_credit_note_total_equals_the_refund(invoice: list[InvoiceLine], share: Any) -> None:
    total = sum((line.gross for line in invoice), D(0))
    amount = (D(int(total * 100 * share.numerator / share.denominator))) / 100
    result = credit_positions(refund(amount=amount), invoice, "x")
    assert result.problem is None
    assert result.total == amount
    assert all(p.amount > 0 for p in result.positions)
    assert len({p.tax_rate for p in result.positions}) == len(result.positions)


@settings(max_examples=300, deadline=None)
@given(
    invoice=invoices,
    picks=st.lists(st.tuples(st.integers(0, 7), st.integers(1, 5), cents), min_size=1, max_size=6),
    shipping=st.integers(0, 2000).map(lambda c: D(c) / 100),
)
def test_itemised_credit_note_total_equals_its_lines_and_shipping(
    invoice: list[InvoiceLine], picks: list[tuple[int, int, Decimal]], shipping: Decimal
) -> None:
    lines = [
        RefundLine(title=f"Artikel {i}", sku=f"SKU-{i}", quantity=D(q), amount=a)
        for i, q, a in picks
    ]
    amount = sum((line.amount for line in lines), D(0)) + shipping
    result = credit_positions(refund(amount=amount, lines=lines, shipping=shipping), invoice, "x")
    if result.problem is None:
        assert result.total == amount
        by_sku: dict[str | None, Decimal] = {}
        for invoice_line in invoice:  # the first position of a SKU is the one matched
            by_sku.setdefault(invoice_line.sku, invoice_line.tax_rate)
        for line, position in zip(lines, result.positions, strict=False):
            if line.sku in by_sku:
                assert position.tax_rate == by_sku[line.sku]


@settings(max_examples=300, deadline=None)
@given(total=cents, refunds=st.lists(cents, max_size=10))
def test_the_sum_of_credit_notes_never_exceeds_the_invoice(
    total: Decimal, refunds: list[Decimal]
) -> None:
    credited = D(0)
    for amount in refunds:  # what the workflow does: refuse a refund that would exceed
        if not exceeds_invoice(total, credited, amount):
            credited += amount
        assert credited <= total
