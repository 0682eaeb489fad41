"""What the operator API reads from the environment (the queues: see :mod:`queues`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from autopilot.settings import EnvironmentSettings


class AdminSettings(EnvironmentSettings):
    """The workflow table and how dead letters are redriven."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    dead_letter_redrive: Literal["move_task", "copy"] = Field(
        default="copy", alias="DEAD_LETTER_REDRIVE"
    )
    """``move_task`` (the template): SQS's StartMessageMoveTask; ``copy`` (local mode, moto has
    no move task): receive from the DLQ, send to the source queue, delete."""
    scheduled_failures_queue_url: str | None = Field(
        default=None, alias="SCHEDULED_FAILURES_QUEUE_URL"
    )
    """Failed scheduled runs and statement imports (not set in local mode)."""
    rerunnable_functions: str = Field(default="", alias="RERUNNABLE_FUNCTIONS")
    """Comma-separated ARNs of the functions a failed run may be re-run on (see ``reruns``)."""

    @property
    def rerunnable(self) -> list[str]:
        return [arn.strip() for arn in self.rerunnable_functions.split(",") if arn.strip()]

    @property
    def redrive_with_move_task(self) -> bool:
        return self.dead_letter_redrive == "move_task"
