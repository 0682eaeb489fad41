"""Cross-border VAT (issue #12): VAT ID formats and normalisation, where the shops keep the VAT
ID, and the decision what an invoice or credit note says (case, tax rule, note, or a hold)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.billomat.vocabulary import TaxRule
from autopilot.tax import EU_VAT_RATES, NORTHERN_IRELAND_RATES, TaxCase, tax_treatment
from autopilot.vat_rules import (
    MAX_VAT_ID_LENGTH,
    VAT_ID_FORMATS,
    VatCase,
    VatContext,
    VatDecision,
    VatIdEvidence,
    decide,
    normalize_vat_id,
    note_language,
    valid_vat_id_format,
    vat_id_from_shopify,
    vat_id_from_woocommerce,
    vat_id_member_state,
    vat_note,
)

D = Decimal

# ---------------------------------------------------------------------------- VAT ID formats

VALID_VAT_IDS: dict[str, tuple[str, ...]] = {
    "AT": ("ATU12345678",),
    "BE": ("BE0123456789", "BE1234567890"),
    "BG": ("BG123456789", "BG1234567890"),
    "CY": ("CY12345678L",),
    "CZ": ("CZ12345678", "CZ123456789", "CZ1234567890"),
    "DE": ("DE123456789",),
    "DK": ("DK12345678",),
    "EE": ("EE100123456",),
    "EL": ("EL123456789",),
    "ES": ("ESA1234567B", "ESX12345678", "ES12345678Z"),
    "FI": ("FI12345678",),
    "FR": ("FR12345678901", "FRAB123456789", "FR1Z123456789"),
    "HR": ("HR12345678901",),
    "HU": ("HU12345678",),
    "IE": ("IE1234567T", "IE1234567FA", "IE1234567TW", "IE1A23456T", "IE1+23456T"),
    "IT": ("IT12345678901",),
    "LT": ("LT123456789", "LT123456789012"),
    "LU": ("LU12345678",),
    "LV": ("LV12345678901",),
    "MT": ("MT12345678",),
    "NL": ("NL123456789B01",),
    "PL": ("PL1234567890",),
    "PT": ("PT123456789",),
    "RO": ("RO12", "RO1234567890"),
    "SE": ("SE123456789001",),
    "SI": ("SI12345678",),
    "SK": ("SK1234567890",),
    "XI": ("XI123456789", "XI123456789012", "XIGD001", "XIHA599"),
}

INVALID_VAT_IDS: dict[str, tuple[str, ...]] = {
    "AT": ("AT12345678", "ATU1234567", "ATU123456789"),
    "BE": ("BE123456789", "BE2123456789"),
    "BG": ("BG12345678", "BG12345678901"),
    "CY": ("CY123456789", "CY1234567L"),
    "CZ": ("CZ1234567", "CZ12345678901"),
    "DE": ("DE12345678", "DE1234567890", "DE12345678X"),
    "DK": ("DK1234567", "DK123456789"),
    "EE": ("EE12345678", "EE1234567890"),
    "EL": ("EL12345678", "EL1234567890"),
    "ES": ("ES123456789", "ESA123456", "ES1234567ZZ"),
    "FI": ("FI1234567", "FI123456789"),
    "FR": ("FR1234567890", "FRIO123456789", "FR123456789012"),
    "HR": ("HR1234567890",),
    "HU": ("HU1234567", "HU123456789"),
    "IE": ("IE1234567", "IE12345678T", "IE1234567TZ"),
    "IT": ("IT1234567890", "IT123456789012"),
    "LT": ("LT12345678", "LT1234567890"),
    "LU": ("LU1234567",),
    "LV": ("LV1234567890",),
    "MT": ("MT1234567",),
    "NL": ("NL123456789", "NL123456789A01", "NL123456789B1"),
    "PL": ("PL123456789",),
    "PT": ("PT12345678",),
    "RO": ("RO1", "RO01234567", "RO12345678901"),
    "SE": ("SE123456789002", "SE1234567890"),
    "SI": ("SI01234567", "SI1234567"),
    "SK": ("SK0123456789", "SK123456789"),
    "XI": ("XI12345678", "XIGD500", "XIHA499"),
}


def test_every_member_state_and_northern_ireland_has_a_format() -> None:
    member_states = {"EL" if country == "GR" else country for country in EU_VAT_RATES}
    assert set(VAT_ID_FORMATS) == member_states | {"XI"}
    assert set(VALID_VAT_IDS) == set(VAT_ID_FORMATS) == set(INVALID_VAT_IDS)


@pytest.mark.parametrize(
    "vat_id", [vat_id for examples in VALID_VAT_IDS.values() for vat_id in examples]
)
def test_a_well_formed_vat_id_of_each_prefix_is_valid(vat_id: str) -> None:
    assert valid_vat_id_format(vat_id)


@pytest.mark.parametrize(
    "vat_id", [vat_id for examples in INVALID_VAT_IDS.values() for vat_id in examples]
)
def test_a_malformed_vat_id_of_each_prefix_is_invalid(vat_id: str) -> None:
    assert not valid_vat_id_format(vat_id)


@pytest.mark.parametrize(
    "vat_id",
    [
        None,
        "",
        "DE",
        "123456789",
        "GB123456789",  # Great Britain: not in the EU since 2021 (Northern Ireland is XI)
        "CHE-123.456.789",  # Switzerland
        "NO123456789MVA",
        "US123456789",
        "DE١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits are not digits of a VAT ID
        "ATU12345678 extra",
    ],
)
def test_what_is_not_an_eu_vat_id_is_invalid(vat_id: str | None) -> None:
    assert not valid_vat_id_format(vat_id)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("ATU12345678", "ATU12345678"),
        (" atu 123 456 78 ", "ATU12345678"),
        ("DE 123.456.789", "DE123456789"),
        ("FR-12-345678901", "FR12345678901"),
        ("NL 1234.56789.B01", "NL123456789B01"),
        ("de\u00a0123\u2009456\u2009789", "DE123456789"),  # no-break and thin spaces
        ("DE–123–456–789", "DE123456789"),  # en dashes
        ("BE 0123/456/789", "BE0123456789"),
        ("GR123456789", "EL123456789"),  # Greece's VAT prefix is EL
        ("gr 123 456 789", "EL123456789"),
        ("xi 123 4567 89", "XI123456789"),
    ],
)
def test_normalising_removes_spaces_dots_hyphens_and_writes_greece_el(
    raw: str, normalized: str
) -> None:
    assert normalize_vat_id(raw) == normalized
    assert valid_vat_id_format(raw)


@pytest.mark.parametrize(
    ("vat_id", "state"),
    [
        ("ATU12345678", "AT"),
        ("el123456789", "GR"),
        ("GR123456789", "GR"),
        ("XI123456789", "XI"),
        ("DE123456789", "DE"),
        ("ATU1234", None),
        ("GB123456789", None),
        (None, None),
    ],
)
def test_a_valid_vat_id_names_the_state_that_issued_it(vat_id: str | None, state: str) -> None:
    assert vat_id_member_state(vat_id) == state


@given(st.text(max_size=30))
def test_normalising_is_idempotent(text: str) -> None:
    once = normalize_vat_id(text)
    assert normalize_vat_id(once) == once
    assert valid_vat_id_format(once) == valid_vat_id_format(text)


noise = st.text(alphabet=" .-/\u00a0\u2013", max_size=3)


@given(
    vat_id=st.sampled_from([v for examples in VALID_VAT_IDS.values() for v in examples]),
    data=st.data(),
)
def test_noise_and_case_never_change_validity(vat_id: str, data: st.DataObject) -> None:
    spelled = "".join(data.draw(noise) + char for char in vat_id) + data.draw(noise)
    spelled = spelled.lower() if data.draw(st.booleans()) else spelled
    assert valid_vat_id_format(spelled)
    assert normalize_vat_id(spelled) == vat_id


@given(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=3, max_size=16))
def test_a_valid_vat_id_always_has_a_known_prefix(text: str) -> None:
    if valid_vat_id_format(text):
        assert text[:2] in VAT_ID_FORMATS
        assert vat_id_member_state(text) is not None


# ---------------------------------------------------------------------------- Shopify


def notes(*pairs: tuple[str, object]) -> list[dict[str, object]]:
    return [{"name": name, "value": value} for name, value in pairs]


@pytest.mark.parametrize(
    ("attributes", "exemptions", "expected"),
    [
        (notes(("vat_number", "ATU12345678")), [], VatIdEvidence("ATU12345678")),
        (notes(("VAT number", "atu 123 456 78")), None, VatIdEvidence("ATU12345678")),
        (notes(("USt-IdNr.", "FR12345678901")), [], VatIdEvidence("FR12345678901")),
        (notes(("  VAT-Number ", "NL123456789B01")), [], VatIdEvidence("NL123456789B01")),
        (notes(("ust_id_nr", "DE123456789")), [], VatIdEvidence("DE123456789")),
        # GraphQL customAttributes spell the name "key".
        ([{"key": "VAT ID", "value": "ATU12345678"}], [], VatIdEvidence("ATU12345678")),
        # Not a VAT ID attribute; a number value; no attributes at all.
        (notes(("gift_message", "ATU12345678")), [], VatIdEvidence()),
        (notes(("vat_number", 12345678)), [], VatIdEvidence()),
        (None, None, VatIdEvidence()),
        (notes(("vat_number", "   ")), [], VatIdEvidence()),
        # A malformed ID is still reported (the decision names it), a well-formed one wins.
        (notes(("vat_number", "ATU1234")), [], VatIdEvidence("ATU1234")),
        (
            notes(("vat_number", "ATU1234"), ("USt-IdNr", "ATU12345678")),
            [],
            VatIdEvidence("ATU12345678"),
        ),
        # Among well-formed IDs the first name in the list wins, whatever the order of notes.
        (
            notes(("USt-IdNr", "DE123456789"), ("vat_number", "ATU12345678")),
            [],
            VatIdEvidence("ATU12345678"),
        ),
        # The reverse charge exemption, with or without a VAT ID.
        (
            notes(("vat_number", "ATU12345678")),
            ["EU_REVERSE_CHARGE_EXEMPTION_RULE"],
            VatIdEvidence("ATU12345678", reverse_charge_exemption=True),
        ),
        ([], ["eu_reverse_charge_exemption_rule "], VatIdEvidence(None, True)),
        ([], ["CA_STATUS_CARD_EXEMPTION"], VatIdEvidence()),
        # A note longer than any VAT ID is ignored.
        (notes(("vat_number", "A" * (MAX_VAT_ID_LENGTH + 1))), [], VatIdEvidence()),
        # Junk entries are skipped.
        (["vat_number", None, {"name": None, "value": "x"}], [None, 3], VatIdEvidence()),
    ],
)
def test_shopify_vat_id_comes_from_note_attributes_and_tax_exemptions(
    attributes: list[object] | None, exemptions: list[object] | None, expected: VatIdEvidence
) -> None:
    assert vat_id_from_shopify(attributes, exemptions) == expected


def test_shopify_names_and_exemptions_are_configurable() -> None:
    attributes = notes(("Company tax number", "ATU12345678"), ("vat_number", "DE123456789"))
    found = vat_id_from_shopify(attributes, ["X"], names=["company-tax-number"], exemptions=["x"])
    assert found == VatIdEvidence("ATU12345678", reverse_charge_exemption=True)
    assert vat_id_from_shopify(attributes, [], names=[]) == VatIdEvidence()


# ---------------------------------------------------------------------------- WooCommerce


def meta(*pairs: tuple[str, object]) -> list[dict[str, object]]:
    return [{"id": index, "key": key, "value": value} for index, (key, value) in enumerate(pairs)]


@pytest.mark.parametrize(
    "key", ["_billing_vat_id", "billing_vat_id", "_vat_number", "vat_number", "_billing_vat_number"]
)
def test_woocommerce_vat_id_comes_from_each_default_meta_key(key: str) -> None:
    assert vat_id_from_woocommerce(meta((key, "ATU 123 456 78"))) == VatIdEvidence("ATU12345678")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (meta(("_billing_vat_id", "ATU12345678")), VatIdEvidence("ATU12345678")),
        # Keys are identifiers: only case and surrounding spaces are forgiven.
        (meta((" _Billing_VAT_ID ", "ATU12345678")), VatIdEvidence("ATU12345678")),
        (meta(("billing-vat-id", "ATU12345678")), VatIdEvidence()),
        (meta(("_shipping_vat_id", "ATU12345678")), VatIdEvidence()),
        # Priority follows the key list; a well-formed ID beats a malformed one.
        (
            meta(("vat_number", "DE123456789"), ("_billing_vat_id", "ATU12345678")),
            VatIdEvidence("ATU12345678"),
        ),
        (
            meta(("_billing_vat_id", "junk"), ("vat_number", "DE123456789")),
            VatIdEvidence("DE123456789"),
        ),
        (meta(("_billing_vat_id", "junk")), VatIdEvidence("JUNK")),
        # Non-text values (plugins store arrays and numbers) are no VAT ID.
        (meta(("_vat_number", {"number": "ATU12345678"}), ("vat_number", 123)), VatIdEvidence()),
        # WooCommerce core's is_vat_exempt.
        (
            meta(("_billing_vat_id", "ATU12345678"), ("is_vat_exempt", "yes")),
            VatIdEvidence("ATU12345678", reverse_charge_exemption=True),
        ),
        (meta(("is_vat_exempt", "no")), VatIdEvidence()),
        (meta(("is_vat_exempt", True)), VatIdEvidence(None, True)),
        (None, VatIdEvidence()),
        ([None, "x", {"key": 5, "value": "ATU12345678"}], VatIdEvidence()),
    ],
)
def test_woocommerce_vat_id_comes_from_meta_data(
    entries: list[object] | None, expected: VatIdEvidence
) -> None:
    assert vat_id_from_woocommerce(entries) == expected


def test_woocommerce_keys_are_configurable() -> None:
    entries = meta(("_eu_vat", "ATU12345678"), ("vat_number", "DE123456789"), ("exempt", "1"))
    found = vat_id_from_woocommerce(entries, keys=["_eu_vat"], exemption_keys=["exempt"])
    assert found == VatIdEvidence("ATU12345678", reverse_charge_exemption=True)


# ---------------------------------------------------------------------------- settings

SELLER = "DE123456789"
OSS = VatContext(seller_vat_id=SELLER, uses_oss=True)
NO_OSS = VatContext(seller_vat_id=SELLER)
NO_SELLER_ID = VatContext(uses_oss=True)
SMALL = VatContext(small_business=True)


def test_the_context_normalises_the_sellers_vat_id() -> None:
    context = VatContext(seller_country="de", seller_vat_id=" de 123.456.789 ")
    assert (context.seller_country, context.seller_vat_id) == ("DE", SELLER)
    assert VatContext(seller_vat_id="  ").seller_vat_id is None
    assert VatContext().uses_oss is False
    assert VatContext().small_business is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seller_vat_id": "DE12345"},  # malformed
        {"seller_vat_id": "ATU12345678"},  # another state's
        {"seller_country": "CH"},
        {"seller_country": ""},
        {"small_business": True, "uses_oss": True},
    ],
)
def test_contradictory_or_malformed_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        VatContext(**kwargs)


# ---------------------------------------------------------------------------- language, notes


@pytest.mark.parametrize(
    ("country", "language"),
    [
        ("DE", "de"),
        ("AT", "de"),
        ("CH", "de"),
        ("LI", "de"),
        ("LU", "de"),
        (" at ", "de"),
        (None, "de"),  # unknown: treated as Germany
        ("", "de"),
        ("FR", "en"),
        ("BE", "en"),
        ("IT", "en"),
        ("NL", "en"),
        ("GB", "en"),
        ("XI", "en"),
        ("US", "en"),
    ],
)
def test_german_speaking_countries_get_german_notes_everyone_else_english(
    country: str | None, language: str
) -> None:
    assert note_language(country) == language


@pytest.mark.parametrize(
    ("case", "language", "note"),
    [
        (
            VatCase.REVERSE_CHARGE,
            "de",
            "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, § 6a UStG). "
            "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge). "
            "USt-IdNr. des Leistungsempfängers: ATU12345678. Unsere USt-IdNr.: DE123456789.",
        ),
        (
            VatCase.REVERSE_CHARGE,
            "en",
            "Tax-exempt intra-Community supply (Section 4 No. 1b, Section 6a German VAT Act). "
            "Reverse charge: the recipient is liable for the VAT. "
            "Customer's VAT ID: ATU12345678. Our VAT ID: DE123456789.",
        ),
        (VatCase.EXPORT, "de", "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."),
        (VatCase.EXPORT, "en", "Tax-exempt export delivery (Section 4 No. 1a German VAT Act)."),
        (VatCase.SMALL_BUSINESS, "de", "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."),
        (
            VatCase.SMALL_BUSINESS,
            "en",
            "No VAT is charged under the small business scheme (Section 19 German VAT Act).",
        ),
        (VatCase.DOMESTIC, "de", None),
        (VatCase.OSS, "en", None),
        (VatCase.HOLD, "de", None),
    ],
)
def test_each_case_has_its_note_in_both_languages(
    case: VatCase, language: Any, note: str | None
) -> None:
    # The same function writes the note of an invoice and of its credit note.
    assert vat_note(case, language, buyer_vat_id="atu 12345678", seller_vat_id=SELLER) == note


def test_a_reverse_charge_note_is_never_written_without_both_vat_ids() -> None:
    with pytest.raises(ValueError, match="VAT ID"):
        vat_note(VatCase.REVERSE_CHARGE, "de", buyer_vat_id="ATU12345678")
    with pytest.raises(ValueError, match="VAT ID"):
        vat_note(VatCase.REVERSE_CHARGE, "en", seller_vat_id=SELLER)


# ---------------------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Row:
    """One sale: settings, buyer, what the shop charged, and what must come out."""

    context: VatContext
    country: str | None
    vat_id: str | None
    rates: tuple[str, ...]
    tax: str
    case: VatCase
    rule: TaxRule | None = None
    rates_of: str | None = None
    note: str | None = None
    """A part the note must contain (None: no note)."""
    hold: str | None = None
    """A part the German reason must contain."""
    business: bool = False
    exemption: bool = False
    client_vat: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


RC_DE = "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)"
RC_EN = "Reverse charge: the recipient is liable for the VAT"
EXPORT_DE = "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)"
EXPORT_EN = "Tax-exempt export delivery"
SMALL_DE = "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
SMALL_EN = "small business scheme"
DOM, OSS_, RC, EXP, KU, HOLD = (
    VatCase.DOMESTIC,
    VatCase.OSS,
    VatCase.REVERSE_CHARGE,
    VatCase.EXPORT,
    VatCase.SMALL_BUSINESS,
    VatCase.HOLD,
)
TAX, NO_TAX = TaxRule.TAX, TaxRule.NO_TAX

DECISIONS = {
    # ---- at home: German rates, whoever buys
    "de-consumer": Row(OSS, "DE", None, ("19", "7"), "8.40", DOM, TAX, "DE"),
    "de-business-with-german-id": Row(
        OSS, "de", "DE 123 456 789", ("19",), "19.00", DOM, TAX, "DE", client_vat=SELLER
    ),
    "de-gift-card-next-to-taxed-goods": Row(OSS, "DE", None, ("19", "0"), "3.80", DOM, TAX, "DE"),
    "country-unknown-taxed-at-home": Row(OSS, None, None, ("19",), "1.90", DOM, TAX, "DE"),
    # ---- EU consumers: the destination's rates under OSS, never replaced by German ones
    "at-consumer-oss": Row(OSS, "AT", None, ("20", "10"), "5.00", OSS_, TAX, "AT"),
    "at-consumer-oss-basic-food": Row(OSS, "AT", None, ("4.9",), "0.49", OSS_, TAX, "AT"),
    "fr-consumer-oss": Row(OSS, "FR", None, ("20", "5.5", "0"), "2.55", OSS_, TAX, "FR"),
    "nl-consumer-oss": Row(OSS, "NL", None, ("21", "9"), "3.00", OSS_, TAX, "NL"),
    "gr-consumer-oss": Row(OSS, "GR", None, ("24", "13"), "3.70", OSS_, TAX, "GR"),
    "ie-consumer-oss": Row(OSS, "IE", None, ("23", "13.5", "4.8"), "4.13", OSS_, TAX, "IE"),
    "ni-consumer-oss": Row(OSS, "XI", None, ("20", "5"), "2.50", OSS_, TAX, "XI"),
    "at-consumer-below-threshold": Row(NO_OSS, "AT", None, ("19", "7"), "2.60", DOM, TAX, "DE"),
    "credit-note-refund": Row(OSS, "AT", None, ("20",), "-4.00", OSS_, TAX, "AT"),
    # A business that paid VAT (no exemption claimed) gets the taxed invoice it paid for.
    "at-business-paid-vat": Row(
        OSS, "AT", "ATU12345678", ("20",), "20.00", OSS_, TAX, "AT", client_vat="ATU12345678"
    ),
    # ---- EU businesses with another member state's VAT ID: reverse charge
    "at-business-reverse-charge": Row(
        OSS, "AT", "ATU12345678", ("0",), "0", RC, NO_TAX, note=RC_DE, client_vat="ATU12345678"
    ),
    "fr-business-reverse-charge-english": Row(
        OSS, "FR", "fr 12 345 678 901", ("0", "0"), "0.00", RC, NO_TAX, note=RC_EN,
        client_vat="FR12345678901", business=True, exemption=True,
    ),
    "gr-business-el-prefix": Row(
        NO_OSS, "GR", "GR123456789", ("0",), "0", RC, NO_TAX, note=RC_EN,
        client_vat="EL123456789",
    ),
    "at-address-french-vat-id": Row(
        OSS, "AT", "FR12345678901", ("0",), "0", RC, NO_TAX, note=RC_DE,
        client_vat="FR12345678901",
    ),
    "ni-business-gb-address-xi-id": Row(
        OSS, "GB", "XI123456789", ("0",), "0", RC, NO_TAX, note=RC_EN, client_vat="XI123456789"
    ),
    # ---- outside the EU
    "ch-export": Row(OSS, "CH", None, ("0",), "0", EXP, NO_TAX, note=EXPORT_DE),
    "us-export-english": Row(OSS, "US", None, ("0", "0"), "0", EXP, NO_TAX, note=EXPORT_EN),
    "gb-export-without-xi-id": Row(
        OSS, "GB", "GB123456789", ("0",), "0", EXP, NO_TAX, note=EXPORT_EN
    ),
    "ch-billing-delivered-in-germany": Row(OSS, "CH", None, ("19",), "19.00", DOM, TAX, "DE"),
    # ---- small business (§ 19 UStG): no VAT for anyone
    "small-business-de": Row(SMALL, "DE", None, ("0",), "0", KU, NO_TAX, note=SMALL_DE),
    "small-business-fr-english": Row(SMALL, "FR", None, ("0",), "0", KU, NO_TAX, note=SMALL_EN),
    "small-business-eu-business": Row(
        SMALL, "AT", "ATU12345678", ("0",), "0", KU, NO_TAX, note=SMALL_DE,
        client_vat="ATU12345678",
    ),
    # ---- holds: what does not add up
    "hold-zero-vat-to-eu-consumer": Row(
        OSS, "AT", None, ("0",), "0", HOLD, hold="Keine Umsatzsteuer an einen Verbraucher in "
        "Österreich (AT)"
    ),
    "hold-zero-vat-to-eu-company-without-vat-id": Row(
        OSS, "FR", None, ("0",), "0", HOLD, business=True,
        hold="an ein Unternehmen in Frankreich (FR) ohne USt-IdNr.",
    ),
    "hold-exemption-without-vat-id": Row(
        OSS, "NL", None, ("0",), "0", HOLD, exemption=True,
        hold="trotz Reverse-Charge-Befreiung im Shop an ein Unternehmen in den Niederlanden",
    ),
    "hold-zero-vat-malformed-vat-id": Row(
        OSS, "AT", "ATU1234", ("0",), "0", HOLD, business=True,
        hold="„ATU1234“ hat kein gültiges Format",
    ),
    "hold-zero-vat-german-vat-id-abroad": Row(
        OSS, "AT", "DE123456789", ("0",), "0", HOLD, client_vat=SELLER,
        hold="DE123456789 ist eine aus Deutschland (DE)",
    ),
    "hold-vat-charged-despite-exemption": Row(
        OSS, "AT", "ATU12345678", ("20",), "20.00", HOLD, exemption=True,
        client_vat="ATU12345678", hold="obwohl eine gültige USt-IdNr. (ATU12345678) und eine "
        "Reverse-Charge-Befreiung",
    ),
    "hold-german-rate-to-at-consumer-under-oss": Row(
        OSS, "AT", None, ("19",), "1.90", HOLD,
        hold="Satz 19 % ist kein Umsatzsteuersatz von Österreich (AT)",
    ),
    "hold-foreign-reduced-rate": Row(
        OSS, "FR", None, ("20", "7"), "2.70", HOLD,
        hold="Satz 7 % ist kein Umsatzsteuersatz von Frankreich (FR)",
    ),
    "hold-destination-rate-without-oss": Row(
        NO_OSS, "AT", None, ("20",), "2.00", HOLD,
        hold="ohne OSS (Einstellung) werden Verbraucher in Österreich (AT) mit den Sätzen von "
        "Deutschland (DE) besteuert",
    ),
    "hold-german-buyer-zero-vat": Row(
        OSS, "DE", None, ("0",), "0", HOLD,
        hold="Keine Umsatzsteuer an einen Kunden in Deutschland (DE)",
    ),
    "hold-german-address-foreign-vat-id-zero-vat": Row(
        OSS, "DE", "ATU12345678", ("0",), "0", HOLD, client_vat="ATU12345678",
        hold="auch mit der USt-IdNr. ATU12345678",
    ),
    "hold-unknown-country-zero-vat": Row(
        OSS, None, "ATU12345678", ("0",), "0", HOLD, client_vat="ATU12345678",
        hold="das Land des Kunden fehlt",
    ),
    "hold-german-buyer-unknown-rate": Row(
        OSS, "DE", None, ("16",), "1.60", HOLD,
        hold="Satz 16 % ist kein Umsatzsteuersatz von Deutschland (DE)",
    ),
    "hold-small-business-charged-vat": Row(
        SMALL, "DE", None, ("19",), "1.90", HOLD,
        hold="Kleinunternehmer (§ 19 UStG), aber die Bestellung berechnet Umsatzsteuer "
        "(Sätze 19 %, Steuer 1,90)",
    ),
    "hold-tax-without-rate": Row(
        OSS, "DE", None, ("0", "0"), "3.8", HOLD, hold="weist 3,80 Umsatzsteuer aus"
    ),
    "hold-no-lines": Row(OSS, "DE", None, (), "0", HOLD, hold="Keine Positionen"),
    "hold-reverse-charge-without-seller-vat-id": Row(
        NO_SELLER_ID, "AT", "ATU12345678", ("0",), "0", HOLD, client_vat="ATU12345678",
        hold="SELLER_VAT_ID",
    ),
    "hold-export-foreign-rate": Row(
        OSS, "CH", None, ("8.1",), "0.81", HOLD,
        hold="Satz 8,1 % ist kein Umsatzsteuersatz von Deutschland (DE)",
    ),
    "hold-ni-consumer-wrong-rate": Row(
        OSS, "XI", None, ("23",), "2.30", HOLD,
        hold="Satz 23 % ist kein Umsatzsteuersatz von Nordirland (XI)",
    ),
}  # fmt: skip


def decided(row: Row) -> VatDecision:
    return decide(
        row.context,
        row.country,
        row.vat_id,
        [D(rate) for rate in row.rates],
        D(row.tax),
        is_business=row.business,
        reverse_charge_exemption=row.exemption,
    )


@pytest.mark.parametrize("row", DECISIONS.values(), ids=DECISIONS.keys())
def test_the_decision_table(row: Row) -> None:
    decision = decided(row)
    assert decision.case is row.case, decision.hold_reason
    assert decision.tax_rule is row.rule
    assert decision.rates_of == row.rates_of
    if row.rates_of == "XI":
        assert decision.rates is NORTHERN_IRELAND_RATES
    elif row.rates_of is not None:
        assert decision.rates is EU_VAT_RATES[row.rates_of]
    else:
        assert decision.rates is None
    if row.note is None:
        assert decision.note is None
    else:
        assert decision.note is not None
        assert row.note in decision.note
    if row.hold is None:
        assert decision.hold_reason is None
        assert not decision.hold
    else:
        assert decision.hold
        assert decision.hold_reason is not None
        assert row.hold in decision.hold_reason
    assert decision.vat_number_for_client == row.client_vat
    assert decision.language == note_language(row.country)


def test_a_reverse_charge_note_names_both_vat_ids_in_the_clients_language() -> None:
    german = decide(OSS, "AT", "ATU 123 456 78", [D(0)], D(0))
    english = decide(OSS, "FR", "FR12345678901", [D(0)], D(0))
    assert german.note is not None
    assert english.note is not None
    assert "ATU12345678" in german.note
    assert SELLER in german.note
    assert german.note.startswith("Steuerfreie innergemeinschaftliche Lieferung")
    assert "FR12345678901" in english.note
    assert SELLER in english.note
    assert english.note.startswith("Tax-exempt intra-Community supply")
    # A credit note to the same buyer says the same.
    assert decide(OSS, "AT", "ATU12345678", [D(0)], D("-0.00")).note == german.note


def test_every_hold_example_of_the_table_has_a_german_reason() -> None:
    holds = [row for row in DECISIONS.values() if row.case is VatCase.HOLD]
    assert len(holds) >= 15
    for row in holds:
        reason = decided(row).hold_reason
        assert reason is not None
        assert reason.endswith(".")
        assert any(word in reason for word in ("Umsatzsteuer", "USt-IdNr", "Positionen"))


def test_a_rate_outside_0_to_100_percent_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"."):
        decide(OSS, "DE", None, [D(119)], D(19))


# ---------------------------------------------------------------------------- properties

contexts = st.sampled_from([OSS, NO_OSS, NO_SELLER_ID, SMALL])
countries = st.one_of(
    st.none(), st.sampled_from([*EU_VAT_RATES, "XI", "GB", "CH", "US", "NO", "EL", "", "de"])
)
known_ids = [vat_id for examples in VALID_VAT_IDS.values() for vat_id in examples]
vat_ids = st.one_of(
    st.none(),
    st.sampled_from(known_ids),
    st.sampled_from([v for examples in INVALID_VAT_IDS.values() for v in examples]),
    st.text(max_size=16),
)
all_rates = sorted(
    {rate for rates in EU_VAT_RATES.values() for rate in rates.all}
    | set(NORTHERN_IRELAND_RATES.all)
    | {D(16), D("8.1")}
)
line_rates = st.lists(st.sampled_from(all_rates), max_size=4)
taxes = st.one_of(st.just(D(0)), st.decimals(min_value=D("-500"), max_value=D("500"), places=2))
sales = st.tuples(contexts, countries, vat_ids, line_rates, taxes, st.booleans(), st.booleans())


def run(sale: tuple[Any, ...]) -> VatDecision:
    context, country, vat_id, rates, tax, business, exemption = sale
    return decide(
        context,
        country,
        vat_id,
        rates,
        tax,
        is_business=business,
        reverse_charge_exemption=exemption,
    )


def charges_vat(sale: tuple[Any, ...]) -> bool:
    _, _, _, rates, tax, _, _ = sale
    return tax != 0 or any(rate != 0 for rate in rates)


@given(sales)
def test_a_decision_never_has_both_a_note_and_a_hold_reason(sale: tuple[Any, ...]) -> None:
    decision = run(sale)
    assert decision.note is None or decision.hold_reason is None
    assert decision.hold == (decision.hold_reason is not None)
    assert decision.hold == (decision.tax_rule is None)
    assert decision.hold_reason is None or decision.hold_reason.strip()


@given(sales)
def test_reverse_charge_only_with_a_valid_foreign_eu_vat_id_and_no_vat(
    sale: tuple[Any, ...],
) -> None:
    decision = run(sale)
    if decision.case is VatCase.REVERSE_CHARGE:
        context, _, vat_id, *_ = sale
        assert valid_vat_id_format(vat_id)
        assert vat_id_member_state(vat_id) not in (None, "DE")
        assert not charges_vat(sale)
        assert not context.small_business
        assert decision.note is not None
        assert normalize_vat_id(vat_id) in decision.note
        assert SELLER in decision.note
        assert decision.vat_number_for_client == normalize_vat_id(vat_id)


@given(sales)
def test_no_tax_rule_only_when_nothing_was_charged(sale: tuple[Any, ...]) -> None:
    decision = run(sale)
    if decision.tax_rule is TaxRule.NO_TAX:
        assert not charges_vat(sale)
        assert decision.note is not None
        assert decision.rates is None
    if decision.tax_rule is TaxRule.TAX:
        assert charges_vat(sale)
        assert decision.note is None
        assert decision.rates is not None
        # Every line rate is one of the rates the invoice charges: never replaced, never odd.
        assert all(decision.rates.knows(rate) for rate in sale[3])


@given(sales)
def test_the_note_is_in_the_clients_language(sale: tuple[Any, ...]) -> None:
    decision = run(sale)
    assert decision.language == note_language(sale[1])
    if decision.note is not None:
        german = "UStG" in decision.note and "German VAT Act" not in decision.note
        assert german == (decision.language == "de")


@given(sales)
def test_a_decision_agrees_with_the_tax_rule_of_the_buyer(sale: tuple[Any, ...]) -> None:
    """What was charged may hold a sale, never move it to another tax-free case than
    :func:`autopilot.tax.tax_treatment` says (Northern Ireland aside, which it does not know)."""
    context, country, vat_id, *_ = sale
    decision = run(sale)
    valid = vat_id if valid_vat_id_format(vat_id) else None
    treatment = tax_treatment(country, valid, uses_oss=context.uses_oss)
    northern_ireland = (country or "").upper() in ("XI", "GB") and (
        vat_id_member_state(valid) == "XI" or (country or "").upper() == "XI"
    )
    if northern_ireland:
        return
    if decision.case is VatCase.REVERSE_CHARGE:
        assert treatment.case is TaxCase.REVERSE_CHARGE
    if decision.case is VatCase.EXPORT:
        assert treatment.case is TaxCase.EXPORT
    if decision.case is VatCase.OSS:
        # A business with a valid VAT ID that paid the destination's VAT anyway (no
        # exemption claimed) is taxed under OSS rather than reverse charge.
        assert treatment.case in (TaxCase.OSS, TaxCase.REVERSE_CHARGE)
        if treatment.case is TaxCase.OSS:
            assert decision.rates is treatment.rates
    if treatment.case is TaxCase.DOMESTIC and not context.small_business:
        assert decision.case in (VatCase.DOMESTIC, VatCase.HOLD)


@given(sales, st.sampled_from([D(-1), D(1)]))
def test_a_credit_note_decides_like_its_invoice(sale: tuple[Any, ...], sign: Decimal) -> None:
    context, country, vat_id, rates, tax, business, exemption = sale
    refund = (context, country, vat_id, rates, tax * sign, business, exemption)
    # The same decision; a hold reason quotes the refunded tax with its sign.
    assert replace(run(refund), hold_reason=None) == replace(run(sale), hold_reason=None)
    assert run(refund).hold == run(sale).hold
