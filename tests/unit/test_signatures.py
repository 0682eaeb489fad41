"""Signature schemes against the vectors in reference/webhooks.md §6."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autopilot.signatures import (
    base64_hmac_sha256,
    hubspot_v3_signature,
    timestamped_signature,
    timestamped_signature_header,
    verify_base64_hmac_sha256,
    verify_hubspot_v3_signature,
    verify_timestamped_signature,
)

SHOPIFY_BODY = (
    b'{"id":820982911946154508,"name":"#1001","currency":"EUR",'
    b'"taxes_included":true,"total_price":"119.00"}'
)
WOO_BODY = (
    b'{"id":4711,"number":"4711","status":"processing","currency":"EUR",'
    b'"prices_include_tax":true,"total":"119.00"}'
)


def test_shopify_vector_matches_reference() -> None:
    assert base64_hmac_sha256(SHOPIFY_BODY, "test-secret") == (
        "dSwMlXS2hXIrSAc5IkO/gji8ripPCcrOU39rHj0O2DA="
    )


def test_woocommerce_vector_matches_reference() -> None:
    assert base64_hmac_sha256(WOO_BODY, "test-secret") == (
        "Zb7C61DXax2EKJWWBKmzIoOELvwNOurl/v3ZXEFZQlg="
    )


def test_qonto_vector_matches_reference() -> None:
    assert timestamped_signature(b'{"test":"data"}', "test-secret", 1704110400) == (
        "56aff06dc227db80d6568a5070f912c601c31f20451745d257cbc0b5dfa93805"
    )


def test_base64_signature_rejects_missing_wrong_and_tampered() -> None:
    good = base64_hmac_sha256(SHOPIFY_BODY, "s1")
    assert verify_base64_hmac_sha256(SHOPIFY_BODY, good, ["s1"])
    assert not verify_base64_hmac_sha256(SHOPIFY_BODY, None, ["s1"])
    assert not verify_base64_hmac_sha256(SHOPIFY_BODY, good, ["other"])
    assert not verify_base64_hmac_sha256(SHOPIFY_BODY + b" ", good, ["s1"])
    assert not verify_base64_hmac_sha256(SHOPIFY_BODY, good, [""])


def test_rotated_secrets_are_all_accepted() -> None:
    header = base64_hmac_sha256(WOO_BODY, "old")
    assert verify_base64_hmac_sha256(WOO_BODY, header, ["new", "old"])


def test_timestamped_signature_accepts_several_v1_values_and_rejects_stale() -> None:
    body = b'{"schema":"bank-transaction/v1"}'
    t = 1_750_000_000
    header = timestamped_signature_header(body, "new", t)
    rotated = f"{header},v1={timestamped_signature(body, 'old', t)}"
    assert verify_timestamped_signature(body, rotated, ["old"], now=t + 10)
    assert verify_timestamped_signature(body, header, ["new"], now=t - 299)
    assert not verify_timestamped_signature(body, header, ["new"], now=t + 301)
    assert not verify_timestamped_signature(body, "v1=abc", ["new"], now=t)
    assert not verify_timestamped_signature(body, None, ["new"], now=t)


def test_hubspot_v3_signature_checks_uri_and_timestamp() -> None:
    uri = "https://example.execute-api.eu-central-1.amazonaws.com/webhooks/hubspot/deals"
    body = b'[{"eventId":100}]'
    ts = 1_735_689_600_000
    sig = hubspot_v3_signature("POST", uri, body, ts, "client-secret")
    now = ts / 1000
    assert verify_hubspot_v3_signature("POST", uri, body, sig, str(ts), ["client-secret"], now)
    assert verify_hubspot_v3_signature(
        "POST", uri, body, sig.replace("+", " "), str(ts), ["client-secret"], now
    )
    assert not verify_hubspot_v3_signature(
        "POST", uri + "?x=1", body, sig, str(ts), ["client-secret"], now
    )
    assert not verify_hubspot_v3_signature(
        "POST", uri, body, sig, str(ts), ["client-secret"], now + 301
    )


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
def test_any_body_signed_with_a_secret_verifies_with_it(body: bytes, secret: str) -> None:
    assert verify_base64_hmac_sha256(body, base64_hmac_sha256(body, secret), [secret])
    assert verify_timestamped_signature(
        body, timestamped_signature_header(body, secret, 1000), [secret], now=1000
    )


# -- hostile headers (issue #8 §3): always False, never an exception ---------------------------

HOSTILE_TIMESTAMPS = ["9" * 400, "9" * 5000, "²", "١٢٣", "-1", "1e9", " 1", ""]
HOSTILE_DIGESTS = ["ä" * 64, "🙂", "g" * 64, "0" * 10_000, "\x00" * 64]


def test_hostile_timestamped_headers_are_refused_without_raising() -> None:
    body = b"{}"
    good = timestamped_signature(body, "s", 1_700_000_000)
    for stamp in HOSTILE_TIMESTAMPS:
        header = f"t={stamp},v1={good}"
        assert not verify_timestamped_signature(body, header, ["s"], now=1_700_000_000)
    for digest in HOSTILE_DIGESTS:
        header = f"t=1700000000,v1={digest}"
        assert not verify_timestamped_signature(body, header, ["s"], now=1_700_000_000)
    assert not verify_timestamped_signature(body, "t=1," * 5000, ["s"], now=1.0)


def test_hostile_base64_signatures_are_refused_without_raising() -> None:
    for digest in [*HOSTILE_DIGESTS, "ä" * 44, "=" * 44]:
        assert not verify_base64_hmac_sha256(b"{}", digest, ["s"])


def test_hostile_hubspot_headers_are_refused_without_raising() -> None:
    body = b"[]"
    good = hubspot_v3_signature("POST", "https://x/y", body, 1_700_000_000_000, "s")
    for stamp in HOSTILE_TIMESTAMPS:
        assert not verify_hubspot_v3_signature(
            "POST", "https://x/y", body, good, stamp, ["s"], now=1_700_000_000
        )
    for digest in HOSTILE_DIGESTS:
        assert not verify_hubspot_v3_signature(
            "POST", "https://x/y", body, digest, "1700000000000", ["s"], now=1_700_000_000
        )


@given(st.text(max_size=300), st.text(max_size=300))
def test_any_text_in_signature_headers_never_raises(header: str, digest: str) -> None:
    assert not verify_timestamped_signature(b"x", header, ["s"], now=1_700_000_000)
    assert not verify_base64_hmac_sha256(b"x", digest, ["s"])
    assert not verify_hubspot_v3_signature(
        "POST", "https://x/y", b"x", digest, header, ["s"], now=1_700_000_000
    )
