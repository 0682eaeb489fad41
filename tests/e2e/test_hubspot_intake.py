"""HubSpot deal intake: `POST /webhooks/hubspot/deals` through the real intake handler (moto).

Signed v3 over method + public URI + raw body + timestamp; a JSON array of 1..100 events;
dealstage changes and deal creations kept, everything else acknowledged; one DealMessage per
deal on the deals queue, deduped by the newest event's portal + eventId.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from autopilot.messages import DealMessage, parse_message
from autopilot.signatures import hubspot_v3_signature
from local.dev_settings import DEV_WEBHOOK_SECRETS
from local.lambda_events import LocalLambdaContext, http_api_event
from local.sample_events import load_delivery, sample_files

from .conftest import Stack, clear_container_caches, queued_messages

EVENTS = Path(__file__).resolve().parents[2] / "events"
CONTRACT_SENT = EVENTS / "hubspot/deal-stage-contractsent.json"
CLOSED_WON = EVENTS / "hubspot/deal-stage-closedwon.json"
ROUTE = "/webhooks/hubspot/deals"
PUBLIC_BASE_URL = "http://127.0.0.1:3000"  # what the e2e stack sets, as local mode does
SECRET = DEV_WEBHOOK_SECRETS["HUBSPOT_CLIENT_SECRET"]
PORTAL = 4711000


def event(
    event_id: int,
    deal: int = 5001,
    occurred_at: int = 1_795_428_900_000,
    stage: str = "contractsent",
    **fields: Any,
) -> dict[str, Any]:
    """One `deal.propertyChange` of `dealstage`, with field overrides."""
    return {
        "eventId": event_id,
        "subscriptionId": 2417805,
        "portalId": PORTAL,
        "appId": 1960123,
        "occurredAt": occurred_at,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal,
        "propertyName": "dealstage",
        "propertyValue": stage,
        "changeSource": "CRM_UI",
        **fields,
    }


def post(
    body: Any,
    *,
    offset_ms: int = 0,
    uri: str | None = None,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` (JSON value or raw bytes) signed the way HubSpot signs it."""
    from webhooks.app import lambda_handler

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    millis = int(time.time() * 1000) + offset_ms
    signature = hubspot_v3_signature("POST", uri or PUBLIC_BASE_URL + ROUTE, raw, millis, secret)
    sent = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": str(millis),
        **(headers or {}),
    }
    for name in drop:
        sent.pop(name)
    event = http_api_event("POST", ROUTE, sent, raw)
    response = lambda_handler(event, LocalLambdaContext(function_name="webhooks"))
    return response["statusCode"], json.loads(response["body"] or "{}")


def deal_messages(stack: Stack) -> list[DealMessage]:
    """Every message on the deals queue, parsed as the worker parses it."""
    parsed = [parse_message(body) for body in queued_messages(stack, "deals")]
    messages = [message for message in parsed if isinstance(message, DealMessage)]
    assert len(messages) == len(parsed), parsed
    return sorted(messages, key=lambda m: (m.deal_id, m.event_id))


def delivery_records(stack: Stack) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
    items = dynamodb.scan(TableName=stack.environment["IDEMPOTENCY_TABLE"])["Items"]
    return [item for item in items if item["id"]["S"].startswith("delivery#")]


def set_hubspot_secret(stack: Stack, value: str) -> None:
    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    arn = stack.environment["WEBHOOK_SECRETS_ARN"]
    stored = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    stored["hubspot_client_secret"] = value
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(stored))
    clear_container_caches()


def sample_body(path: Path) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))["body"]
    return body


# -- queued ------------------------------------------------------------------------------------


def test_a_signed_dealstage_change_is_queued_as_one_deal_message(stack: Stack) -> None:
    status, answer = post(sample_body(CONTRACT_SENT))
    assert status == 200, answer
    assert answer == {
        "status": "queued",
        "deals": [{"deal": "hubspot:4711000:deal:5001", "status": "queued"}],
        "ignored": 0,
    }
    [message] = deal_messages(stack)
    assert message == DealMessage(
        portal_id=4711000, deal_id=5001, event_id=3791043201, occurred_at=1795428900000
    )
    assert message.correlation_id == "hubspot:4711000:deal:5001"


def test_a_deal_creation_is_queued(stack: Stack) -> None:
    created = {
        "eventId": 7,
        "portalId": PORTAL,
        "occurredAt": 1_795_428_000_000,
        "subscriptionType": "deal.creation",
        "objectId": 5002,
    }
    status, answer = post([created])
    assert (status, answer["status"]) == (200, "queued"), answer
    [message] = deal_messages(stack)
    assert (message.deal_id, message.event_id) == (5002, 7)


def test_several_events_for_one_deal_become_one_message_from_the_newest(stack: Stack) -> None:
    t = 1_795_428_900_000
    batch = [
        event(12, occurred_at=t + 2000, stage="closedwon"),
        event(10, occurred_at=t, stage="appointmentscheduled"),
        event(30, deal=6001, occurred_at=t),
        event(11, occurred_at=t + 2000, stage="contractsent"),  # same time, lower id
        event(13, occurred_at=t + 1000, stage="qualifiedtobuy"),  # higher id, earlier
        event(14, occurred_at=t + 5000, propertyName="amount", propertyValue="4800"),
    ]
    status, answer = post(batch)
    assert status == 200, answer
    assert answer == {
        "status": "queued",
        "deals": [
            {"deal": "hubspot:4711000:deal:5001", "status": "queued"},
            {"deal": "hubspot:4711000:deal:6001", "status": "queued"},
        ],
        "ignored": 1,
    }
    first, second = deal_messages(stack)
    assert (first.deal_id, first.event_id, first.occurred_at) == (5001, 12, t + 2000)
    assert (second.deal_id, second.event_id) == (6001, 30)


def test_the_same_deal_id_in_two_portals_is_two_deals(stack: Stack) -> None:
    status, answer = post([event(1), event(1, portalId=4711001)])
    assert status == 200, answer
    assert [d["deal"] for d in answer["deals"]] == [
        "hubspot:4711000:deal:5001",
        "hubspot:4711001:deal:5001",
    ]
    assert len(deal_messages(stack)) == 2


def test_a_full_batch_of_100_deals_is_queued_in_well_under_hubspots_timeout(
    stack: Stack,
) -> None:
    batch = [event(1000 + n, deal=7000 + n) for n in range(100)]
    started = time.monotonic()
    status, answer = post(batch)
    elapsed = time.monotonic() - started
    assert status == 200, answer
    assert [d["status"] for d in answer["deals"]] == ["queued"] * 100
    assert elapsed < 5, elapsed  # moto in-process; real SQS/DynamoDB calls run 8 at a time
    assert len(deal_messages(stack)) == 100


# -- dedupe ------------------------------------------------------------------------------------


def test_a_redelivered_batch_is_a_duplicate_and_queues_nothing_new(stack: Stack) -> None:
    batch = [event(10), event(11, occurred_at=1_795_428_901_000), event(20, deal=6001)]
    assert post(batch)[1]["status"] == "queued"
    # HubSpot's retry carries the same events (attemptNumber 1) and a new timestamp
    retry = [{**e, "attemptNumber": 1} for e in batch]
    status, answer = post(retry)
    assert status == 200, answer
    assert answer["status"] == "duplicate"
    assert {d["status"] for d in answer["deals"]} == {"duplicate"}
    assert len(deal_messages(stack)) == 2


def test_overlapping_batches_never_skip_a_newer_event(stack: Stack) -> None:
    t = 1_795_428_900_000
    e1, e2, e3 = event(1, occurred_at=t), event(2, occurred_at=t + 1), event(3, occurred_at=t + 2)
    assert post([e1, e2])[1]["deals"][0]["status"] == "queued"  # queued as event 2
    # a later batch that repeats event 2 but brings event 3: the deal changed again
    assert post([e2, e3])[1]["deals"][0]["status"] == "queued"
    # a batch whose newest event for the deal was already queued: covered
    assert post([e1, e2])[1]["deals"][0]["status"] == "duplicate"
    assert post([e3])[1]["deals"][0]["status"] == "duplicate"
    # event 1 alone was never anyone's newest: queued once more (harmless, documented)
    assert post([e1])[1]["deals"][0]["status"] == "queued"
    assert [m.event_id for m in deal_messages(stack)] == [1, 2, 3]


def test_a_deal_another_request_is_queueing_makes_hubspot_retry(stack: Stack) -> None:
    from webhooks.deliveries import DeliveryRecord

    DeliveryRecord(f"hubspot:{PORTAL}:event:2").claim()  # a concurrent request holds it
    status, answer = post([event(1, deal=6001), event(2)])
    assert (status, answer["error"]) == (503, "delivery_in_progress")
    # the other deal of the batch is queued already; HubSpot's retry finds it a duplicate
    [message] = deal_messages(stack)
    assert message.deal_id == 6001


def test_a_queue_outage_answers_503_and_the_retry_queues_the_deal(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks import deliveries

    def unavailable(**_kwargs: Any) -> None:
        raise ConnectionError("SQS is down")

    monkeypatch.setattr(deliveries._aws_client("sqs"), "send_message", unavailable)
    status, answer = post(sample_body(CONTRACT_SENT))
    assert (status, answer["error"]) == (503, "queue_unavailable")
    monkeypatch.undo()
    assert delivery_records(stack) == []
    assert post(sample_body(CONTRACT_SENT))[1]["status"] == "queued"
    assert len(deal_messages(stack)) == 1


# -- ignored -----------------------------------------------------------------------------------


IGNORED_EVENTS = [
    event(1, propertyName="amount", propertyValue="4800"),
    event(2, propertyName="description", propertyValue="x" * 10_000),
    event(3, subscriptionType="deal.deletion", propertyName=None, propertyValue=None),
    event(4, subscriptionType="contact.creation", objectId=123),
    {  # association changes carry no objectId
        "eventId": 5,
        "portalId": PORTAL,
        "occurredAt": 1_795_428_900_000,
        "subscriptionType": "deal.associationChange",
        "fromObjectId": 5001,
        "toObjectId": 600,
        "associationType": "DEAL_TO_COMPANY",
        "associationRemoved": False,
        "isPrimaryAssociation": True,
    },
    {**event(6, subscriptionType="object.propertyChange"), "objectTypeId": "0-3"},
]


def test_other_subscription_types_and_properties_are_acknowledged_and_ignored(
    stack: Stack,
) -> None:
    status, answer = post(IGNORED_EVENTS)
    assert status == 200, answer
    assert answer == {"status": "ignored", "deals": [], "ignored": len(IGNORED_EVENTS)}
    assert deal_messages(stack) == []
    assert delivery_records(stack) == []


def test_ignored_events_beside_a_stage_change_are_counted(stack: Stack) -> None:
    status, answer = post([*IGNORED_EVENTS, event(99)])
    assert status == 200, answer
    assert answer["status"] == "queued"
    assert answer["ignored"] == len(IGNORED_EVENTS)
    [message] = deal_messages(stack)
    assert message.event_id == 99


# -- 401 ---------------------------------------------------------------------------------------

NOW_MS = int(time.time() * 1000)
UNSIGNED: list[tuple[str, dict[str, Any]]] = [
    ("wrong secret", {"secret": "not-the-client-secret"}),
    ("wrong signature", {"headers": {"X-HubSpot-Signature-v3": "A" * 43 + "="}}),
    ("garbage signature", {"headers": {"X-HubSpot-Signature-v3": "🙂" * 44}}),
    ("missing signature", {"drop": ("X-HubSpot-Signature-v3",)}),
    ("missing timestamp", {"drop": ("X-HubSpot-Request-Timestamp",)}),
    ("timestamp in seconds", {"headers": {"X-HubSpot-Request-Timestamp": str(NOW_MS // 1000)}}),
    ("timestamp not a number", {"headers": {"X-HubSpot-Request-Timestamp": "١٢٣"}}),
    ("timestamp of 40 digits", {"headers": {"X-HubSpot-Request-Timestamp": "9" * 40}}),
    ("old timestamp", {"offset_ms": -301_000}),
    ("future timestamp", {"offset_ms": 301_000}),
    ("another host", {"uri": "https://hooks.example.com" + ROUTE}),
    ("another path", {"uri": PUBLIC_BASE_URL + "/webhooks/hubspot/contacts"}),
    ("with a query", {"uri": PUBLIC_BASE_URL + ROUTE + "?portal=1"}),
    ("without the base URL", {"uri": ROUTE}),
]


@pytest.mark.parametrize(("name", "how"), UNSIGNED, ids=[name for name, _ in UNSIGNED])
def test_an_unverified_delivery_is_401_and_stores_nothing(
    stack: Stack, name: str, how: dict[str, Any]
) -> None:
    status, answer = post(sample_body(CONTRACT_SENT), **how)
    assert (status, answer["error"]) == (401, "invalid_signature"), answer
    assert deal_messages(stack) == []
    assert delivery_records(stack) == []


def test_a_timestamp_within_five_minutes_either_way_is_accepted(stack: Stack) -> None:
    assert post(sample_body(CONTRACT_SENT), offset_ms=-290_000)[0] == 200
    assert post(sample_body(CLOSED_WON), offset_ms=290_000)[0] == 200


def test_an_unset_hubspot_secret_refuses_every_delivery(stack: Stack) -> None:
    set_hubspot_secret(stack, "-")
    assert post(sample_body(CONTRACT_SENT))[0] == 401
    assert deal_messages(stack) == []


def test_a_rotated_secret_accepts_the_old_and_the_new_one(stack: Stack) -> None:
    set_hubspot_secret(stack, json.dumps(["new-client-secret", SECRET]))
    assert post([event(1)], secret=SECRET)[1]["status"] == "queued"
    assert post([event(2, deal=6001)], secret="new-client-secret")[1]["status"] == "queued"
    assert post([event(3, deal=6002)], secret="retired")[0] == 401


def test_a_rotation_made_with_the_stack_parameters_accepts_the_old_and_the_new_one(
    stack: Stack,
) -> None:
    """The secret exactly as CloudFormation writes it for PreviousWebhookSecret and
    PreviousWebhookSecretSource (template.yaml), read by the intake."""
    from local.template_schema import evaluate, load_template

    template = load_template()
    secret_string = evaluate(
        template,
        template["Resources"]["WebhookSecretsSecret"]["Properties"]["SecretString"],
        {
            "HubSpotClientSecret": "new-client-secret",
            "PreviousWebhookSecret": SECRET,
            "PreviousWebhookSecretSource": "hubspot",
        },
    )
    boto3.client("secretsmanager", region_name="eu-central-1").put_secret_value(
        SecretId=stack.environment["WEBHOOK_SECRETS_ARN"], SecretString=secret_string
    )
    clear_container_caches()
    assert post([event(1)], secret=SECRET)[1]["status"] == "queued"
    assert post([event(2, deal=6001)], secret="new-client-secret")[1]["status"] == "queued"
    assert post([event(3, deal=6002)], secret="retired")[0] == 401


def test_the_public_base_url_may_end_with_a_slash(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hooks.example.com/billomat/")
    clear_container_caches()
    uri = "https://hooks.example.com/billomat" + ROUTE
    assert post(sample_body(CONTRACT_SENT), uri=uri)[0] == 200


def test_without_public_base_url_the_request_host_is_checked_never_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL")
    clear_container_caches()
    host = "abc123.execute-api.eu-central-1.amazonaws.com"
    execute_api = f"https://{host}{ROUTE}"
    assert post([event(1)], uri=execute_api, headers={"Host": host})[0] == 200
    assert post([event(2)], uri=PUBLIC_BASE_URL + ROUTE, headers={"Host": host})[0] == 401
    assert post([event(3)], uri="https://evil.example" + ROUTE, headers={"Host": host})[0] == 401


def test_without_public_base_url_or_request_domain_every_delivery_is_401(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks.app import lambda_handler

    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    clear_container_caches()
    raw = json.dumps([event(1)]).encode()
    millis = int(time.time() * 1000)
    for uri in ("" + ROUTE, "https://" + ROUTE, "https://None" + ROUTE):
        signed = {
            "content-type": "application/json",
            "x-hubspot-signature-v3": hubspot_v3_signature("POST", uri, raw, millis, SECRET),
            "x-hubspot-request-timestamp": str(millis),
        }
        lambda_event = http_api_event("POST", ROUTE, signed, raw)
        del lambda_event["requestContext"]["domainName"]
        response = lambda_handler(lambda_event, LocalLambdaContext(function_name="webhooks"))
        assert response["statusCode"] == 401, uri
    assert deal_messages(stack) == []


# -- 400 ---------------------------------------------------------------------------------------

MALFORMED_BODIES: list[tuple[str, bytes, str | None]] = [
    ("not JSON", b"[{", None),
    ("not UTF-8", b'[{"eventId": "\xff"}]', None),
    ("an object", json.dumps(event(1)).encode(), None),
    ("a string", b'"events"', None),
    ("an empty array", b"[]", None),
    ("101 events", json.dumps([event(n, deal=100 + n) for n in range(101)]).encode(), None),
    ("an event that is not an object", json.dumps([event(1), 5]).encode(), "[1]"),
    ("negative objectId", json.dumps([event(1, objectId=-5)]).encode(), "[0].objectId"),
    ("objectId 0", json.dumps([event(1, objectId=0)]).encode(), "[0].objectId"),
    ("objectId 2**63", json.dumps([event(1, objectId=2**63)]).encode(), "[0].objectId"),
    ("objectId 10**30", json.dumps([event(1, objectId=10**30)]).encode(), None),
    ("objectId 10**400", json.dumps([event(1, objectId=10**400)]).encode(), None),
    ("objectId as text", json.dumps([event(1, objectId="5001")]).encode(), "[0].objectId"),
    (
        "objectId 5001.0",
        b'[{"eventId":1,"portalId":1,"occurredAt":1795428900000,'
        b'"subscriptionType":"deal.creation","objectId":5001.0}]',
        "[0].objectId",
    ),
    ("objectId true", json.dumps([event(1, objectId=True)]).encode(), "[0].objectId"),
    ("negative eventId", json.dumps([event(-1)]).encode(), "[0].eventId"),
    ("eventId 2**63", json.dumps([event(2**63)]).encode(), "[0].eventId"),
    ("portalId 0", json.dumps([event(1, portalId=0)]).encode(), "[0].portalId"),
    ("portalId null", json.dumps([event(1, portalId=None)]).encode(), "[0].portalId"),
    (
        "occurredAt in seconds",
        json.dumps([event(1, occurred_at=1795428900)]).encode(),
        "[0].occurredAt",
    ),
    (
        "occurredAt in 2100",
        json.dumps([event(1, occurred_at=4_102_444_800_000)]).encode(),
        "[0].occurredAt",
    ),
    (
        "long subscriptionType",
        json.dumps([event(1, subscriptionType="d" * 101)]).encode(),
        "[0].subscriptionType",
    ),
    (
        "long propertyName",
        json.dumps([event(1, propertyName="p" * 300)]).encode(),
        "[0].propertyName",
    ),
    ("lone surrogate", json.dumps([event(1, propertyValue="\ud800")]).encode(), None),
    ("attemptNumber -1", json.dumps([event(1, attemptNumber=-1)]).encode(), "[0].attemptNumber"),
]


def _without(field: str, index: int = 3) -> bytes:
    batch = [event(n, deal=100 + n) for n in range(5)]
    del batch[index][field]
    return json.dumps(batch).encode()


MALFORMED_BODIES += [
    (f"{field} missing", _without(field), f"[3].{field}")
    for field in ("eventId", "portalId", "occurredAt", "subscriptionType", "objectId")
]
MALFORMED_BODIES.append(
    (
        "one eventId for two deals",
        json.dumps([event(1), event(1, deal=6001)]).encode(),
        "[1].eventId",
    )
)


@pytest.mark.parametrize(
    ("name", "body", "field"), MALFORMED_BODIES, ids=[name for name, _, _ in MALFORMED_BODIES]
)
def test_a_malformed_signed_body_is_400_naming_the_problem_and_queues_nothing(
    stack: Stack, name: str, body: bytes, field: str | None
) -> None:
    status, answer = post(body)
    assert status == 400, answer
    assert answer["error"] in {"invalid_json", "invalid_payload"}, answer
    assert answer["message"]
    if field is not None:
        assert field in {problem["field"] for problem in answer["problems"]}, answer
    assert deal_messages(stack) == []
    assert delivery_records(stack) == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"eventId": 1}', "JSON array"),
        (b"[]", "at least one"),
        (json.dumps([event(n) for n in range(101)]).encode(), "at most 100"),
    ],
)
def test_the_400_says_what_is_wrong_with_the_array(stack: Stack, body: bytes, words: str) -> None:
    status, answer = post(body)
    assert status == 400
    assert words in answer["message"], answer


# -- samples -----------------------------------------------------------------------------------


def test_the_hubspot_samples_replay_as_200_and_queue_the_deal(stack: Stack) -> None:
    from webhooks.app import lambda_handler

    paths = [p for p in sample_files() if p.parent.name == "hubspot"]
    assert sorted(p.name for p in paths) == [CLOSED_WON.name, CONTRACT_SENT.name]
    for path in paths:
        delivery = load_delivery(path, DEV_WEBHOOK_SECRETS, PUBLIC_BASE_URL)
        lambda_event = http_api_event("POST", delivery.route, delivery.headers, delivery.body)
        response = lambda_handler(lambda_event, LocalLambdaContext(function_name="webhooks"))
        assert response["statusCode"] == 200, (path.name, response["body"])
        assert json.loads(response["body"])["status"] == "queued"
    assert [(m.deal_id, m.event_id) for m in deal_messages(stack)] == [
        (5001, 3791043201),
        (5001, 3791043389),
    ]


def test_the_samples_are_one_deal_moving_from_quote_to_won() -> None:
    [sent] = sample_body(CONTRACT_SENT)
    [won] = sample_body(CLOSED_WON)
    assert (sent["portalId"], sent["objectId"], sent["propertyValue"]) == (
        4711000,
        5001,
        "contractsent",
    )
    assert (won["portalId"], won["objectId"], won["propertyValue"]) == (4711000, 5001, "closedwon")
    assert won["occurredAt"] > sent["occurredAt"]
    assert won["eventId"] > sent["eventId"]
