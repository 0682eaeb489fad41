"""Secrets Manager access through Powertools parameters, cached per container."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_AGE_SECONDS = 300


class SecretShapeError(RuntimeError):
    """A secret exists but is not the JSON object the code expects."""


def read_json_secret(secret_arn: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, str]:
    """Return the secret's JSON object; values are cached for ``max_age`` seconds.

    The value is never logged. Powertools is imported here, not at module level, because
    its parameters utility costs a noticeable share of a cold start.
    """
    from aws_lambda_powertools.utilities import parameters

    value: Any = parameters.get_secret(secret_arn, transform="json", max_age=max_age)
    if not isinstance(value, dict):
        raise SecretShapeError(f"secret {secret_arn} must hold a JSON object")
    return {str(key): "" if item is None else str(item) for key, item in value.items()}
