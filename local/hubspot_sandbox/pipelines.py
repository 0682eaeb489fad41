"""Deal pipelines of the sandbox portal: HubSpot's default one and a custom numeric-id one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PIPELINES_CREATED_AT = "2024-01-02T09:00:00Z"
"""When the portal's pipelines were set up (``createdAt``/``updatedAt`` of pipelines, stages)."""


@dataclass(frozen=True)
class Stage:
    """One deal stage; ``probability`` is kept as HubSpot's string (``"0.2"``)."""

    id: str
    label: str
    probability: str
    closed: bool = False

    @property
    def won(self) -> bool:
        """Closed with probability 1: a "closed won" stage (``hs_is_closed_won``)."""
        return self.closed and Decimal(self.probability) == 1

    def to_json(self, display_order: int) -> dict[str, Any]:
        """The stage as ``GET crm/v3/pipelines/deals`` lists it (metadata values are strings)."""
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": display_order,
            "metadata": {
                "isClosed": "true" if self.closed else "false",
                "probability": self.probability,
            },
            "archived": False,
            "createdAt": PIPELINES_CREATED_AT,
            "updatedAt": PIPELINES_CREATED_AT,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }


@dataclass(frozen=True)
class Pipeline:
    """A deal pipeline with its stages in display order."""

    id: str
    label: str
    stages: tuple[Stage, ...]

    def stage(self, stage_id: str) -> Stage | None:
        """The stage ``stage_id`` of this pipeline, if it has one."""
        return next((each for each in self.stages if each.id == stage_id), None)

    @property
    def stage_ids(self) -> list[str]:
        """Ids of the stages in display order."""
        return [each.id for each in self.stages]

    def to_json(self, display_order: int) -> dict[str, Any]:
        """The pipeline as ``GET crm/v3/pipelines/deals`` lists it."""
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": display_order,
            "archived": False,
            "createdAt": PIPELINES_CREATED_AT,
            "updatedAt": PIPELINES_CREATED_AT,
            "stages": [stage.to_json(order) for order, stage in enumerate(self.stages)],
        }


DEFAULT_PIPELINE = Pipeline(
    "default",
    "Sales Pipeline",
    (
        Stage("appointmentscheduled", "Appointment scheduled", "0.2"),
        Stage("qualifiedtobuy", "Qualified to buy", "0.4"),
        Stage("presentationscheduled", "Presentation scheduled", "0.6"),
        Stage("decisionmakerboughtin", "Decision maker bought-in", "0.8"),
        Stage("contractsent", "Contract sent", "0.9"),
        Stage("closedwon", "Closed won", "1.0", closed=True),
        Stage("closedlost", "Closed lost", "0.0", closed=True),
    ),
)

CUSTOM_PIPELINE = Pipeline(
    "31415926",
    "Projektgeschäft",
    (
        Stage("1001", "Anfrage", "0.1"),
        Stage("1002", "Angebot verschickt", "0.6"),
        Stage("1003", "Auftrag erteilt", "1.0", closed=True),
        Stage("1004", "Abgesagt", "0.0", closed=True),
    ),
)

PIPELINES: tuple[Pipeline, ...] = (DEFAULT_PIPELINE, CUSTOM_PIPELINE)


def find_pipeline(pipeline_id: str) -> Pipeline | None:
    """The pipeline ``pipeline_id``, if the portal has it."""
    return next((each for each in PIPELINES if each.id == pipeline_id), None)


def find_stage(pipeline_id: str | None, stage_id: str | None) -> Stage | None:
    """The stage ``stage_id`` of the pipeline ``pipeline_id``, if the portal has both."""
    pipeline = find_pipeline(pipeline_id or "")
    return pipeline.stage(stage_id or "") if pipeline else None


def pipelines_json() -> dict[str, Any]:
    """The body of ``GET crm/v3/pipelines/deals``."""
    return {"results": [pipeline.to_json(order) for order, pipeline in enumerate(PIPELINES)]}
