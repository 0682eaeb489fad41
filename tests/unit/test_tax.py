"""VAT rates and the rule that picks them: German and EU rates, rates read and inferred from a
shop's amounts, and which Billomat tax rule a buyer gets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.billomat.vocabulary import TaxRule
from autopilot.money import CENT, tax_on_net
from autopilot.tax import (
    EU_VAT_RATES,
    GERMAN_RATES,
    INFERABLE_RATES,
    MAX_INFERENCE_MISS,
    TaxCase,
    inferred_rate,
    rate_from_fractions,
    tax_treatment,
    vat_id_country,
)

D = Decimal

# ---------------------------------------------------------------------------- rates


def test_german_rates_are_19_7_and_0_percent() -> None:
    assert GERMAN_RATES.standard == D(19)
    assert GERMAN_RATES.all == (D(19), D(7), D(0))
    assert EU_VAT_RATES["DE"] is GERMAN_RATES


@pytest.mark.parametrize(
    ("country", "standard", "reduced"),
    [
        ("AT", "20", ("13", "10", "4.9")),  # 4.9 % for basic food from 1 July 2026
        ("FR", "20", ("10", "5.5", "2.1")),
        ("NL", "21", ("9",)),
        ("DK", "25", ()),
        ("FI", "25.5", ("13.5", "10")),
        ("HU", "27", ("18", "5")),
        ("LU", "17", ("14", "8", "3")),
        ("GR", "24", ("13", "6")),
        ("RO", "21", ("11",)),
        ("EE", "24", ("13", "9")),
        ("CY", "19", ("9", "5", "3")),  # 3 % since July 2023
        ("LT", "21", ("12", "5")),  # 12 % instead of 9 % from 1 January 2026
        ("MT", "18", ("12", "7", "5")),  # 12 % since January 2024
        ("IE", "23", ("13.5", "9", "4.8")),
        ("SK", "23", ("19", "5")),
    ],
)
def test_eu_table_holds_each_member_states_standard_and_reduced_rates(
    country: str, standard: str, reduced: tuple[str, ...]
) -> None:
    rates = EU_VAT_RATES[country]
    assert rates.standard == D(standard)
    assert rates.reduced == tuple(D(rate) for rate in reduced)


def test_eu_table_has_the_27_member_states_and_plausible_rates() -> None:
    assert len(EU_VAT_RATES) == 27
    for country, rates in EU_VAT_RATES.items():
        assert country == country.upper()
        assert len(country) == 2
        # VAT directive: a standard rate of at least 15 %; reduced rates below it, highest first.
        assert rates.standard >= 15
        assert all(rate < rates.standard for rate in rates.reduced)
        assert list(rates.reduced) == sorted(rates.reduced, reverse=True)


@pytest.mark.parametrize(
    ("country", "rate", "known"),
    [("DE", "7.00", True), ("DE", "0", True), ("DE", "16", False), ("FR", "5.5", True)],
)
def test_a_rate_is_known_in_any_spelling(country: str, rate: str, known: bool) -> None:
    assert EU_VAT_RATES[country].knows(D(rate)) is known


def test_inference_snaps_to_every_standard_and_german_rate() -> None:
    standard = {rates.standard for rates in EU_VAT_RATES.values()}
    assert standard | set(GERMAN_RATES.all) <= set(INFERABLE_RATES)
    assert list(INFERABLE_RATES) == sorted(INFERABLE_RATES)


# ---------------------------------------------------------------------------- a line's rate


@pytest.mark.parametrize(
    ("fractions", "taxable", "rate"),
    [
        (["0.19"], True, "19"),
        (["0.07"], None, "7"),
        (["0.055"], True, "5.5"),
        (["0.05", "0.09975"], True, "14.98"),  # Québec: GST + QST on one line
        ([], True, "0"),  # a gift card: no tax lines
        (["0.19"], False, "0"),  # taxable: false wins over stray tax lines
    ],
)
def test_a_lines_rate_is_the_sum_of_its_tax_fractions(
    fractions: list[str], taxable: bool | None, rate: str
) -> None:
    assert rate_from_fractions((D(f) for f in fractions), taxable=taxable) == D(rate)


@pytest.mark.parametrize(
    ("net", "tax", "preferred", "rate"),
    [
        ("100.00", "19.00", (), "19"),
        ("100.00", "7.00", (), "7"),
        ("4.11", "0.78", (), "19"),
        ("10.00", "0.00", (), "0"),
        ("100.00", "25.50", (), "25.5"),
        ("100.00", "8.10", (), "8.1"),
        # 0.02 on 0.10 is exact for every rate from 15 % to 24 %: the lowest known one wins …
        ("0.10", "0.02", (), "15"),
        # … unless the order names one of them (its first one first).
        ("0.10", "0.02", (D(19),), "19"),
        ("0.10", "0.02", (D(21), D(19)), "21"),
        # An exact known rate beats a preferred rate a cent off.
        ("1.00", "0.20", (D(19),), "20"),
    ],
)
def test_a_rate_is_inferred_from_net_and_tax(
    net: str, tax: str, preferred: tuple[Decimal, ...], rate: str
) -> None:
    assert inferred_rate(D(net), D(tax), preferred) == D(rate)


@pytest.mark.parametrize(
    ("net", "tax"),
    [("0.00", "0.00"), ("0.00", "1.00"), ("100.00", "1.00"), ("100.00", "11.00")],
)
def test_no_rate_is_inferred_when_none_fits(net: str, tax: str) -> None:
    assert inferred_rate(D(net), D(tax)) is None


amounts = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@given(net=amounts, rate=st.sampled_from(INFERABLE_RATES))
def test_an_inferred_rate_always_reproduces_the_tax_within_a_cent(
    net: Decimal, rate: Decimal
) -> None:
    tax = tax_on_net(net, rate)
    found = inferred_rate(net, tax)
    assert found is not None
    assert abs(tax_on_net(net, found) - tax) <= MAX_INFERENCE_MISS


@given(net=amounts, rate=st.sampled_from(INFERABLE_RATES))
def test_the_orders_own_rate_is_inferred_for_its_own_tax(net: Decimal, rate: Decimal) -> None:
    assert inferred_rate(net, tax_on_net(net, rate), [rate]) == rate


@given(net=amounts, tax=amounts)
def test_an_inferred_rate_is_a_known_or_preferred_one(net: Decimal, tax: Decimal) -> None:
    found = inferred_rate(net, tax, [D("42")])
    assert found is None or found in (*INFERABLE_RATES, D(42))
    assert found is None or abs(tax_on_net(net, found) - tax) <= CENT


# ---------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("vat_id", "country"),
    [
        ("ATU12345678", "AT"),
        ("atu 123 456 78", "AT"),
        ("DE123456789", "DE"),
        ("FR-12.345678901", "FR"),
        ("EL123456789", "GR"),
        ("CHE-123.456.789", None),  # Switzerland: not an EU VAT ID
        ("GB123456789", None),
        ("12345678", None),
        ("", None),
        (None, None),
    ],
)
def test_a_vat_id_names_the_member_state_that_issued_it(
    vat_id: str | None, country: str | None
) -> None:
    assert vat_id_country(vat_id) == country


@pytest.mark.parametrize(
    ("buyer_country", "vat_id", "uses_oss", "case", "rule", "rates_of"),
    [
        # Domestic: German rates, whether or not the buyer is a business.
        ("DE", None, True, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        ("de", "DE123456789", True, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        ("DE", "ATU12345678", True, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        # Without a country there is no proof of a tax-free sale: taxed at home.
        (None, "ATU12345678", True, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        ("", None, False, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        # EU business with a VAT ID of another member state: reverse charge, no tax.
        ("AT", "ATU12345678", True, TaxCase.REVERSE_CHARGE, TaxRule.NO_TAX, None),
        ("FR", "FR12345678901", False, TaxCase.REVERSE_CHARGE, TaxRule.NO_TAX, None),
        ("GR", "EL123456789", True, TaxCase.REVERSE_CHARGE, TaxRule.NO_TAX, None),
        # A German VAT ID does not make a sale abroad tax-free.
        ("AT", "DE123456789", True, TaxCase.OSS, TaxRule.TAX, "AT"),
        # EU consumer: the destination's rates under OSS, else home rates.
        ("AT", None, True, TaxCase.OSS, TaxRule.TAX, "AT"),
        ("FR", "not a vat id", True, TaxCase.OSS, TaxRule.TAX, "FR"),
        ("AT", None, False, TaxCase.DOMESTIC, TaxRule.TAX, "DE"),
        # Outside the EU: export, no tax, VAT ID or not.
        ("CH", None, True, TaxCase.EXPORT, TaxRule.NO_TAX, None),
        ("US", "ATU12345678", False, TaxCase.EXPORT, TaxRule.NO_TAX, None),
        ("GB", None, True, TaxCase.EXPORT, TaxRule.NO_TAX, None),
    ],
)
def test_the_buyer_decides_the_tax_rule_and_the_rates(
    buyer_country: str | None,
    vat_id: str | None,
    uses_oss: bool,
    case: TaxCase,
    rule: TaxRule,
    rates_of: str | None,
) -> None:
    treatment = tax_treatment(buyer_country, vat_id, uses_oss=uses_oss)
    assert (treatment.case, treatment.tax_rule) == (case, rule)
    assert treatment.rates == (EU_VAT_RATES[rates_of] if rates_of else None)


countries = st.sampled_from([*EU_VAT_RATES, "CH", "US", "NO", "GB", "EL", "", "xx"])
vat_ids = st.one_of(st.none(), st.text(max_size=20), countries.map(lambda c: f"{c}123456789"))


@given(buyer=st.one_of(st.none(), countries), vat_id=vat_ids, uses_oss=st.booleans())
def test_every_sale_is_taxed_exactly_when_the_rule_says_tax(
    buyer: str | None, vat_id: str | None, uses_oss: bool
) -> None:
    treatment = tax_treatment(buyer, vat_id, uses_oss=uses_oss)
    assert treatment.tax_rule in (TaxRule.TAX, TaxRule.NO_TAX)
    assert (treatment.rates is not None) == (treatment.tax_rule is TaxRule.TAX)
    assert (treatment.case in (TaxCase.REVERSE_CHARGE, TaxCase.EXPORT)) == (
        treatment.tax_rule is TaxRule.NO_TAX
    )
    if not buyer or buyer.upper() == "DE":
        assert treatment.case is TaxCase.DOMESTIC
