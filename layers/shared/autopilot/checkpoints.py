"""Typed workflow checkpoints: one pydantic model per kind of checkpoint in the workflow table.

A workflow reads its checkpoint as a model and saves changes by field name; a field name the
model does not have is a bug and raises at once instead of writing an attribute nobody reads.
The attribute names are the ones stored since the first release, so checkpoints written by an
older version are read unchanged. DynamoDB gives numbers back as ``Decimal``; the models turn
them into ``int`` where an id is meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from autopilot.workflow_state import WorkflowStore


class Checkpoint(BaseModel):
    """Base of every checkpoint model (the table's own keys and timestamps are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class CheckpointRecord[C: "Checkpoint"]:
    """One workflow-table item (``pk``/``sk``), read and written as the model ``C``."""

    def __init__(self, store: WorkflowStore, model: type[C], pk: str, sk: str) -> None:
        self.store = store
        self.model = model
        self.pk = pk
        self.sk = sk

    def load(self) -> C:
        """The checkpoint as stored (an empty one when nothing is stored yet)."""
        return self.model.model_validate(self.store.get(self.pk, self.sk) or {})

    def save(self, **changes: Any) -> C:
        """Set the given fields (``None`` clears one) and return the whole checkpoint."""
        unknown = set(changes) - set(self.model.model_fields)
        if unknown:
            raise TypeError(f"{self.model.__name__} has no field {', '.join(sorted(unknown))}")
        return self.model.model_validate(self.store.update(self.pk, self.sk, _plain(changes)))


def _plain(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Models inside a change are stored as their JSON-ready dicts."""
    return {
        key: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        for key, value in changes.items()
    }
