"""Secrets Manager access through Powertools parameters, cached per container."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

DEFAULT_MAX_AGE_SECONDS = 300
UNSET_SECRET_VALUES = frozenset({"", "-"})
"""A secret's value meaning "not set": ``sam deploy --guided`` cannot leave a NoEcho parameter
empty, so ``-`` stands for empty (the template stores it as "")."""
# Give up well inside the intake's 5 s instead of botocore's default 60 s per attempt.
SECRETS_CLIENT_CONFIG = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


class SecretShapeError(RuntimeError):
    """A secret exists but is not the JSON object the code expects."""


def read_json_secret(secret_arn: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, str]:
    """Return the secret's JSON object; values are cached for ``max_age`` seconds.

    The value is never logged. Powertools is imported here, not at module level, because
    its parameters utility costs a noticeable share of a cold start.
    """
    value: Any = _provider().get(secret_arn, transform="json", max_age=max_age)
    if not isinstance(value, dict):
        raise SecretShapeError(f"secret {secret_arn} must hold a JSON object")
    return {str(key): _as_text(item) for key, item in value.items()}


def _as_text(item: Any) -> str:
    """A secret's value as text; a nested list or object stays JSON (rotation, per shop)."""
    if item is None:
        return ""
    if isinstance(item, list | dict):
        return json.dumps(item)
    return str(item)


@cache
def _provider() -> Any:
    """Powertools' Secrets Manager provider with timeouts that fit a short function."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    return SecretsProvider(boto_config=Config(**SECRETS_CLIENT_CONFIG))
