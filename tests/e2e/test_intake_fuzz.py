"""Property-based fuzzing of every webhook route through the intake handler (issue #8).

Random bytes, hostile JSON, hostile headers and boundary numbers, correctly signed and not,
from ``local.hostile_requests``. For every request: never a 5xx (only 2xx, 400, 401, 409 or
413); a refused request writes nothing (no queue message, no delivery record); a queued
message is one the worker can take. The intake never holds the Billomat key, so nothing it
does can reach Billomat.
"""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.hostile_requests import HostileRequests, IntakeProbe

from .conftest import Stack

SECRETS = {**DEV_WEBHOOK_SECRETS, "QONTO_WEBHOOK_SECRET": "qonto-fuzz-secret"}


def probe_for(stack: Stack) -> IntakeProbe:
    import boto3

    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    arn = stack.environment["WEBHOOK_SECRETS_ARN"]
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    value["qonto"] = SECRETS["QONTO_WEBHOOK_SECRET"]
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    return IntakeProbe(
        dict(stack.aws.queue_urls),  # every work queue
        stack.environment["IDEMPOTENCY_TABLE"],
    )


REQUESTS = HostileRequests(SECRETS)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rng=st.randoms(use_true_random=False))
def test_no_hostile_request_gets_a_5xx_or_leaves_anything_behind(
    stack: Stack, rng: random.Random
) -> None:
    probe = probe_for(stack)
    request = REQUESTS.make(rng)
    result = probe.send(request)
    assert result.problems == [], (request.attack, request.route, request.headers, result)
