"""What a deal's stage means for Billomat: quote, won, lost, or nothing yet.

HubSpot stages are per pipeline and custom pipelines use numeric ids, so the meaning comes
from the pipelines themselves (``GET /crm/v3/pipelines/deals``), never from the literal
``closedwon``:

- **won**: the stage is closed with probability 1;
- **lost**: the stage is closed with probability 0;
- **quote**: the stage is one of the configured quote stages (``DEAL_QUOTE_STAGES``, default
  ``contractsent``), named by id or label, case-insensitive;
- **open**: anything else (no Billomat work).

A closed stage always wins over the quote list: a misconfigured list cannot turn a lost deal
into a quote. A closed stage with another probability is ``open`` (nothing is invoiced on a
guess). A stage found in no pipeline is ``None``: the caller refreshes its cached pipelines
once and then gives up on the deal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from enum import StrEnum

from autopilot.hubspot import Pipeline, PipelineStage

ZERO = Decimal(0)


class StageMeaning(StrEnum):
    """What the deal's current stage asks of Billomat."""

    QUOTE = "quote"
    WON = "won"
    LOST = "lost"
    OPEN = "open"


def find_stage(
    pipelines: Sequence[Pipeline], pipeline_id: str | None, stage_id: str | None
) -> PipelineStage | None:
    """The stage ``stage_id`` of the deal's pipeline (any pipeline when it is not known)."""
    if not stage_id:
        return None
    candidates = [p for p in pipelines if p.id == pipeline_id] if pipeline_id else []
    for pipeline in candidates or pipelines:
        stage = pipeline.stage(stage_id)
        if stage is not None:
            return stage
    return None


def stage_meaning(stage: PipelineStage, quote_stages: Collection[str]) -> StageMeaning:
    """The meaning of ``stage`` (see the module docstring)."""
    if stage.is_won:
        return StageMeaning.WON
    if stage.is_closed:
        return StageMeaning.LOST if stage.probability == ZERO else StageMeaning.OPEN
    wanted = {name.strip().casefold() for name in quote_stages if name.strip()}
    if stage.id.casefold() in wanted or (stage.label or "").strip().casefold() in wanted:
        return StageMeaning.QUOTE
    return StageMeaning.OPEN


class PipelineCache:
    """The deal pipelines, fetched at most once per ``max_age`` seconds per container.

    :meth:`stage` refreshes once when the stage is not in the cached pipelines (a stage added
    in HubSpot since), so an unknown stage costs one extra request, not one per message.
    """

    def __init__(
        self,
        fetch: Callable[[], Sequence[Pipeline]],
        max_age: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._now = now
        self._pipelines: Sequence[Pipeline] | None = None
        self._fetched_at = 0.0
        self.fetches = 0
        """How often the pipelines were fetched (benches count HubSpot requests)."""

    def pipelines(self, *, refresh: bool = False) -> Sequence[Pipeline]:
        """The cached pipelines (fetched when missing, older than ``max_age`` or ``refresh``)."""
        if refresh or self._pipelines is None or self._now() - self._fetched_at > self._max_age:
            self._pipelines = tuple(self._fetch())
            self._fetched_at = self._now()
            self.fetches += 1
        return self._pipelines

    def stage(self, pipeline_id: str | None, stage_id: str | None) -> PipelineStage | None:
        """The deal's stage, refreshing the pipelines once when it is not among them."""
        fetches = self.fetches
        found = find_stage(self.pipelines(), pipeline_id, stage_id)
        if found is None and self.fetches == fetches:
            found = find_stage(self.pipelines(refresh=True), pipeline_id, stage_id)
        return found
