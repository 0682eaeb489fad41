"""Cross-border VAT (issue #12): VAT ID formats and normalisation, where the shops keep the VAT
ID, and the decision what an invoice or credit note says (case, tax rule, note, or a hold)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.tax import EU_VAT_RATES
from autopilot.vat_rules import (
    MAX_VAT_ID_LENGTH,
    VAT_ID_FORMATS,
    VatIdEvidence,
    normalize_vat_id,
    valid_vat_id_format,
    vat_id_from_shopify,
    vat_id_from_woocommerce,
    vat_id_member_state,
)

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
