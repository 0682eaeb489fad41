"""Money and tax arithmetic: exact decimals, half-up cents, percent rates, exact allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.money import (
    CENT,
    allocate,
    compact_german_amount,
    german_amount,
    german_number,
    german_plain,
    gross_from_net,
    net_from_gross,
    normalize_rate,
    parse_amount,
    plain_decimal,
    rate_from_fraction,
    tax_on_net,
    to_cents,
)


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("2.675", "2.68"),
        ("-2.675", "-2.68"),
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("19", "19.00"),
    ],
)
def test_amounts_round_half_up_to_cents(amount: str, cents: str) -> None:
    assert str(to_cents(Decimal(amount))) == cents


def test_shop_strings_and_json_numbers_become_exact_decimals() -> None:
    assert parse_amount("59.50") == Decimal("59.50")
    assert str(parse_amount(" 59.50 ")) == "59.50"
    assert parse_amount(50) == Decimal(50)
    assert parse_amount(Decimal("1.005")) == Decimal("1.005")
    # JSON floats are read through their shortest text, not their binary value.
    assert str(parse_amount(0.19)) == "0.19"
    assert str(parse_amount(16.81)) == "16.81"
    assert parse_amount("1e2") == Decimal(100)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "NaN", "nan", "Infinity", "-inf", "1,50", "1_000", "12.5 EUR", "--1"],
)
def test_non_numeric_amount_text_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="decimal number"):
        parse_amount(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Inf")])
def test_nan_and_infinity_are_refused(value: float | Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        parse_amount(value)


@pytest.mark.parametrize("value", [True, None, [1], {"amount": 1}])
def test_non_amount_types_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(value)  # type: ignore[arg-type]


BOUND = Decimal("1e15")


@given(st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: abs(d) < BOUND))
def test_parse_amount_round_trips_decimal_text(amount: Decimal) -> None:
    parsed = parse_amount(str(amount))
    assert parsed == amount
    assert str(parsed) == str(amount)


@given(st.floats(min_value=-1e14, max_value=1e14, allow_nan=False))
def test_parse_amount_reads_floats_by_their_shortest_text(number: float) -> None:
    assert parse_amount(number) == Decimal(repr(number))


@pytest.mark.parametrize(
    "value", ["1e30", "1E+28", "-1e15", 1e300, 10**20, "1" * 101, "١٢", "1e99999"]
)
def test_parse_amount_refuses_what_cent_arithmetic_cannot_hold(value: object) -> None:
    with pytest.raises(ValueError, match=r"amount|decimal number"):
        parse_amount(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", ["1e30", "-1", "100.01", 1e300])
def test_rates_outside_0_to_100_are_refused_without_arithmetic_errors(rate: object) -> None:
    with pytest.raises(ValueError, match=r"rate|amount"):
        normalize_rate(rate)  # type: ignore[arg-type]


@pytest.mark.parametrize("fraction", ["19", "1.01", "-0.01", "1e30"])
def test_fractions_outside_0_to_1_are_refused(fraction: str) -> None:
    with pytest.raises(ValueError, match=r"fraction|amount"):
        rate_from_fraction(fraction)


@pytest.mark.parametrize(
    ("fraction", "percent"),
    [(0.19, "19"), (0.07, "7"), ("0.055", "5.5"), (0.2, "20"), (0.1, "10"), (0, "0"), (0.21, "21")],
)
def test_shopify_fractions_become_percent_rates(fraction: float | str, percent: str) -> None:
    rate = rate_from_fraction(fraction)
    assert str(rate) == percent
    assert rate == Decimal(percent)


def test_rates_are_normalised_to_at_most_two_decimals() -> None:
    assert str(normalize_rate("19.00")) == "19"
    assert str(normalize_rate(19.0)) == "19"
    assert str(normalize_rate("8.875")) == "8.88"
    assert str(normalize_rate("5.50")) == "5.5"
    assert str(rate_from_fraction("0.14975")) == "14.98"


@pytest.mark.parametrize("rate", ["-1", "100.01", "1900"])
def test_rates_outside_zero_to_hundred_percent_are_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        normalize_rate(rate)


def test_plain_decimal_never_uses_exponent_form() -> None:
    assert str(plain_decimal(Decimal("20.00"))) == "20"
    assert str(plain_decimal(Decimal("100"))) == "100"
    assert str(plain_decimal(Decimal("0.00"))) == "0"
    assert str(plain_decimal(Decimal("1.250"))) == "1.25"


def test_net_and_gross_conversions_round_to_cents() -> None:
    assert net_from_gross(Decimal("119.00"), Decimal(19)) == Decimal("100.00")
    assert net_from_gross(Decimal("4.89"), Decimal(19)) == Decimal("4.11")
    assert gross_from_net(Decimal("100"), Decimal(7)) == Decimal("107.00")
    assert gross_from_net(Decimal("4.11"), Decimal(19)) == Decimal("4.89")
    assert tax_on_net(Decimal("0.26"), Decimal(19)) == Decimal("0.05")


def test_allocation_gives_left_over_cents_to_the_largest_remainders() -> None:
    assert allocate(Decimal("10.00"), [Decimal(1)] * 3) == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    assert allocate(Decimal("1.00"), [Decimal(1), Decimal(2)]) == [Decimal("0.33"), Decimal("0.67")]
    assert allocate(Decimal("-10.00"), [Decimal(1)] * 3) == [
        Decimal("-3.34"),
        Decimal("-3.33"),
        Decimal("-3.33"),
    ]


def test_allocation_over_zero_weights_splits_evenly() -> None:
    assert allocate(Decimal("0.05"), [Decimal(0), Decimal(0)]) == [Decimal("0.03"), Decimal("0.02")]


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        (Decimal("1.005"), [Decimal(1)]),
        (Decimal("1.00"), []),
        (Decimal("1.00"), [Decimal(1), Decimal(-1)]),
    ],
)
def test_allocation_refuses_fractional_cents_and_bad_weights(
    total: Decimal, weights: list[Decimal]
) -> None:
    with pytest.raises(ValueError, match="allocat"):
        allocate(total, weights)


cents = st.integers(min_value=-10_000_000, max_value=10_000_000).map(lambda c: Decimal(c) * CENT)
weights = st.lists(
    st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=25,
)


@given(cents, weights)
def test_allocation_sums_exactly_and_stays_within_a_cent_of_the_share(
    total: Decimal, shares: list[Decimal]
) -> None:
    parts = allocate(total, shares)
    assert sum(parts, Decimal(0)) == total
    assert len(parts) == len(shares)
    weight_sum = sum(shares, Decimal(0))
    for part, weight in zip(parts, shares, strict=True):
        assert to_cents(part) == part
        if weight_sum:
            assert abs(part - total * weight / weight_sum) < CENT


# -- German notation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1190", "EUR", "1.190,00 EUR"),
        ("0.5", "USD", "0,50 USD"),
        ("2.675", "EUR", "2,68 EUR"),
        ("-1234567.891", "EUR", "-1.234.567,89 EUR"),
        ("999.995", "EUR", "1.000,00 EUR"),
        ("1E+5", "CHF", "100.000,00 CHF"),
        ("-0.004", "EUR", "0,00 EUR"),  # no "-0,00"
    ],
)
def test_amounts_are_written_the_german_way(amount: str, currency: str, text: str) -> None:
    assert german_amount(Decimal(amount), currency) == text


def test_the_report_writes_the_same_amount_with_a_symbol_and_a_no_break_space() -> None:
    assert german_amount(Decimal("12345.6"), "€", space="\u00a0") == "12.345,60\u00a0€"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("850", "850 €"),
        ("12499.5", "12.500 €"),
        ("999999.99", "1.000.000 €"),
        ("1000000", "1,0 Mio. €"),
        ("1250000", "1,3 Mio. €"),
        ("-2500000", "-2,5 Mio. €"),
    ],
)
def test_compact_amounts_drop_the_cents_and_count_millions(amount: str, text: str) -> None:
    assert compact_german_amount(Decimal(amount), "€") == text


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(0, 0, "0"), (1000, 0, "1.000"), (Decimal("-0.04"), 1, "0,0"), (Decimal("12.25"), 1, "12,3")],
)
def test_german_numbers_group_thousands_and_round_half_up(
    value: Decimal | int, decimals: int, text: str
) -> None:
    assert german_number(value, decimals) == text


def read_german(text: str) -> Decimal:
    """A German-written number read back (the inverse the tests check against)."""
    return Decimal(text.replace(".", "").replace(",", "."))


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False
)


@given(amounts)
def test_a_written_amount_reads_back_as_the_amount_in_cents(amount: Decimal) -> None:
    number, currency = german_amount(amount, "EUR").split(" ")
    assert currency == "EUR"
    assert read_german(number) == to_cents(amount)


@given(amounts, st.integers(min_value=0, max_value=3))
def test_digits_are_grouped_in_threes_before_one_decimal_comma(
    amount: Decimal, decimals: int
) -> None:
    text = german_number(amount, decimals)
    whole, comma, fraction = text.removeprefix("-").partition(",")
    assert bool(comma) == (decimals > 0)
    assert len(fraction) == decimals
    assert fraction.isdigit() or not fraction
    first, *groups = whole.split(".")
    assert 1 <= len(first) <= 3
    assert first == "0" or not first.startswith("0")
    assert all(len(group) == 3 and group.isdigit() for group in groups)
    assert text.startswith("-") == (read_german(text) < 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [("19", "19"), ("19.00", "19"), ("5.5", "5,5"), ("1.250", "1,25"), ("10", "10"), ("0", "0")],
)
def test_a_rate_or_quantity_is_written_as_exact_as_it_is_with_a_decimal_comma(
    value: str, text: str
) -> None:
    assert german_plain(Decimal(value)) == text


@given(st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False))
def test_german_plain_reads_back_as_the_same_number(value: Decimal) -> None:
    text = german_plain(value)
    assert "E" not in text
    assert "." not in text
    assert Decimal(text.replace(",", ".")) == value
