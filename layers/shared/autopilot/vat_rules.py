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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
