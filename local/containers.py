"""Forgetting what a warm Lambda container would have cached, for tests and benches."""

from __future__ import annotations

import sys
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
CONTAINER_MODULE_PREFIXES = ("autopilot", *(p.name for p in FUNCTIONS_DIR.iterdir() if p.is_dir()))


def clear_container_caches() -> None:
    """Clear every cache of the layer and the function packages (settings, secrets, clients).

    That is every ``functools.cache`` and every SQS worker's container state, so a test or a
    bench case starts like a cold container with its own environment.
    """
    from aws_lambda_powertools.utilities import parameters

    from autopilot.sqs_worker import SqsWorker

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(CONTAINER_MODULE_PREFIXES):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, SqsWorker) or (
                callable(getattr(value, "cache_clear", None)) and hasattr(value, "__wrapped__")
            ):
                value.cache_clear()
