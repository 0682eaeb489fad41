"""HubSpot CRM objects as the rest of the code sees them, parsed from untrusted answers.

HubSpot sends every property value as a string or null (``"4800"``, ``"1200.00"``, ``"true"``).
These models parse them once: numbers as Decimal (never float; NaN, infinity and magnitudes of
10^12 and more are refused), timestamps as aware datetimes, ``"true"``/``"false"`` as bool, and
``""`` as None. Strings are bounded, ids are numeric strings. Unknown fields are ignored.

The ``parse_*`` functions turn a decoded answer into a model; whatever does not fit raises
:class:`~autopilot.hubspot.errors.HubSpotResponseError` naming the field as HubSpot spells it
(``properties.amount``), never a bare KeyError or pydantic ValidationError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from autopilot.hubspot.errors import HubSpotResponseError

DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "description",
)
DEAL_ASSOCIATIONS = ("companies", "contacts", "line_items")
LINE_ITEM_PROPERTIES = (
    "name",
    "quantity",
    "price",
    "amount",
    "hs_sku",
    "hs_discount_percentage",
    "discount",
    "description",
)
COMPANY_PROPERTIES = ("name", "address", "address2", "zip", "city", "country", "domain")
CONTACT_PROPERTIES = ("firstname", "lastname", "email", "phone", "company")

MAGNITUDE_LIMIT = Decimal(10) ** 12
"""No amount, price or quantity we accept comes near this (a trillion)."""
MAX_NUMBER_TEXT = 64
NAME_CHARS = 1000
"""Names, addresses, e-mail addresses, SKUs: far beyond anything real, small enough to hold."""
LONG_TEXT_CHARS = 65536
"""HubSpot's own limit for a text property (descriptions)."""
KEY_CHARS = 100
"""Pipeline and stage ids, currency codes."""
PROPERTY_NAME_CHARS = 200
MAX_PROPERTIES = 2000
MAX_ASSOCIATIONS = 10000
MAX_PIPELINES = 1000
MAX_STAGES = 1000

_NUMBER_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$")
OBJECT_ID = re.compile(r"^[0-9]{1,20}$")
"""A HubSpot object id: a numeric string (also what the client puts into a URL path)."""
_EPOCH_MILLIS = re.compile(r"^[0-9]{1,15}$")
_MAX_TIMESTAMP_CHARS = 40


# -- value parsers (pydantic before-validators) ------------------------------------------------


def parse_decimal(value: object) -> Decimal | None:
    """A HubSpot number (a string, or a JSON number decoded as int/Decimal) as exact Decimal.

    None and ``""`` give None. NaN, infinity, junk and magnitudes of 10^12 and more raise
    ValueError; floats are refused (decode JSON with ``parse_float=Decimal``).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > MAX_NUMBER_TEXT or not _NUMBER_TEXT.match(text):
            raise ValueError("expected a decimal number")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise ValueError("expected a decimal number") from None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        if abs(value) >= MAGNITUDE_LIMIT:
            raise ValueError("number too large (10^12 or more)")
        number = Decimal(value)
    else:
        raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError("expected a finite number")
    if abs(number) >= MAGNITUDE_LIMIT:
        raise ValueError("number too large (10^12 or more)")
    return number


def _required_decimal(value: object) -> Decimal:
    number = parse_decimal(value)
    if number is None:
        raise ValueError("missing")
    return number


def _optional_text(value: object) -> object:
    """``""`` and whitespace-only strings mean "no value"; everything else goes on to the type."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _object_id(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not OBJECT_ID.match(value):
        raise ValueError("expected a numeric object id")
    return value


def _timestamp(value: object) -> dt.datetime | None:
    """ISO 8601 (``2025-01-15T09:59:00Z``, with or without fraction), a date, or epoch ms."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # built in code, not parsed
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        raise ValueError("expected a timestamp as text")
    text = value.strip()
    if not text:
        return None
    if len(text) > _MAX_TIMESTAMP_CHARS:
        raise ValueError("timestamp too long")
    try:
        if _EPOCH_MILLIS.match(text):
            return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
        parsed = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise ValueError("expected an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _flag(value: object) -> bool:
    """HubSpot's metadata booleans: ``"true"``/``"false"`` (any case), real booleans, absent."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ValueError('expected "true" or "false"')


def _probability(value: object) -> Decimal | None:
    number = parse_decimal(value)
    if number is not None and not 0 <= number <= 1:
        raise ValueError("a probability lies between 0 and 1")
    return number


def _bounded(chars: int) -> StringConstraints:
    return StringConstraints(strict=True, max_length=chars)


ObjectId = Annotated[str, BeforeValidator(_object_id)]
Key = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=KEY_CHARS)]
Name = Annotated[Annotated[str, _bounded(NAME_CHARS)] | None, BeforeValidator(_optional_text)]
LongText = Annotated[
    Annotated[str, _bounded(LONG_TEXT_CHARS)] | None, BeforeValidator(_optional_text)
]
OptionalKey = Annotated[Annotated[str, _bounded(KEY_CHARS)] | None, BeforeValidator(_optional_text)]
Amount = Annotated[Decimal | None, BeforeValidator(parse_decimal)]
RequiredAmount = Annotated[Decimal, BeforeValidator(_required_decimal)]
Timestamp = Annotated[dt.datetime | None, BeforeValidator(_timestamp)]
PropertyName = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=PROPERTY_NAME_CHARS)
]
PropertyValue = Annotated[str, StringConstraints(strict=True, max_length=LONG_TEXT_CHARS)] | None
Ids = Annotated[tuple[ObjectId, ...], Field(max_length=MAX_ASSOCIATIONS)]


# -- models ----------------------------------------------------------------------------------


class HubSpotModel(BaseModel):
    """Base of the read models: frozen, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Deal(HubSpotModel):
    """A deal with its associated companies, contacts and line items (ids, in HubSpot's order)."""

    id: ObjectId
    name: Name = None
    amount: Amount = None
    currency: OptionalKey = None
    stage: OptionalKey = None
    pipeline: OptionalKey = None
    close_date: Timestamp = None
    description: LongText = None
    company_ids: Ids = ()
    contact_ids: Ids = ()
    line_item_ids: Ids = ()
    properties: Annotated[dict[PropertyName, PropertyValue], Field(max_length=MAX_PROPERTIES)] = (
        Field(default_factory=dict)
    )
    """Every property HubSpot returned, as it sent it (requested extras included)."""

    @property
    def primary_contact_id(self) -> str | None:
        """The first associated contact (HubSpot keeps the association order)."""
        return self.contact_ids[0] if self.contact_ids else None

    @property
    def primary_company_id(self) -> str | None:
        """The first associated company."""
        return self.company_ids[0] if self.company_ids else None


class LineItem(HubSpotModel):
    """A deal's line item. ``discount`` is a fixed amount off per unit, ``discount_percentage``
    a percentage off; ``amount`` is HubSpot's own total (quantity × discounted price)."""

    id: ObjectId
    name: Name = None
    quantity: RequiredAmount
    price: RequiredAmount
    amount: Amount = None
    sku: Name = None
    discount_percentage: Amount = None
    discount: Amount = None
    description: LongText = None


class Company(HubSpotModel):
    """A company; ``country`` is free text as a user typed it ("Deutschland", "DE")."""

    id: ObjectId
    name: Name = None
    address: Name = None
    address2: Name = None
    zip: Name = None
    city: Name = None
    country: Name = None
    domain: Name = None


class Contact(HubSpotModel):
    """A contact (a deal's first contact is its primary contact)."""

    id: ObjectId
    first_name: Name = None
    last_name: Name = None
    email: Name = None
    phone: Name = None
    company: Name = None
    """The company name typed on the contact itself (not an association)."""

    @property
    def full_name(self) -> str | None:
        """First and last name joined by a space; None when the contact has neither."""
        parts = [part.strip() for part in (self.first_name, self.last_name) if part]
        return " ".join(part for part in parts if part) or None


class PipelineStage(HubSpotModel):
    """A deal stage; metadata ``isClosed``/``probability`` arrive as strings."""

    id: Key
    label: Name = None
    is_closed: Annotated[bool, BeforeValidator(_flag)] = False
    probability: Annotated[Decimal | None, BeforeValidator(_probability)] = None

    @property
    def is_won(self) -> bool:
        """Closed with probability 1: HubSpot's meaning of "won" (``closedwon`` and the like)."""
        return self.is_closed and self.probability == 1


class Pipeline(HubSpotModel):
    """A deal pipeline with its stages in HubSpot's order."""

    id: Key
    label: Name = None
    stages: Annotated[tuple[PipelineStage, ...], Field(max_length=MAX_STAGES)] = ()

    def stage(self, stage_id: str) -> PipelineStage | None:
        """The stage with this id, or None."""
        return next((stage for stage in self.stages if stage.id == stage_id), None)


class DealUpdate(HubSpotModel):
    """What ``update_deal`` wrote, and which properties are not defined for deals in HubSpot."""

    written: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


# -- parsing answers ---------------------------------------------------------------------------


def parse_deal(payload: object) -> Deal:
    """A deal from ``GET crm/v3/objects/deals/{id}?associations=...``."""
    record, properties = _crm_object(payload, "deal")
    associations = record.get("associations")
    if associations is not None and not isinstance(associations, Mapping):
        raise _shape("deal", "associations", "expected an object")
    links = associations or {}
    values = {
        "id": record.get("id"),
        "name": properties.get("dealname"),
        "amount": properties.get("amount"),
        "currency": properties.get("deal_currency_code"),
        "stage": properties.get("dealstage"),
        "pipeline": properties.get("pipeline"),
        "close_date": properties.get("closedate"),
        "description": properties.get("description"),
        "company_ids": _association_ids(links, "companies"),
        "contact_ids": _association_ids(links, "contacts"),
        "line_item_ids": _association_ids(links, "line_items"),
        "properties": dict(properties),
    }
    return _validate(Deal, values, _DEAL_WIRE, "deal")


def parse_line_item(payload: object) -> LineItem:
    """One line item of a batch read's ``results``."""
    record, properties = _crm_object(payload, "line item")
    values = {
        "id": record.get("id"),
        "name": properties.get("name"),
        "quantity": properties.get("quantity"),
        "price": properties.get("price"),
        "amount": properties.get("amount"),
        "sku": properties.get("hs_sku"),
        "discount_percentage": properties.get("hs_discount_percentage"),
        "discount": properties.get("discount"),
        "description": properties.get("description"),
    }
    return _validate(LineItem, values, _LINE_ITEM_WIRE, _label("line item", record))


def parse_company(payload: object) -> Company:
    """A company from ``GET crm/v3/objects/companies/{id}``."""
    record, properties = _crm_object(payload, "company")
    values = {"id": record.get("id"), **{name: properties.get(name) for name in COMPANY_PROPERTIES}}
    return _validate(Company, values, _COMPANY_WIRE, "company")


def parse_contact(payload: object) -> Contact:
    """A contact from ``GET crm/v3/objects/contacts/{id}``."""
    record, properties = _crm_object(payload, "contact")
    values = {
        "id": record.get("id"),
        "first_name": properties.get("firstname"),
        "last_name": properties.get("lastname"),
        "email": properties.get("email"),
        "phone": properties.get("phone"),
        "company": properties.get("company"),
    }
    return _validate(Contact, values, _CONTACT_WIRE, "contact")


def parse_pipelines(payload: object) -> list[Pipeline]:
    """The pipelines of ``GET crm/v3/pipelines/deals``."""
    results = _results(payload, "pipelines", MAX_PIPELINES)
    pipelines = []
    for index, item in enumerate(results):
        where = f"results.{index}"
        if not isinstance(item, Mapping):
            raise _shape("pipelines", where, "expected an object")
        stages = item.get("stages", [])
        if not isinstance(stages, list):
            raise _shape("pipelines", f"{where}.stages", "expected a list")
        if len(stages) > MAX_STAGES:
            raise _shape("pipelines", f"{where}.stages", f"more than {MAX_STAGES} stages")
        stage_values = []
        for position, stage in enumerate(stages):
            if not isinstance(stage, Mapping):
                raise _shape("pipelines", f"{where}.stages.{position}", "expected an object")
            metadata = stage.get("metadata")
            metadata = {} if metadata is None else metadata
            if not isinstance(metadata, Mapping):
                raise _shape(
                    "pipelines", f"{where}.stages.{position}.metadata", "expected an object"
                )
            stage_values.append(
                {
                    "id": stage.get("id"),
                    "label": stage.get("label"),
                    "is_closed": metadata.get("isClosed"),
                    "probability": metadata.get("probability"),
                }
            )
        values = {"id": item.get("id"), "label": item.get("label"), "stages": stage_values}
        pipelines.append(_validate(Pipeline, values, _PIPELINE_WIRE, "pipelines", prefix=where))
    return pipelines


def batch_results(payload: object, limit: int) -> list[Mapping[str, Any]]:
    """The ``results`` objects of a batch read answer (checked to be a bounded list)."""
    results = _results(payload, "batch read", limit)
    for index, item in enumerate(results):
        if not isinstance(item, Mapping):
            raise _shape("batch read", f"results.{index}", "expected an object")
    return results


_DEAL_WIRE = {
    "name": "properties.dealname",
    "amount": "properties.amount",
    "currency": "properties.deal_currency_code",
    "stage": "properties.dealstage",
    "pipeline": "properties.pipeline",
    "close_date": "properties.closedate",
    "description": "properties.description",
    "company_ids": "associations.companies",
    "contact_ids": "associations.contacts",
    "line_item_ids": "associations.line_items",
}
_LINE_ITEM_WIRE = {
    "name": "properties.name",
    "quantity": "properties.quantity",
    "price": "properties.price",
    "amount": "properties.amount",
    "sku": "properties.hs_sku",
    "discount_percentage": "properties.hs_discount_percentage",
    "discount": "properties.discount",
    "description": "properties.description",
}
_COMPANY_WIRE = {name: f"properties.{name}" for name in COMPANY_PROPERTIES}
_CONTACT_WIRE = {
    "first_name": "properties.firstname",
    "last_name": "properties.lastname",
    "email": "properties.email",
    "phone": "properties.phone",
    "company": "properties.company",
}
_PIPELINE_WIRE = {"is_closed": "metadata.isClosed", "probability": "metadata.probability"}


def _crm_object(payload: object, what: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if not isinstance(payload, Mapping):
        raise _shape(what, "body", "expected a JSON object")
    properties = payload.get("properties")
    if not isinstance(properties, Mapping):
        raise _shape(_label(what, payload), "properties", "expected an object")
    if len(properties) > MAX_PROPERTIES:
        raise _shape(_label(what, payload), "properties", f"more than {MAX_PROPERTIES}")
    return payload, properties


def _results(payload: object, what: str, limit: int) -> list[Any]:
    if not isinstance(payload, Mapping):
        raise _shape(what, "body", "expected a JSON object")
    results = payload.get("results")
    if not isinstance(results, list):
        raise _shape(what, "results", "expected a list")
    if len(results) > limit:
        raise _shape(what, "results", f"more than {limit} entries")
    return results


def _association_ids(associations: Mapping[str, Any], kind: str) -> list[object]:
    """Ids of one association kind, in HubSpot's order, each once (HubSpot lists an object
    once per association type, e.g. ``deal_to_company`` and ``deal_to_company_unlabeled``)."""
    field = f"associations.{kind}"
    links = associations.get(kind)
    if links is None:
        return []
    if not isinstance(links, Mapping) or not isinstance(links.get("results"), list):
        raise _shape("deal", field, "expected an object with a results list")
    paging = links.get("paging")
    if isinstance(paging, Mapping) and paging.get("next"):
        raise _shape("deal", f"{field}.paging", "more associations than one page holds")
    results: list[Any] = links["results"]
    if len(results) > MAX_ASSOCIATIONS:
        raise _shape("deal", field, f"more than {MAX_ASSOCIATIONS} entries")
    ids: list[object] = []
    for index, link in enumerate(results):
        if not isinstance(link, Mapping):
            raise _shape("deal", f"{field}.results.{index}", "expected an object")
        object_id = link.get("id")
        if object_id not in ids:
            ids.append(object_id)
    return ids


def _validate[M: HubSpotModel](
    model: type[M],
    values: Mapping[str, Any],
    wire: Mapping[str, str],
    what: str,
    *,
    prefix: str = "",
) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        field = _wire_field(error["loc"], wire)
        if prefix:
            field = f"{prefix}.{field}"
        # Not chained: pydantic's message would repeat the (untrusted, maybe personal) input.
        raise _shape(what, field, error["msg"]) from None


def _wire_field(loc: Sequence[int | str], wire: Mapping[str, str]) -> str:
    """The field as HubSpot names it: ``amount`` -> ``properties.amount``."""
    if not loc:
        return "body"
    parts = [str(part) for part in loc]
    if parts[0] == "stages" and len(parts) >= 3:
        # stages.<n>.<field>: metadata fields live one level down
        inner = wire.get(parts[2], parts[2])
        return ".".join([*parts[:2], inner, *parts[3:]])
    return ".".join([wire.get(parts[0], parts[0]), *parts[1:]])


def _label(what: str, record: Mapping[str, Any]) -> str:
    object_id = record.get("id")
    if isinstance(object_id, str) and OBJECT_ID.match(object_id):
        return f"{what} {object_id}"
    return what


def _shape(what: str, field: str, problem: str) -> HubSpotResponseError:
    return HubSpotResponseError(f"HubSpot sent an unusable {what}: {field}: {problem}", field=field)
