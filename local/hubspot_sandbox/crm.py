"""The portal's CRM records: objects per type, their properties, associations and JSON shape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .pipelines import find_stage
from .wire import iso

OBJECT_TYPES = ("deals", "companies", "contacts", "line_items")
"""Object types as they appear in paths and association keys."""

SINGULAR = {
    "deals": "deal",
    "companies": "company",
    "contacts": "contact",
    "line_items": "line_item",
}
"""Singular names, as in association types (``deal_to_company``)."""

FIRST_IDS = {"deals": 5001, "companies": 6001, "line_items": 7001, "contacts": 8001}
"""Each object type counts its ids up from here."""

SYSTEM_PROPERTIES = ("hs_object_id", "createdate", "hs_lastmodifieddate")
"""Defined for every type, always returned, never writable."""

STANDARD_PROPERTIES: dict[str, tuple[str, ...]] = {
    "deals": (
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "closedate",
        "description",
        "hs_is_closed_won",
    ),
    "companies": ("name", "address", "address2", "zip", "city", "country", "domain", "phone"),
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "line_items": (
        "name",
        "quantity",
        "price",
        "amount",
        "hs_sku",
        "hs_discount_percentage",
        "discount",
        "description",
        "hs_tax_rate_group_id",
    ),
}
"""Properties every portal defines, besides :data:`SYSTEM_PROPERTIES`."""

DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
    "line_items": ("name", "quantity", "price", "amount"),
}
"""What a read returns without a ``properties`` parameter (plus the system properties)."""

CALCULATED_PROPERTIES = frozenset({"hs_is_closed_won"})
"""Read-only properties HubSpot derives (``hs_is_closed_won`` from the deal's stage)."""

CUSTOM_DEAL_PROPERTIES = ("billomat_offer_number", "billomat_invoice_number", "billomat_link")
"""The write-back properties a portal set up for the Autopilot defines (the default)."""

ASSOCIATION_NAMES = {
    "deal": "deals",
    "deals": "deals",
    "company": "companies",
    "companies": "companies",
    "contact": "contacts",
    "contacts": "contacts",
    "line_item": "line_items",
    "line_items": "line_items",
}
"""Names accepted in ``associations=`` (singular or plural) and the key they answer under."""


@dataclass
class CrmObject:
    """One record; ``properties`` holds strings or ``None``, keyed by property name."""

    object_type: str
    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime

    def touch(self, now: datetime) -> None:
        """Mark the record as modified at ``now``."""
        self.updated_at = now
        self.properties["hs_lastmodifieddate"] = iso(now)


class CrmStore:
    """All records of the portal (not thread-safe: the sandbox holds its lock around calls)."""

    def __init__(self, custom_deal_properties: Iterable[str] = CUSTOM_DEAL_PROPERTIES) -> None:
        self._objects: dict[str, dict[str, CrmObject]] = {kind: {} for kind in OBJECT_TYPES}
        self._next_id = dict(FIRST_IDS)
        self._links: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._custom_deal_properties: list[str] = []
        for name in custom_deal_properties:
            self.define_deal_property(name)

    # --- property definitions ------------------------------------------------------------------

    def defined(self, object_type: str) -> tuple[str, ...]:
        """Every property defined for ``object_type``."""
        custom = tuple(self._custom_deal_properties) if object_type == "deals" else ()
        return SYSTEM_PROPERTIES + STANDARD_PROPERTIES[object_type] + custom

    def is_defined(self, object_type: str, name: str) -> bool:
        """True when ``name`` is a property of ``object_type`` in this portal."""
        return name in self.defined(object_type)

    @property
    def custom_deal_properties(self) -> tuple[str, ...]:
        """Deal properties defined on top of the standard ones."""
        return tuple(self._custom_deal_properties)

    def define_deal_property(self, name: str) -> None:
        """Define a custom deal property (a no-op when it exists)."""
        if not name or not name.replace("_", "").isalnum() or name != name.lower():
            raise ValueError(f"not a HubSpot property name: {name!r}")
        if not self.is_defined("deals", name):
            self._custom_deal_properties.append(name)

    def undefine_deal_property(self, name: str) -> None:
        """Delete a custom deal property and its values; standard properties stay."""
        if name not in self._custom_deal_properties:
            if self.is_defined("deals", name):
                raise ValueError(f"{name!r} is a standard deal property and cannot be deleted")
            raise ValueError(f"no custom deal property {name!r}")
        self._custom_deal_properties.remove(name)
        for deal in self._objects["deals"].values():
            deal.properties.pop(name, None)

    # --- records -----------------------------------------------------------------------------

    def create(self, object_type: str, values: dict[str, str | None], now: datetime) -> CrmObject:
        """Store a new record of ``object_type`` with ``values`` (names must be defined)."""
        unknown = [name for name in values if not self.is_defined(object_type, name)]
        if unknown:
            raise ValueError(f"{object_type} have no properties {', '.join(unknown)}")
        object_id = str(self._next_id[object_type])
        self._next_id[object_type] += 1
        properties: dict[str, str | None] = {
            **values,
            "hs_object_id": object_id,
            "createdate": iso(now),
            "hs_lastmodifieddate": iso(now),
        }
        record = CrmObject(object_type, object_id, properties, now, now)
        self._objects[object_type][object_id] = record
        return record

    def get(self, object_type: str, object_id: str) -> CrmObject | None:
        """The record, or ``None`` for unknown (or non-numeric) ids."""
        return self._objects[object_type].get(object_id)

    def require(self, object_type: str, object_id: str) -> CrmObject:
        """The record; raises ``KeyError`` naming it when unknown."""
        record = self.get(object_type, str(object_id))
        if record is None:
            raise KeyError(f"no {SINGULAR[object_type]} {object_id}")
        return record

    def all(self, object_type: str) -> list[CrmObject]:
        """Every record of ``object_type`` in id order."""
        return list(self._objects[object_type].values())

    # --- associations --------------------------------------------------------------------------

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Link two records both ways, keeping the order links were made in."""
        for (a_type, a_id), (b_type, b_id) in (
            ((from_type, from_id), (to_type, to_id)),
            ((to_type, to_id), (from_type, from_id)),
        ):
            linked = self._links.setdefault((a_type, a_id), {}).setdefault(b_type, [])
            if b_id not in linked:
                linked.append(b_id)

    def associated(self, object_type: str, object_id: str, other_type: str) -> list[str]:
        """Ids of the ``other_type`` records linked to the record, in link order."""
        return list(self._links.get((object_type, object_id), {}).get(other_type, []))

    # --- reading ---------------------------------------------------------------------------------

    def value(self, record: CrmObject, name: str) -> str | None:
        """A property value as read (calculated ones derived now)."""
        if name == "hs_is_closed_won":
            stage = find_stage(
                record.properties.get("pipeline"), record.properties.get("dealstage")
            )
            return "true" if stage is not None and stage.won else "false"
        return record.properties.get(name)

    def render(
        self,
        record: CrmObject,
        names: Iterable[str] | None = None,
        associations: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """The record in HubSpot's object shape.

        ``names`` are the requested properties (``None``: the type's defaults); undefined names
        are left out, defined ones without a value are ``null``, system properties always come.
        ``associations`` lists wanted association kinds; kinds without links are left out.
        """
        wanted = DEFAULT_PROPERTIES[record.object_type] if names is None else names
        defined = self.defined(record.object_type)
        properties: dict[str, str | None] = {}
        for name in [*wanted, *SYSTEM_PROPERTIES]:
            if name in defined and name not in properties:
                properties[name] = self.value(record, name)
        body: dict[str, Any] = {
            "id": record.id,
            "properties": properties,
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
            "archived": False,
        }
        links = self._render_associations(record, associations or ())
        if links:
            body["associations"] = links
        return body

    def _render_associations(self, record: CrmObject, kinds: Iterable[str]) -> dict[str, Any]:
        links: dict[str, Any] = {}
        for kind in kinds:
            other = ASSOCIATION_NAMES.get(kind.lower())
            if other is None or other in links:
                continue
            ids = self.associated(record.object_type, record.id, other)
            if ids:
                link_type = f"{SINGULAR[record.object_type]}_to_{SINGULAR[other]}"
                links[other] = {"results": [{"id": each, "type": link_type} for each in ids]}
        return links

    def to_json(self, record: CrmObject) -> dict[str, Any]:
        """Everything stored about a record (every defined property, every association)."""
        return self.render(record, self.defined(record.object_type), OBJECT_TYPES)
