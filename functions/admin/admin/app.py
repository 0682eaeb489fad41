"""Operator API Lambda: the ``/admin/...`` routes (architecture.md §3), wiring only.

IAM-authorized (``AWS_IAM``) on the HTTP API in AWS, open on loopback in local mode; the same
handler in both. The logic is in :mod:`review` (the bank review list), :mod:`queues` (dead
letters, redrive, queue depths), :mod:`reruns` (failed scheduled runs re-run for their business
day: ``{queue}`` ``scheduled``) and :mod:`status`.

=============================================  ===========================================
``GET /admin/status``                          ``{"queues", "schedules", "failures",
                                               "billomat_rate", "missing"}``
``GET /admin/review``                          ``{"items": [...]}`` (open items only)
``POST /admin/review/{id}``                    book or dismiss; 400 / 404 / 409
``GET /admin/dead-letters``                    ``{"queues": [...]}``
``POST /admin/dead-letters/{queue}/redrive``   ``{"queue", "moved"}``; ``scheduled``: also
                                               ``"rerun"``, ``"skipped"``
=============================================  ===========================================
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot.observability import route_domain_logs

from .errors import AdminError
from .settings import AdminSettings

if TYPE_CHECKING:  # the review list pulls in the Billomat models: imported on first use
    from .review import ReviewList

logger = Logger(service="admin")
app = APIGatewayHttpResolver()


@cache
def settings() -> AdminSettings:
    """The function's configuration, parsed once per container."""
    return AdminSettings.from_env()


@cache
def sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def review_list() -> ReviewList:
    from autopilot.billomat_access import billomat_client
    from autopilot.workflow_state import workflow_store_for

    from .review import ReviewList

    return ReviewList(workflow_store_for(settings().workflow_table), billomat_client)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(status_code: int, payload: dict[str, Any]) -> Response[str]:
    """A JSON response (DynamoDB's Decimals as numbers or decimal strings)."""
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(payload, default=_plain),
    )


def actor() -> str:
    """Who called: the IAM principal in AWS, ``local`` in local mode."""
    context = app.current_event.raw_event.get("requestContext") or {}
    iam = (context.get("authorizer") or {}).get("iam") or {}
    return str(iam.get("userArn") or iam.get("callerId") or "local")


def request_body() -> Any:
    event = app.current_event
    try:
        return json.loads(event.decoded_body or "{}")
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, too deep, too long
        raise AdminError(400, "invalid_json", f"the body is not usable JSON: {exc}"[:300]) from None


@app.get("/admin/review")
def get_review() -> Response[str]:
    return json_response(200, {"items": review_list().open_items()})


@app.post("/admin/review/<item_id>")
def post_review(item_id: str) -> Response[str]:
    reference = unquote(item_id)
    resolved = review_list().act(reference, request_body(), actor())
    logger.info("review item resolved", extra=resolved)
    return json_response(200, resolved)


@app.get("/admin/dead-letters")
def get_dead_letters() -> Response[str]:
    from .queues import dead_letters

    return json_response(200, dead_letters(sqs()))


@cache
def lambda_client() -> Any:
    import boto3

    return boto3.client("lambda")


@app.post("/admin/dead-letters/<queue>/redrive")
def post_redrive(queue: str) -> Response[str]:
    from .queues import redrive
    from .reruns import RERUN_QUEUE, rerun_failures

    name = unquote(queue)
    if name == RERUN_QUEUE:  # failed scheduled runs: re-run for their business day
        config = settings()
        rerun = rerun_failures(
            sqs(), lambda_client(), config.scheduled_failures_queue_url, config.rerunnable
        )
        logger.info("failed scheduled runs re-run", extra={**rerun, "by": actor()})
        return json_response(200, rerun)
    moved = redrive(sqs(), name, settings().redrive_with_move_task)
    logger.info("dead letters redriven", extra={**moved, "by": actor()})
    return json_response(200, moved)


@app.get("/admin/status")
def get_status() -> Response[str]:
    from autopilot.workflow_state import workflow_store_for

    from .status import status

    config = settings()
    store = workflow_store_for(config.workflow_table)
    return json_response(200, status(sqs(), store, config.scheduled_failures_queue_url))


def admin_error(error: AdminError) -> Response[str]:
    """A refusal (400, 404, 409) as its JSON error."""
    logger.info("admin request refused", extra={"status": error.http_status, "error": error.code})
    return json_response(error.http_status, error.payload())


app.exception_handler(AdminError)(admin_error)


@app.not_found
def unknown_route(_exc: Exception) -> Response[str]:
    return json_response(404, {"error": "not_found", "message": "No such admin route."})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point for API Gateway HTTP API (payload format 2.0)."""
    route_domain_logs(logger)
    return app.resolve(event, context)
