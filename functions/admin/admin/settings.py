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

    @property
    def redrive_with_move_task(self) -> bool:
        return self.dead_letter_redrive == "move_task"
