"""Deal rules: stages belong to their pipeline, closing sets ``closedate``, write validation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .crm import CALCULATED_PROPERTIES, SYSTEM_PROPERTIES, CrmObject, CrmStore
from .pipelines import PIPELINES, find_pipeline, find_stage
from .wire import iso

READ_ONLY_DEAL_PROPERTIES = frozenset(SYSTEM_PROPERTIES) | CALCULATED_PROPERTIES


@dataclass(frozen=True)
class PropertyError:
    """One invalid property of a write, as HubSpot lists it inside the 400 message."""

    name: str
    error: str
    """``PROPERTY_DOESNT_EXIST``, ``READ_ONLY_VALUE`` or ``INVALID_OPTION``."""
    message: str

    def to_json(self) -> dict[str, Any]:
        """The entry of the JSON list embedded in the error message."""
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }


def validation_message(errors: list[PropertyError]) -> str:
    """``Property values were not valid: [...]`` with the compact JSON list HubSpot embeds."""
    entries = json.dumps([each.to_json() for each in errors], separators=(",", ":"))
    return f"Property values were not valid: {entries}"


def stage_problem(pipeline_id: str | None, stage_id: str | None) -> str | None:
    """Why ``stage_id`` cannot be a stage of ``pipeline_id`` (``None`` when it can)."""
    pipeline = find_pipeline(pipeline_id or "")
    if pipeline is None:
        allowed = ", ".join(each.id for each in PIPELINES)
        return f"{pipeline_id} was not one of the allowed options: [{allowed}]"
    if pipeline.stage(stage_id or "") is None:
        return f"{stage_id} was not one of the allowed options: [{', '.join(pipeline.stage_ids)}]"
    return None


def check_update(
    store: CrmStore, deal: CrmObject, values: Mapping[str, str | None]
) -> list[PropertyError]:
    """Everything wrong with writing ``values`` to ``deal`` (empty: the write may happen)."""
    errors: list[PropertyError] = []
    for name in values:
        if not store.is_defined("deals", name):
            message = f'Property "{name}" does not exist'
            errors.append(PropertyError(name, "PROPERTY_DOESNT_EXIST", message))
        elif name in READ_ONLY_DEAL_PROPERTIES:
            message = f"{name} is a read only property; its value cannot be set."
            errors.append(PropertyError(name, "READ_ONLY_VALUE", message))
    if "pipeline" in values or "dealstage" in values:
        pipeline = values.get("pipeline", deal.properties.get("pipeline"))
        stage = values.get("dealstage", deal.properties.get("dealstage"))
        problem = stage_problem(pipeline, stage)
        if problem is not None:
            culprit = "pipeline" if find_pipeline(pipeline or "") is None else "dealstage"
            errors.append(PropertyError(culprit, "INVALID_OPTION", problem))
    return errors


def apply_update(deal: CrmObject, values: Mapping[str, str | None], now: datetime) -> None:
    """Write checked ``values``; entering a closed stage without a close date sets it to now."""
    deal.properties.update(values)
    if "dealstage" in values:
        stage = find_stage(deal.properties.get("pipeline"), deal.properties.get("dealstage"))
        if stage is not None and stage.closed and not deal.properties.get("closedate"):
            deal.properties["closedate"] = iso(now)
    deal.touch(now)
