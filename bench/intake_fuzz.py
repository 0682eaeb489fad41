"""Hostile and malformed requests against the webhook intake: how many got a 5xx (target 0).

Every request of ``local.hostile_requests`` (mutated sample bodies correctly signed, hostile
JSON documents, random bytes, hostile headers) goes through the intake's
Lambda handler with moto standing in for AWS, as in local mode. Printed for a fixed seed:
requests tried, answers by status and by kind of attack, 5xx answers, and broken promises
(a refused request that wrote something, a queued message the worker could not take).

Run: `.venv/bin/python bench/intake_fuzz.py [--requests 2500] [--seed 8]`; exits 1 when any
promise was broken.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    from moto import mock_aws

    from local.aws import LocalAws, use_fake_aws_environment
    from local.dev_settings import (
        DEV_SHOPIFY_SHOP_DOMAIN,
        DEV_WEBHOOK_SECRETS,
        DEV_WOOCOMMERCE_SITE_URL,
        webhook_secrets_json,
    )
    from local.hostile_requests import HostileRequests, IntakeProbe

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    secrets = DEV_WEBHOOK_SECRETS
    with mock_aws():
        aws = LocalAws()
        environment = aws.create(
            billomat_secret={"api_key": "-", "app_id": "", "app_secret": ""},
            webhook_secrets=webhook_secrets_json(secrets),
            hubspot_token="-",  # noqa: S106 - not a secret: the intake never reads it
        )
        environment.update(
            {
                "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
                "SHOPIFY_SHOP_DOMAIN": DEV_SHOPIFY_SHOP_DOMAIN,
                "WOOCOMMERCE_SITE_URL": DEV_WOOCOMMERCE_SITE_URL,
            }
        )
        os.environ.update(environment)
        probe = IntakeProbe(
            dict(aws.queue_urls),  # every work queue
            environment["IDEMPOTENCY_TABLE"],
        )
        requests = HostileRequests(secrets)
        rng = random.Random(args.seed)  # noqa: S311 - repeatable test data, not a secret
        by_status: Counter[int] = Counter()
        by_attack: Counter[tuple[str, int]] = Counter()
        broken = []
        started = time.perf_counter()
        for _ in range(args.requests):
            request = requests.make(rng)
            result = probe.send(request)
            by_status[result.status] += 1
            by_attack[(request.attack, result.status)] += 1
            if result.problems:
                broken.append((request.attack, request.route, result.problems))
        elapsed = time.perf_counter() - started

    server_errors = sum(n for status, n in by_status.items() if status >= 500)
    print(f"requests tried: {args.requests} (seed {args.seed}, {elapsed:.1f} s)")
    print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    attacks = sorted({attack for attack, _ in by_attack})
    for attack in attacks:
        counts = ", ".join(
            f"{status}: {n}" for (name, status), n in sorted(by_attack.items()) if name == attack
        )
        print(f"  {attack:9} {counts}")
    print(f"5xx answers: {server_errors} (target 0)")
    print(f"broken promises: {len(broken)} (target 0)")
    for attack, route, problems in broken[:10]:
        print(f"  {attack} {route}: {json.dumps(problems)[:300]}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
