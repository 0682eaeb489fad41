"""Cross-border VAT for invoices and credit notes: pure functions over plain values (issue #12).

:mod:`autopilot.tax` holds the rates and says how a sale to a buyer *should* be taxed. This
module checks what a shop *did* charge against that and decides what the Billomat documents
say. It is a module of its own because it is a different job with different inputs (the shop's
VAT ID evidence, the seller's settings, the charged rates and tax) and outputs (notes in two
languages, reasons for accounting), and because the intake imports :mod:`autopilot.tax` for its
rate inference and need not load any of this.

- **VAT IDs.** :func:`normalize_vat_id` (spaces, dots, hyphens and slashes out, upper case,
  ``GR`` → ``EL``), :func:`valid_vat_id_format` (one pattern per prefix, every member state plus
  ``XI`` for Northern Ireland; the shape only, VIES is never asked) and
  :func:`vat_id_member_state`.
- **Where the VAT ID comes from.** :func:`vat_id_from_shopify` (note attributes, the customer's
  tax exemptions) and :func:`vat_id_from_woocommerce` (order meta data), over the plain
  dicts and lists of the webhook bodies; both take configurable name lists.
- **The decision.** :func:`decide` takes the seller's :class:`VatContext` (``SELLER_VAT_ID``,
  ``SMALL_BUSINESS``, whether it uses OSS), the buyer's country and VAT ID and what the order
  charged (each line's rate, the tax) and returns a :class:`VatDecision`: the case, the client's
  Billomat tax rule, the note for the document in the client's language (:func:`note_language`)
  and the VAT number for the client, or a hold with a German reason for accounting when the
  charged tax does not fit the sale. A credit note uses the decision of its invoice, or calls
  :func:`decide` with the refunded lines and tax (the sign does not matter) and gets the same
  note; :func:`vat_note` writes a note on its own.

The decision, rule by rule (seller in Germany; "no VAT" = every line 0 % and no tax):

=================================  ==================  ==========================================
Sale                               Charged             Decision
=================================  ==================  ==========================================
any, no lines                      –                   hold
any                                tax, but all 0 %    hold
``small_business`` (§ 19 UStG)     no VAT              SMALL_BUSINESS, NO_TAX, § 19 note
``small_business``                 VAT                 hold
Germany, or country unknown        German rates        DOMESTIC, TAX
Germany, or country unknown        no VAT, or other    hold (also with any VAT ID)
EU, VAT ID of another state        no VAT              REVERSE_CHARGE, NO_TAX, note with both IDs
                                                       (hold without ``SELLER_VAT_ID``)
EU, such a VAT ID + shop exemption VAT                 hold
EU, other (consumer, German ID,    no VAT              hold (reason names what is missing)
malformed ID, company without ID)
EU, not reverse charged            destination rates   OSS, TAX (``uses_oss``)
EU, not reverse charged            German rates        DOMESTIC, TAX (not ``uses_oss``)
EU, not reverse charged            other rates         hold
outside the EU                     no VAT              EXPORT, NO_TAX, § 4 Nr. 1a note
outside the EU                     German rates        DOMESTIC, TAX (delivered in Germany)
outside the EU                     other rates         hold
=================================  ==================  ==========================================

Northern Ireland counts as EU for goods: a buyer in ``XI``, or in ``GB`` with an ``XI`` VAT ID,
is an EU sale at :data:`~autopilot.tax.NORTHERN_IRELAND_RATES`; any other ``GB`` buyer is an
export (the billing country cannot tell Belfast from Bristol). A valid VAT ID is a business,
whether or not the shop names a company. A 0 % line next to taxed ones is accepted (gift cards,
zero-rated goods); an order taxed nowhere to a German or EU consumer is held, a pure gift-card
order too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from autopilot.billomat.vocabulary import TaxRule
from autopilot.money import ZERO, german_plain, normalize_rate, to_cents
from autopilot.tax import (
    EU_VAT_RATES,
    HOME_COUNTRY,
    NORTHERN_IRELAND_RATES,
    VatRates,
    country_code,
)

# --------------------------------------------------------------------------------------------
# VAT IDs
# --------------------------------------------------------------------------------------------

NORTHERN_IRELAND = "XI"
"""Northern Ireland's VAT prefix; also used here as its country code (ISO has none)."""

VAT_ID_FORMATS: Mapping[str, re.Pattern[str]] = {
    prefix: re.compile(rf"(?:{pattern})", re.ASCII)
    for prefix, pattern in {
        "AT": r"U\d{8}",
        "BE": r"[01]\d{9}",
        "BG": r"\d{9,10}",
        "CY": r"\d{8}[A-Z]",
        "CZ": r"\d{8,10}",
        "DE": r"\d{9}",
        "DK": r"\d{8}",
        "EE": r"\d{9}",
        "EL": r"\d{9}",
        "ES": r"[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]",
        "FI": r"\d{8}",
        "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}",
        "HR": r"\d{11}",
        "HU": r"\d{8}",
        "IE": r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]",
        "IT": r"\d{11}",
        "LT": r"\d{9}|\d{12}",
        "LU": r"\d{8}",
        "LV": r"\d{11}",
        "MT": r"\d{8}",
        "NL": r"\d{9}B\d{2}",
        "PL": r"\d{10}",
        "PT": r"\d{9}",
        "RO": r"[1-9]\d{1,9}",
        "SE": r"\d{10}01",
        "SI": r"[1-9]\d{7}",
        "SK": r"[1-9]\d{9}",
        "XI": r"\d{9}|\d{12}|GD[0-4]\d{2}|HA[5-9]\d{2}",
    }.items()
}
"""What follows the two-letter prefix of a VAT ID, per prefix (the VIES formats): ``ATU`` and
eight digits, Belgium's ten digits starting 0 or 1, France's two-character key and SIREN,
Ireland's old and new forms, the Netherlands' ``B`` and two digits, Sweden's twelve digits
ending in ``01``, Northern Ireland's GB forms (9 or 12 digits, government ``GD``, health ``HA``).
Greece is ``EL``. Check digits are not verified: the shape catches typos in the country prefix
and the length; whether the number exists is a question for VIES."""

MAX_VAT_ID_LENGTH = 64
"""Longer values are not VAT IDs (the longest is 14 characters) and are ignored when reading a
shop's attributes, so a stray note never reaches a Billomat field."""

_NOISE = re.compile(r"[\s.\-/\u00ad\u2010-\u2015]")


def normalize_vat_id(vat_id: str) -> str:
    """``vat_id`` without spaces, dots, hyphens and slashes, in upper case, Greece's ``GR``
    written ``EL`` as VIES wants it: ``" atu 123.456-78 "`` → ``ATU12345678``. Idempotent;
    the result need not be a valid VAT ID."""
    text = _NOISE.sub("", vat_id).upper()
    if text.startswith("GR"):
        return "EL" + text[2:]
    return text


def valid_vat_id_format(vat_id: str | None) -> bool:
    """Whether ``vat_id`` (normalised first) has the shape of its prefix's VAT IDs."""
    if not vat_id:
        return False
    text = normalize_vat_id(vat_id)
    pattern = VAT_ID_FORMATS.get(text[:2])
    return pattern is not None and pattern.fullmatch(text[2:]) is not None


def vat_id_member_state(vat_id: str | None) -> str | None:
    """The country code of the state that issued a well-formed VAT ID (``EL…`` → ``GR``,
    ``XI…`` → ``XI``); None when the ID is missing or malformed."""
    if not valid_vat_id_format(vat_id):
        return None
    prefix = normalize_vat_id(vat_id or "")[:2]
    return "GR" if prefix == "EL" else prefix


# --------------------------------------------------------------------------------------------
# Where a shop keeps the VAT ID
# --------------------------------------------------------------------------------------------

SHOPIFY_VAT_ID_NAMES: tuple[str, ...] = (
    "vat_number",
    "VAT number",
    "VAT ID",
    "USt-IdNr",
    "USt-ID",
    "Umsatzsteuer-ID",
    "EU VAT number",
)
"""Default note attribute names that carry the VAT ID (``VAT_ID_NOTE_ATTRIBUTES``), matched
ignoring case, spaces and punctuation (``USt-IdNr.`` is ``ustidnr`` like ``UST ID NR``)."""

SHOPIFY_REVERSE_CHARGE_EXEMPTIONS: tuple[str, ...] = ("EU_REVERSE_CHARGE_EXEMPTION_RULE",)
"""A Shopify customer's ``tax_exemptions`` entries that mean "EU business, reverse charge"."""

WOOCOMMERCE_VAT_ID_KEYS: tuple[str, ...] = (
    "_billing_vat_id",
    "billing_vat_id",
    "_vat_number",
    "vat_number",
    "_billing_vat_number",
)
"""Default order meta data keys that carry the VAT ID (``VAT_ID_META_KEYS``), in priority
order; matched exactly except for case and surrounding spaces (meta keys are identifiers)."""

WOOCOMMERCE_EXEMPTION_KEYS: tuple[str, ...] = ("is_vat_exempt",)
"""Order meta data keys whose ``yes`` means the checkout removed VAT (WooCommerce core writes
``is_vat_exempt`` from the customer's VAT exemption, which EU VAT plugins set)."""

_YES = frozenset({"yes", "true", "1", "y", "on"})


@dataclass(frozen=True, slots=True)
class VatIdEvidence:
    """What an order says about the buyer's VAT status."""

    vat_id: str | None = None
    """The VAT ID, normalised (:func:`normalize_vat_id`); not necessarily well-formed."""
    reverse_charge_exemption: bool = False
    """The shop exempted the buyer from VAT as an EU business (Shopify's
    ``EU_REVERSE_CHARGE_EXEMPTION_RULE``, WooCommerce's ``is_vat_exempt``)."""


def vat_id_from_shopify(
    note_attributes: Iterable[object] | None,
    customer_tax_exemptions: Iterable[object] | None,
    names: Iterable[str] = SHOPIFY_VAT_ID_NAMES,
    exemptions: Iterable[str] = SHOPIFY_REVERSE_CHARGE_EXEMPTIONS,
) -> VatIdEvidence:
    """The VAT ID among a Shopify order's ``note_attributes`` (``[{"name", "value"}]``; the
    GraphQL ``{"key", "value"}`` too) and whether ``customer.tax_exemptions`` holds a reverse
    charge exemption. See :func:`_pick` for which of several candidates wins."""
    wanted = [_attribute_key(name) for name in names]
    found: dict[str, list[str]] = {}
    for entry in note_attributes or ():
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name", entry.get("key"))
        value = entry.get("value")
        if isinstance(name, str) and isinstance(value, str):
            found.setdefault(_attribute_key(name), []).append(value)
    exempt = {_exemption(name) for name in exemptions}
    flagged = any(
        isinstance(item, str) and _exemption(item) in exempt
        for item in customer_tax_exemptions or ()
    )
    return VatIdEvidence(_pick(found, wanted), flagged)


def vat_id_from_woocommerce(
    meta_data: Iterable[object] | None,
    keys: Iterable[str] = WOOCOMMERCE_VAT_ID_KEYS,
    exemption_keys: Iterable[str] = WOOCOMMERCE_EXEMPTION_KEYS,
) -> VatIdEvidence:
    """The VAT ID among a WooCommerce order's ``meta_data`` (``[{"id", "key", "value"}]``) and
    whether a meta entry marks the order VAT exempt. See :func:`_pick`."""
    wanted = [_meta_key(key) for key in keys]
    exempt_keys = {_meta_key(key) for key in exemption_keys}
    found: dict[str, list[str]] = {}
    flagged = False
    for entry in meta_data or ():
        if not isinstance(entry, Mapping):
            continue
        key, value = entry.get("key"), entry.get("value")
        if not isinstance(key, str):
            continue
        if isinstance(value, str):
            found.setdefault(_meta_key(key), []).append(value)
        if _meta_key(key) in exempt_keys and _is_yes(value):
            flagged = True
    return VatIdEvidence(_pick(found, wanted), flagged)


def _pick(found: Mapping[str, list[str]], wanted: Iterable[str]) -> str | None:
    """The first well-formed VAT ID among the values of the ``wanted`` keys in their order;
    else the first non-blank value (so a malformed ID still reaches the decision and is named
    in its reason); None when there is none. Values longer than :data:`MAX_VAT_ID_LENGTH`
    after normalising are ignored."""
    candidates = [
        text
        for key in dict.fromkeys(wanted)
        for value in found.get(key, ())
        if 0 < len(text := normalize_vat_id(value)) <= MAX_VAT_ID_LENGTH
    ]
    return next((text for text in candidates if valid_vat_id_format(text)), None) or next(
        iter(candidates), None
    )


def _attribute_key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def _meta_key(key: str) -> str:
    return key.strip().casefold()


def _exemption(name: str) -> str:
    return name.strip().upper()


def _is_yes(value: object) -> bool:
    if value is True:
        return True
    return isinstance(value, str | int) and str(value).strip().lower() in _YES


# --------------------------------------------------------------------------------------------
# Settings, language and notes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatContext:
    """The seller's VAT settings (``SELLER_VAT_ID``, ``SMALL_BUSINESS``, OSS), checked once.

    ``uses_oss``: the seller taxes EU consumers at the destination's rates (One-Stop-Shop, over
    the EU-wide €10,000 threshold or opted in); otherwise at German rates. It cannot be combined
    with ``small_business``: a § 19 business charges no VAT anywhere, so there is nothing to
    declare through OSS; the pair is refused rather than one silently ignored.
    """

    seller_country: str = HOME_COUNTRY
    seller_vat_id: str | None = None
    """Normalised; must be a well-formed VAT ID of ``seller_country``. Without it a reverse
    charge invoice is held (it must name both VAT IDs)."""
    small_business: bool = False
    uses_oss: bool = False

    def __post_init__(self) -> None:
        country = country_code(self.seller_country)
        if country not in EU_VAT_RATES:
            raise ValueError(f"seller_country must be an EU member state, got {country!r}")
        object.__setattr__(self, "seller_country", country)
        if self.seller_vat_id is not None and self.seller_vat_id.strip():
            vat_id = normalize_vat_id(self.seller_vat_id)
            if vat_id_member_state(vat_id) != country:
                raise ValueError(f"SELLER_VAT_ID {vat_id!r} is not a VAT ID of {country}")
            object.__setattr__(self, "seller_vat_id", vat_id)
        else:
            object.__setattr__(self, "seller_vat_id", None)
        if self.small_business and self.uses_oss:
            raise ValueError("a small business (§ 19 UStG) charges no VAT and cannot use OSS")


Language = Literal["de", "en"]

GERMAN_SPEAKING_COUNTRIES = frozenset({"DE", "AT", "CH", "LI", "LU"})
"""Clients here get German notes; everyone else English. Luxembourg is in because German is
one of its official languages and its administration and press use it; Belgium and Italy are
not (German is a regional language there). An unknown country is treated as Germany."""


def note_language(country: str | None) -> Language:
    """The language of a document's notes for a client in ``country``."""
    code = country_code(country)
    return "de" if code is None or code in GERMAN_SPEAKING_COUNTRIES else "en"


class VatCase(StrEnum):
    """What an invoice or credit note is, tax-wise; HOLD when it must not be written yet."""

    DOMESTIC = "domestic"
    """German rates (German buyers, EU consumers without OSS, deliveries inside Germany)."""
    OSS = "oss"
    """An EU consumer at the destination's rates."""
    REVERSE_CHARGE = "reverse_charge"
    """Tax-free intra-Community supply to a business with another member state's VAT ID."""
    EXPORT = "export"
    """Tax-free export outside the EU."""
    SMALL_BUSINESS = "small_business"
    """No VAT under § 19 UStG."""
    HOLD = "hold"
    """The charged tax does not fit the sale: accounting decides."""


_NOTES: Mapping[VatCase, Mapping[Language, str]] = {
    VatCase.REVERSE_CHARGE: {
        "de": "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG). "
        "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge). "
        "USt-IdNr. des Leistungsempfängers: {buyer_vat_id}. Unsere USt-IdNr.: {seller_vat_id}.",
        "en": "Tax-exempt intra-Community supply (Section 4 No. 1b, Section 6a German VAT Act). "
        "Reverse charge: the recipient is liable for the VAT. "
        "Customer's VAT ID: {buyer_vat_id}. Our VAT ID: {seller_vat_id}.",
    },
    VatCase.EXPORT: {
        "de": "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG).",
        "en": "Tax-exempt export delivery (Section 4 No. 1a German VAT Act).",
    },
    VatCase.SMALL_BUSINESS: {
        "de": "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.",
        "en": "No VAT is charged under the small business scheme (Section 19 German VAT Act).",
    },
}
"""The document notes. The reverse charge note states both what § 14a (3) UStG asks of an
invoice for goods (a tax-free intra-Community supply, both VAT IDs) and the
"Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)" wording of § 14a (5), which is
what customers look for; English is allowed (UStAE 14a.1 (6): any official EU language)."""


def vat_note(
    case: VatCase,
    language: Language,
    *,
    buyer_vat_id: str | None = None,
    seller_vat_id: str | None = None,
) -> str | None:
    """The note an invoice or credit note of ``case`` carries, None when it needs none.

    ValueError for a reverse charge note without both VAT IDs: such a note must not be written.
    """
    texts = _NOTES.get(case)
    if texts is None:
        return None
    if case is VatCase.REVERSE_CHARGE and not (buyer_vat_id and seller_vat_id):
        raise ValueError("a reverse charge note needs the buyer's and the seller's VAT ID")
    return texts[language].format(
        buyer_vat_id=normalize_vat_id(buyer_vat_id or ""),
        seller_vat_id=normalize_vat_id(seller_vat_id or ""),
    )


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatDecision:
    """What an invoice (or credit note) for one order says about VAT, or why it waits."""

    case: VatCase
    tax_rule: TaxRule | None
    """The client's Billomat ``tax_rule``; None on hold."""
    rates: VatRates | None
    """The rates the document charges (the shop's line rates are among them); None when it
    charges none or holds."""
    rates_of: str | None
    """Whose rates those are (``DE``, the destination, ``XI``)."""
    language: Language
    note: str | None = None
    """The note for the document, in ``language``, both VAT IDs filled in."""
    hold_reason: str | None = None
    """German, for accounting: what does not add up."""
    vat_number_for_client: str | None = None
    """The buyer's well-formed VAT ID, normalised, for the client's ``vat_number``."""

    @property
    def hold(self) -> bool:
        """Whether the document must wait for accounting."""
        return self.case is VatCase.HOLD


def decide(
    context: VatContext,
    buyer_country: str | None,
    buyer_vat_id: str | None,
    line_rates: Sequence[Decimal],
    charged_tax: Decimal,
    *,
    is_business: bool = False,
    reverse_charge_exemption: bool = False,
) -> VatDecision:
    """The VAT decision for a document to a buyer in ``buyer_country`` (the billing country)
    whose positions carry ``line_rates`` (percent, every item, shipping and fee line) and whose
    shop charged ``charged_tax`` in total; see the module's table.

    ``is_business``: the order names a company (only changes the reason of a hold).
    ``reverse_charge_exemption``: the shop exempted the buyer (:class:`VatIdEvidence`).
    A rate outside 0–100 % raises ValueError (:func:`autopilot.money.normalize_rate`).
    """
    seller = context.seller_country
    home = EU_VAT_RATES[seller]
    buyer = country_code(buyer_country)
    given_id = normalize_vat_id(buyer_vat_id or "") or None
    valid_id = given_id if valid_vat_id_format(given_id) else None
    issuer = vat_id_member_state(valid_id)
    language = note_language(buyer)
    rates = tuple(dict.fromkeys(normalize_rate(rate) for rate in line_rates))
    charges_vat = charged_tax != ZERO or any(rate != ZERO for rate in rates)
    charged = f"Sätze {_percents(rates)}, Steuer {_amount(charged_tax)}"

    def hold(reason: str) -> VatDecision:
        return VatDecision(
            VatCase.HOLD,
            tax_rule=None,
            rates=None,
            rates_of=None,
            language=language,
            hold_reason=reason,
            vat_number_for_client=valid_id,
        )

    def taxed(case: VatCase, of: str, with_rates: VatRates, rule: str) -> VatDecision:
        stray = next((rate for rate in rates if not with_rates.knows(rate)), None)
        if stray is not None:
            return hold(
                f"Satz {_percents([stray])} ist kein Umsatzsteuersatz von {_name(of)} – dort "
                f"gelten {_percents(with_rates.all)}; {rule}."
            )
        return VatDecision(
            case,
            tax_rule=TaxRule.TAX,
            rates=with_rates,
            rates_of=of,
            language=language,
            vat_number_for_client=valid_id,
        )

    def untaxed(case: VatCase) -> VatDecision:
        return VatDecision(
            case,
            tax_rule=TaxRule.NO_TAX,
            rates=None,
            rates_of=None,
            language=language,
            note=vat_note(
                case, language, buyer_vat_id=valid_id, seller_vat_id=context.seller_vat_id
            ),
            vat_number_for_client=valid_id,
        )

    if not rates:
        return hold("Keine Positionen: die Umsatzsteuer der Bestellung lässt sich nicht prüfen.")
    if charged_tax != ZERO and all(rate == ZERO for rate in rates):
        return hold(
            f"Die Bestellung weist {_amount(charged_tax)} Umsatzsteuer aus, "
            "aber jede Position hat 0 %."
        )
    if context.small_business:
        if charges_vat:
            return hold(
                f"Kleinunternehmer (§ 19 UStG), aber die Bestellung berechnet Umsatzsteuer "
                f"({charged}); eine Rechnung mit § 19-Hinweis darf keine ausweisen."
            )
        return untaxed(VatCase.SMALL_BUSINESS)

    # At home (or nowhere known): taxed at home, whoever buys.
    if buyer is None or buyer == seller:
        if charges_vat:
            return taxed(VatCase.DOMESTIC, seller, home, "im Inland gelten die eigenen Sätze")
        with_id = f" (auch mit der USt-IdNr. {valid_id})" if valid_id else ""
        if buyer is None:
            return hold(
                "Keine Umsatzsteuer, aber das Land des Kunden fehlt: ohne Land gilt die "
                f"Lieferung als Inlandslieferung und ist steuerpflichtig{with_id}."
            )
        return hold(
            f"Keine Umsatzsteuer an einen Kunden in {_name(seller)}: eine Inlandslieferung "
            f"ist steuerpflichtig{with_id}."
        )

    northern_ireland = buyer == NORTHERN_IRELAND or (buyer == "GB" and issuer == NORTHERN_IRELAND)
    destination = NORTHERN_IRELAND if northern_ireland else buyer
    destination_rates = NORTHERN_IRELAND_RATES if northern_ireland else EU_VAT_RATES.get(buyer)

    # Outside the EU: an export, or (charged at home rates) a delivery inside Germany.
    if destination_rates is None:
        if not charges_vat:
            return untaxed(VatCase.EXPORT)
        return taxed(
            VatCase.DOMESTIC,
            seller,
            home,
            f"ein Kunde außerhalb der EU ({buyer}) zahlt keine Umsatzsteuer (Ausfuhr) oder, "
            f"bei Lieferung im Inland, die Sätze von {_name(seller)}",
        )

    # Another member state (or Northern Ireland).
    foreign_id = issuer is not None and issuer != seller
    if not charges_vat:
        if not foreign_id:
            return hold(
                _zero_vat_reason(
                    destination,
                    seller,
                    given_id,
                    valid_id,
                    is_business=is_business,
                    exemption=reverse_charge_exemption,
                    oss=context.uses_oss,
                )
            )
        if context.seller_vat_id is None:
            return hold(
                f"Steuerfreie innergemeinschaftliche Lieferung an {valid_id}, aber die eigene "
                "USt-IdNr. (SELLER_VAT_ID) ist nicht eingestellt; die Rechnung muss beide "
                "USt-IdNrn. nennen."
            )
        return untaxed(VatCase.REVERSE_CHARGE)
    if foreign_id and reverse_charge_exemption:
        return hold(
            f"Umsatzsteuer berechnet ({charged}), obwohl eine gültige USt-IdNr. ({valid_id}) "
            "und eine Reverse-Charge-Befreiung im Shop vorliegen: entweder ist die Lieferung "
            "steuerfrei oder die Befreiung gilt nicht."
        )
    if context.uses_oss:
        return taxed(
            VatCase.OSS,
            destination,
            destination_rates,
            f"Verbraucher in {_name(destination)} werden über OSS mit den dortigen Sätzen "
            "besteuert",
        )
    return taxed(
        VatCase.DOMESTIC,
        seller,
        home,
        f"ohne OSS (Einstellung) werden Verbraucher in {_name(destination)} mit den Sätzen "
        f"von {_name(seller)} besteuert",
    )


def _zero_vat_reason(
    destination: str,
    seller: str,
    given_id: str | None,
    valid_id: str | None,
    *,
    is_business: bool,
    exemption: bool,
    oss: bool,
) -> str:
    """Why an untaxed sale into another member state without a usable VAT ID is held."""
    where = _name(destination)
    rule = "steuerfreie innergemeinschaftliche Lieferung braucht die gültige USt-IdNr. "
    rule += "des Kunden aus einem anderen EU-Staat"
    shop = " trotz Reverse-Charge-Befreiung im Shop" if exemption else ""
    if given_id is not None and valid_id is None:
        return (
            f"Keine Umsatzsteuer{shop} an einen Kunden in {where}, aber die USt-IdNr. "
            f"„{given_id}“ hat kein gültiges Format; eine {rule}."
        )
    if valid_id is not None:
        return (
            f"Keine Umsatzsteuer{shop} an einen Kunden in {where}, aber die USt-IdNr. "
            f"{valid_id} ist eine aus {_name(seller)}; eine {rule}."
        )
    if is_business or exemption:
        return (
            f"Keine Umsatzsteuer{shop} an ein Unternehmen in {where} ohne USt-IdNr.; eine {rule}."
        )
    taxed_at = (
        f"über OSS mit den Sätzen von {where}" if oss else f"mit den Sätzen von {_name(seller)}"
    )
    return (
        f"Keine Umsatzsteuer an einen Verbraucher in {where}: ohne USt-IdNr. eines anderen "
        f"EU-Staats ist die Lieferung steuerpflichtig ({taxed_at})."
    )


_GERMAN_NAMES: Mapping[str, str] = {
    "AT": "Österreich", "BE": "Belgien", "BG": "Bulgarien", "CY": "Zypern",
    "CZ": "Tschechien", "DE": "Deutschland", "DK": "Dänemark", "EE": "Estland",
    "ES": "Spanien", "FI": "Finnland", "FR": "Frankreich", "GR": "Griechenland",
    "HR": "Kroatien", "HU": "Ungarn", "IE": "Irland", "IT": "Italien", "LT": "Litauen",
    "LU": "Luxemburg", "LV": "Lettland", "MT": "Malta", "NL": "den Niederlanden",
    "PL": "Polen", "PT": "Portugal", "RO": "Rumänien", "SE": "Schweden",
    "SI": "Slowenien", "SK": "der Slowakei", "XI": "Nordirland",
}  # fmt: skip


def _name(country: str) -> str:
    """``Österreich (AT)``: how a reason names a country."""
    name = _GERMAN_NAMES.get(country)
    return f"{name} ({country})" if name else country


def _amount(value: Decimal) -> str:
    """``3.8`` → ``3,80``: an amount as a German reader writes it."""
    return format(to_cents(value) + ZERO, "f").replace(".", ",")  # + 0: no "-0,00"


def _percents(rates: Iterable[Decimal]) -> str:
    """``19 / 7 / 4,9 %``: rates as a German reader writes them."""
    return " / ".join(german_plain(rate) for rate in rates) + " %"
