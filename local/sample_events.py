"""Sample webhook deliveries in events/, signed the way each source signs them.

A sample file holds `route`, `headers`, `body` (JSON value or raw string), `signature`
(shopify | woocommerce | hubspot_v3 | bank | qonto | none) and a `description`. The body
is serialised compactly and signed with the local secrets, so a replay is a faithful
delivery that the intake verifies with its real code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopilot.signatures import (
    base64_hmac_sha256,
    hubspot_v3_signature,
    timestamped_signature_header,
)

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@dataclass(frozen=True)
class SampleDelivery:
    """One signed HTTP request, ready to send."""

    name: str
    description: str
    route: str
    headers: dict[str, str]
    body: bytes


def sample_files(directory: Path = EVENTS_DIR) -> list[Path]:
    """Every sample delivery under ``directory`` (sorted, so replays are repeatable)."""
    return sorted(p for p in directory.rglob("*.json") if not p.name.startswith("_"))


def signed_headers(
    scheme: str,
    route: str,
    headers: Mapping[str, str],
    body: bytes,
    webhook_secrets: Mapping[str, str],
    public_base_url: str,
    timestamp: int,
) -> dict[str, str]:
    """``headers`` plus the signature the sender of ``scheme`` would put on ``body``."""
    signed = dict(headers)
    if scheme == "shopify":
        signed["X-Shopify-Hmac-Sha256"] = base64_hmac_sha256(
            body, webhook_secrets["SHOPIFY_WEBHOOK_SECRET"]
        )
    elif scheme == "woocommerce":
        signed["X-WC-Webhook-Signature"] = base64_hmac_sha256(
            body, webhook_secrets["WOOCOMMERCE_WEBHOOK_SECRET"]
        )
    elif scheme == "hubspot_v3":
        millis = timestamp * 1000
        signed["X-HubSpot-Request-Timestamp"] = str(millis)
        signed["X-HubSpot-Signature-v3"] = hubspot_v3_signature(
            "POST", public_base_url + route, body, millis, webhook_secrets["HUBSPOT_CLIENT_SECRET"]
        )
    elif scheme == "bank":
        signed["X-Signature"] = timestamped_signature_header(
            body, webhook_secrets["BANK_WEBHOOK_SECRET"], timestamp
        )
    elif scheme == "qonto":
        signed["X-Qonto-Signature"] = timestamped_signature_header(
            body, webhook_secrets["QONTO_WEBHOOK_SECRET"], timestamp
        )
    elif scheme != "none":
        raise ValueError(f"unknown signature scheme {scheme!r}")
    return signed


def load_delivery(
    path: Path,
    webhook_secrets: Mapping[str, str],
    public_base_url: str,
    now: float | None = None,
) -> SampleDelivery:
    """Read a sample file and sign its body with ``webhook_secrets`` (env-style names)."""
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    raw = spec["body"]
    body = (
        raw.encode("utf-8")
        if isinstance(raw, str)
        else json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    )
    headers = {str(k): str(v) for k, v in spec.get("headers", {}).items()}
    timestamp = int(time.time() if now is None else now)
    try:
        headers = signed_headers(
            spec.get("signature", "none"),
            spec["route"],
            headers,
            body,
            webhook_secrets,
            public_base_url,
            timestamp,
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    name = str(path.relative_to(path.parents[1])) if len(path.parents) > 1 else path.name
    return SampleDelivery(name, spec.get("description", ""), spec["route"], headers, body)
