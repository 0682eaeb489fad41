"""Failures map to errors a workflow can act on; only safe requests are ever sent twice."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from autopilot.billomat import (
    BillomatAuthError,
    BillomatClient,
    BillomatError,
    BillomatForbiddenError,
    BillomatNotFoundError,
    BillomatResponseError,
    BillomatUnavailableError,
    BillomatValidationError,
    InvoiceDraft,
)

from .conftest import ScriptedBillomat, SimulatedClock, reply

OPEN_INVOICE = {"invoice": {"id": "7", "status": "OPEN"}}
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
)


def test_validation_error_carries_billomat_messages(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply({"errors": {"error": ["client_id missing", "date invalid"]}}, status=400))
    with pytest.raises(BillomatValidationError) as caught:
        client.create_invoice(InvoiceDraft(client_id=0))
    error = caught.value
    assert error.messages == ("client_id missing", "date invalid")
    assert (error.status_code, error.method, error.path) == (400, "POST", "/api/invoices")
    assert "client_id missing; date invalid" in str(error)
    assert not error.retryable


def test_single_error_message_string(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply({"errors": {"error": "Payment not allowed for drafts"}}, status=400))
    with pytest.raises(BillomatValidationError) as caught:
        client.book_payment(7, Decimal("10"))
    assert caught.value.messages == ("Payment not allowed for drafts",)


@pytest.mark.parametrize(
    ("status", "error_type", "hint"),
    [
        (401, BillomatAuthError, "check the Billomat API key"),
        (403, BillomatForbiddenError, "may not"),
        (404, BillomatNotFoundError, "does not know"),
        (409, BillomatResponseError, "HTTP 409"),
        (422, BillomatResponseError, "HTTP 422"),
    ],
)
def test_status_codes_map_to_errors(
    client: BillomatClient,
    billomat: ScriptedBillomat,
    status: int,
    error_type: type[BillomatError],
    hint: str,
) -> None:
    billomat.answer(reply({"errors": {"error": "nope"}}, status=status))
    with pytest.raises(error_type, match=hint) as caught:
        client.get_invoice(7)
    assert caught.value.status_code == status
    assert caught.value.path == "/api/invoices/7"
    assert not caught.value.retryable
    assert len(billomat.requests) == 1


def test_error_path_has_no_query_string(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply({"errors": {"error": "nope"}}, status=404))
    with pytest.raises(BillomatNotFoundError) as caught:
        list(client.iter_clients(email="max@example.de"))
    assert caught.value.path == "/api/clients"
    assert "max@example.de" not in str(caught.value)


def test_html_5xx_body_becomes_a_short_readable_message(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat
) -> None:
    client = make_client(max_retries=0)
    billomat.answer(reply(status=502, text=HTML_502 + "x" * 1000))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.get_invoice(7)
    error = caught.value
    assert error.status_code == 502
    assert error.retryable
    assert error.may_have_committed is False
    assert error.messages[0].startswith("502 Bad Gateway Bad Gateway")
    assert "<" not in error.messages[0]
    assert len(error.messages[0]) <= 200


def test_get_is_retried_after_5xx_with_bounded_jittered_backoff(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(
        reply(status=503, text="busy"), reply(status=500, text=HTML_502), reply(OPEN_INVOICE)
    )
    invoice = client.get_invoice(7)
    assert invoice.id == 7
    assert len(billomat.requests) == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5
    assert 0 <= clock.sleeps[1] <= 1.0


def test_get_gives_up_after_max_retries(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(max_retries=2)
    billomat.handler = lambda request: reply(status=500, text="oops")
    with pytest.raises(BillomatUnavailableError) as caught:
        client.get_invoice(7)
    assert len(billomat.requests) == 3
    assert caught.value.attempts == 3
    assert caught.value.may_have_committed is False


def test_get_is_retried_after_timeout(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(httpx.ReadTimeout("timed out"), reply(OPEN_INVOICE))
    assert client.get_invoice(7).id == 7
    assert len(billomat.requests) == 2


def test_connection_errors_are_retried_for_reads(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(httpx.ConnectError("refused"), reply(OPEN_INVOICE))
    assert client.get_invoice(7).id == 7


def test_action_put_is_retried_after_5xx(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(reply(status=503, text="busy"), reply())
    client.complete_invoice(7)
    assert [r.method for r in billomat.requests] == ["PUT", "PUT"]
    assert billomat.requests[1].url.path == "/api/invoices/7/complete"


def test_action_put_is_retried_after_timeout(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(httpx.ReadTimeout("timed out"), reply())
    client.cancel_invoice(7)
    assert len(billomat.requests) == 2


def test_post_is_never_resent_after_5xx(
    client: BillomatClient, billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    billomat.answer(reply(status=500, text="oops"))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.create_invoice(InvoiceDraft(client_id=5, customfield="shop:1"))
    assert len(billomat.requests) == 1
    assert caught.value.may_have_committed is True
    assert caught.value.retryable
    assert clock.sleeps == []


def test_post_is_never_resent_after_timeout(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(httpx.ReadTimeout("timed out"))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.email_invoice(7, to="max@example.de")
    assert len(billomat.requests) == 1
    assert caught.value.may_have_committed is True
    assert caught.value.method == "POST"


def test_payment_post_is_never_resent(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(httpx.RemoteProtocolError("server disconnected"))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.book_payment(7, Decimal("10.00"))
    assert len(billomat.requests) == 1
    assert caught.value.may_have_committed is True


def test_post_that_could_not_connect_has_not_committed(
    client: BillomatClient, billomat: ScriptedBillomat
) -> None:
    billomat.answer(httpx.ConnectError("refused"))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.create_invoice(InvoiceDraft(client_id=5))
    assert len(billomat.requests) == 1
    assert caught.value.may_have_committed is False


def test_delete_is_not_retried(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(status=500, text="oops"))
    with pytest.raises(BillomatUnavailableError) as caught:
        client.delete_invoice(7)
    assert len(billomat.requests) == 1
    assert caught.value.may_have_committed is True


def test_backoff_that_does_not_fit_the_budget_gives_up_at_once(
    make_client: Callable[..., BillomatClient], billomat: ScriptedBillomat, clock: SimulatedClock
) -> None:
    client = make_client(time_budget=lambda: 0.0)
    billomat.handler = lambda request: reply(status=503, text="busy")
    with pytest.raises(BillomatUnavailableError):
        client.get_invoice(7)
    assert all(delay == 0 for delay in clock.sleeps)


def test_redirects_are_not_followed(client: BillomatClient, billomat: ScriptedBillomat) -> None:
    billomat.answer(reply(status=302, headers={"Location": "https://elsewhere.example/"}))
    with pytest.raises(BillomatResponseError, match="HTTP 302"):
        client.get_invoice(7)
    assert len(billomat.requests) == 1
