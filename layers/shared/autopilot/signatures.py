"""Webhook signature schemes (reference/webhooks.md §1.3, §2.3, §3.3, §4.2, §4.5, §6).

Signing and verifying live side by side so the local tooling signs sample events with
exactly the code that verifies them. Every comparison is constant time; several secrets
may be accepted at once for rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

SIGNATURE_TOLERANCE_SECONDS = 300

# What a signature header may hold before any arithmetic or comparison: ASCII only, bounded.
# (``str.isdigit`` accepts "²" and "٣", ``int()`` refuses more than 4,300 digits, a float
# overflows on a few hundred, and ``hmac.compare_digest`` raises on non-ASCII text.)
_EPOCH_SECONDS = re.compile(r"[0-9]{1,12}")
_EPOCH_MILLISECONDS = re.compile(r"[0-9]{1,15}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_BASE64_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=")


def base64_hmac_sha256(body: bytes, secret: str) -> str:
    """Shopify's and WooCommerce's scheme: base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_base64_hmac_sha256(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """True when ``signature`` is the base64 HMAC of ``body`` under any non-empty secret."""
    candidate = _base64_candidate(signature)
    if candidate is None:
        return False
    return any(
        hmac.compare_digest(base64_hmac_sha256(body, secret).encode("ascii"), candidate)
        for secret in secrets
        if secret
    )


def _base64_candidate(signature: str | None) -> bytes | None:
    """The header's base64 digest as bytes, or None when it cannot be one."""
    if not signature:
        return None
    # A "+" has been seen arriving as a space after header mangling (webhooks.md §3.3).
    text = signature.strip().replace(" ", "+")
    if not _BASE64_SHA256.fullmatch(text):
        return None
    return text.encode("ascii")


def timestamped_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Qonto's and our bank format's scheme: hex HMAC-SHA256(secret, "{t}.{raw body}")."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def timestamped_signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """The header value ``t=<epoch s>,v1=<hex>`` for ``body``."""
    return f"t={timestamp},v1={timestamped_signature(body, secret, timestamp)}"


def verify_timestamped_signature(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Check ``t=…,v1=…[,v1=…]``: a fresh timestamp and one v1 matching any secret."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    if len(header) > 2048:
        return False
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and _EPOCH_SECONDS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and _HEX_SHA256.fullmatch(value.lower()):
            candidates.append(value.lower())
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_seconds:
        return False
    return any(
        hmac.compare_digest(timestamped_signature(body, secret, timestamp), candidate)
        for secret in secrets
        if secret
        for candidate in candidates
    )


def hubspot_v3_signature(method: str, uri: str, body: bytes, timestamp_ms: int, secret: str) -> str:
    """HubSpot v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    message = method.upper().encode("utf-8") + uri.encode("utf-8") + body
    message += str(timestamp_ms).encode("ascii")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hubspot_v3_signature(
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp_ms: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Check HubSpot's v3 signature and that its millisecond timestamp is fresh."""
    candidate = _base64_candidate(signature)
    if candidate is None or not timestamp_ms or not _EPOCH_MILLISECONDS.fullmatch(timestamp_ms):
        return False
    if abs(now - int(timestamp_ms) / 1000) > tolerance_seconds:
        return False
    return any(
        hmac.compare_digest(
            hubspot_v3_signature(method, uri, body, int(timestamp_ms), secret).encode("ascii"),
            candidate,
        )
        for secret in secrets
        if secret
    )
