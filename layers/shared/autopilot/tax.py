"""VAT rates and the rule that picks them: pure functions over plain values.

- **Rates.** :data:`GERMAN_RATES` (19 %, 7 %, and 0 % for what the law zero-rates) and
  :data:`EU_VAT_RATES`, every member state's standard and reduced rates for the OSS case of
  issue #12. A shop line's rate is read with :func:`rate_from_fractions` (Shopify) or, when a
  shop states only amounts, inferred with :func:`inferred_rate`, which snaps to the order's own
  rates first and then to :data:`INFERABLE_RATES`.
- **The rule.** :func:`tax_treatment` tells how a sale to a buyer is taxed and which Billomat
  :class:`~autopilot.billomat.vocabulary.TaxRule` the buyer's client gets: a domestic buyer is
  taxed at German rates; an EU business with a VAT ID of another member state is reverse
  charged (no tax); an EU consumer is taxed at the destination country's rates under OSS (or
  at German rates when the seller does not use OSS, below the EU-wide €10,000 threshold);
  a buyer outside the EU is an export (no tax).

Not wired yet: the order_invoice worker does not set ``ClientDraft.tax_rule`` from
:func:`tax_treatment` (that would change behaviour; issue #12 wires it). Until then new clients
get Billomat's default rule and every rate comes from the shop's own tax lines. Checking what a
shop actually charged against these rules (notes, holds) is :func:`autopilot.vat_rules.decide`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from autopilot.billomat.vocabulary import TaxRule
from autopilot.money import ZERO, normalize_rate, rate_from_fraction, tax_on_net

HOME_COUNTRY = "DE"
"""Where the seller is established (a German small business)."""


@dataclass(frozen=True, slots=True)
class VatRates:
    """One country's VAT rates in percent."""

    standard: Decimal
    reduced: tuple[Decimal, ...] = ()
    """Reduced, super-reduced and parking rates, highest first."""

    @property
    def all(self) -> tuple[Decimal, ...]:
        """Standard rate first, then the reduced ones, then 0 % (zero-rated supplies)."""
        return (self.standard, *self.reduced, ZERO)

    def knows(self, rate: Decimal) -> bool:
        """Whether ``rate`` (any spelling: ``7``, ``7.00``) is one of this country's rates."""
        return normalize_rate(rate) in self.all


def _rates(standard: str, *reduced: str) -> VatRates:
    return VatRates(Decimal(standard), tuple(Decimal(rate) for rate in reduced))


GERMAN_RATES = _rates("19", "7")
"""§12 UStG: 19 %, 7 % (food, books, …); 0 % (§12 (3): solar installations) is in ``all``."""

# Standard and reduced (incl. super-reduced and parking) rates per member state, ISO 3166 codes
# (Greece is GR here, EL in VAT IDs). /work/shared/reference/ has no rate table, so these are
# the well-known rates as of 1 July 2026: the European Commission's "VAT rates applied in the
# Member States of the European Union" (situation at 1 January 2025) with the changes enacted
# since (EE 24 % from 1 July 2025; RO 21 % and 11 % from 1 August 2025; FI 13.5 % instead of
# 14 % from 1 January 2026; LT 12 % instead of 9 % from 1 January 2026; AT 4.9 % for basic food
# from 1 July 2026) and rates that were missing here (CY 3 % since July 2023, MT 12 % since
# January 2024). Regional rates (Madeira and the Azores, some Greek islands) are not listed.
# Check them against the Commission's TEDB before relying on them for an OSS return; a change
# of rates is a change of this table only.
EU_VAT_RATES: Mapping[str, VatRates] = {
    "AT": _rates("20", "13", "10", "4.9"),
    "BE": _rates("21", "12", "6"),
    "BG": _rates("20", "9"),
    "CY": _rates("19", "9", "5", "3"),
    "CZ": _rates("21", "12"),
    "DE": GERMAN_RATES,
    "DK": _rates("25"),
    "EE": _rates("24", "13", "9"),
    "ES": _rates("21", "10", "4"),
    "FI": _rates("25.5", "13.5", "10"),
    "FR": _rates("20", "10", "5.5", "2.1"),
    "GR": _rates("24", "13", "6"),
    "HR": _rates("25", "13", "5"),
    "HU": _rates("27", "18", "5"),
    "IE": _rates("23", "13.5", "9", "4.8"),
    "IT": _rates("22", "10", "5", "4"),
    "LT": _rates("21", "12", "5"),
    "LU": _rates("17", "14", "8", "3"),
    "LV": _rates("21", "12", "5"),
    "MT": _rates("18", "12", "7", "5"),
    "NL": _rates("21", "9"),
    "PL": _rates("23", "8", "5"),
    "PT": _rates("23", "13", "6"),
    "RO": _rates("21", "11"),
    "SE": _rates("25", "12", "6"),
    "SI": _rates("22", "9.5", "5"),
    "SK": _rates("23", "19", "5"),
}

NORTHERN_IRELAND_RATES = _rates("20", "5")
"""The United Kingdom's rates, which Northern Ireland (VAT prefix ``XI``) charges on goods: for
goods it stays in the EU VAT area (Windsor Framework), so a consumer there is an OSS sale at
these rates and a business with an ``XI`` VAT ID can be supplied tax-free. Not a member state,
so not in :data:`EU_VAT_RATES`."""

INFERABLE_RATES: tuple[Decimal, ...] = tuple(
    Decimal(rate)
    for rate in (
        "0", "2.1", "2.6", "3", "3.8", "4", "5", "5.5", "6", "7", "8", "8.1", "9", "10", "12",
        "13", "13.5", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25",
        "25.5", "27",
    )
)  # fmt: skip
"""The rates an inferred line rate snaps to, lowest first (the first of equally close wins):
every EU standard rate and most reduced ones, rates of recent years still seen in shops (16 %,
15 %, 14 %) and Switzerland's (8.1 %, 3.8 %, 2.6 %). Kept exactly as the converters have used it
(issue #9 changes no behaviour); 4.8 %, 4.9 %, 9.5 % and 11 % of :data:`EU_VAT_RATES` are not
in it."""

MAX_INFERENCE_MISS = Decimal("0.01")
"""How far a line's stated tax may be from the tax at the inferred rate (shops round per line)."""


def rate_from_fractions(fractions: Iterable[Decimal], *, taxable: bool | None = True) -> Decimal:
    """Percent rate of a line taxed with these fractions (``0.19`` → 19): their sum; 0 % when
    the line is not taxable or has no tax at all (Shopify's gift cards, untaxed products)."""
    shares = list(fractions)
    if taxable is False or not shares:
        return ZERO
    return rate_from_fraction(sum(shares, ZERO))


def inferred_rate(net: Decimal, tax: Decimal, preferred: Iterable[Decimal] = ()) -> Decimal | None:
    """The rate whose tax on ``net`` is within a cent of ``tax``; None when none is, or when a
    zero net tells nothing. ``preferred`` (the order's own rates) win over
    :data:`INFERABLE_RATES` when both fit equally well."""
    if net == ZERO:
        return None
    candidates = [*dict.fromkeys(preferred), *INFERABLE_RATES]
    best: tuple[Decimal, int, Decimal] | None = None
    for position, rate in enumerate(candidates):
        ranked = (abs(tax_on_net(net, rate) - tax), position, rate)
        if best is None or ranked[:2] < best[:2]:
            best = ranked
    if best is None or best[0] > MAX_INFERENCE_MISS:
        return None
    return normalize_rate(best[2])


# --------------------------------------------------------------------------------------------
# Which treatment a sale gets
# --------------------------------------------------------------------------------------------


class TaxCase(StrEnum):
    """How a sale is taxed, from the seller's point of view."""

    DOMESTIC = "domestic"
    """Taxed at the seller's own rates (also EU consumers when the seller does not use OSS)."""
    REVERSE_CHARGE = "reverse_charge"
    """Intra-EU sale to a business with a VAT ID of another member state: the buyer owes it."""
    OSS = "oss"
    """Sale to a consumer in another member state, taxed at that state's rates (One-Stop-Shop)."""
    EXPORT = "export"
    """Sale to a buyer outside the EU: no German VAT."""


@dataclass(frozen=True, slots=True)
class TaxTreatment:
    """The decision for one buyer: the case, the Billomat client rule, the rates to charge."""

    case: TaxCase
    tax_rule: TaxRule
    rates: VatRates | None
    """The rates the invoice charges; None when it charges no tax."""
    country: str
    """The country whose rates apply (the seller's, the destination's) or the buyer's."""


_VAT_ID = re.compile(r"^([A-Z]{2})[0-9A-Z+*]{2,13}$")
_VAT_ID_NOISE = re.compile(r"[\s.\-/]")


def vat_id_country(vat_id: str | None) -> str | None:
    """The member state that issued a VAT ID (``ATU12345678`` → ``AT``, ``EL…`` → ``GR``), or
    None when it does not have a VAT ID's shape or comes from outside the EU.

    Only the shape is checked: whether the number is valid is a question for VIES.
    """
    text = _VAT_ID_NOISE.sub("", vat_id or "").upper()
    match = _VAT_ID.match(text)
    if match is None:
        return None
    country = country_code(match.group(1))
    return country if country in EU_VAT_RATES else None


def tax_treatment(
    buyer_country: str | None,
    buyer_vat_id: str | None,
    *,
    uses_oss: bool,
    seller_country: str = HOME_COUNTRY,
) -> TaxTreatment:
    """How a sale from ``seller_country`` to this buyer is taxed.

    Rules in order: an unknown buyer country counts as domestic (without proof of a tax-free
    sale, tax is due); the seller's own country → DOMESTIC (TAX, home rates); outside the EU →
    EXPORT (NO_TAX); a VAT ID issued by another member state than the seller's → REVERSE_CHARGE
    (NO_TAX); else an EU consumer → OSS at the destination's rates when the seller ``uses_oss``
    (over the threshold, or opted in), DOMESTIC at home rates otherwise (both TAX).
    """
    seller = country_code(seller_country) or HOME_COUNTRY
    home = EU_VAT_RATES.get(seller)
    buyer = country_code(buyer_country) or seller
    if buyer == seller:
        return TaxTreatment(TaxCase.DOMESTIC, TaxRule.TAX, home, seller)
    destination = EU_VAT_RATES.get(buyer)
    if destination is None:
        return TaxTreatment(TaxCase.EXPORT, TaxRule.NO_TAX, None, buyer)
    issuer = vat_id_country(buyer_vat_id)
    if issuer is not None and issuer != seller:
        return TaxTreatment(TaxCase.REVERSE_CHARGE, TaxRule.NO_TAX, None, buyer)
    if uses_oss:
        return TaxTreatment(TaxCase.OSS, TaxRule.TAX, destination, buyer)
    return TaxTreatment(TaxCase.DOMESTIC, TaxRule.TAX, home, seller)


def country_code(code: str | None) -> str | None:
    """An ISO country code in upper case, None when blank; Greece's VAT prefix ``EL`` is ``GR``."""
    text = (code or "").strip().upper()
    if not text:
        return None
    return "GR" if text == "EL" else text
