"""The HubSpot CRM v3 client against a stub that answers as /tmp/hubspot_contract.md says.

No network and no real sleeping: the stub runs on httpx.MockTransport and the client gets a
simulated clock. The access token must never show up in an error or a repr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopilot.hubspot import (
    Deal,
    DealUpdate,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotConfigurationError,
    HubSpotError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotRejected,
    HubSpotResponseError,
    HubSpotUnavailable,
    RequestWindow,
    is_systemic,
)

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://api.hubapi.com/"
TOKEN = "pat-eu1-11111111-2222-3333-4444-s3cr3t0token"
START = 1000.0

DEAL_PATH = "/crm/v3/objects/deals/5001"
BATCH_PATH = "/crm/v3/objects/line_items/batch/read"

Handler = Callable[[httpx.Request], httpx.Response]


# -- a contract-shaped HubSpot ---------------------------------------------------------------


class Clock:
    """``now``/``sleep`` for the client: sleeping only advances the clock and is recorded."""

    def __init__(self, start: float = START) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.current += seconds


def answer(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A HubSpot-like JSON answer with the rate-limit headers every answer carries."""
    all_headers = {
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "99",
        **(headers or {}),
    }
    if isinstance(payload, bytes):
        return httpx.Response(status, content=payload, headers=all_headers)
    return httpx.Response(status, json=payload, headers=all_headers)


def error(status: int, category: str, message: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    body = {
        "status": "error",
        "message": message,
        "correlationId": "0c6b5a4e-1111-4222-8333-944445555666",
        "category": category,
        **extra,
    }
    return answer(body, status, headers)


def rate_limited(
    retry_after: str | None = "1", policy: str = "TEN_SECONDLY_ROLLING"
) -> httpx.Response:
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "0c6b5a4e-1111-4222-8333-944445555666",
        "policyName": policy,
    }
    headers = {"X-HubSpot-RateLimit-Remaining": "0"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return answer(body, 429, headers)


def not_found() -> httpx.Response:
    return error(404, "OBJECT_NOT_FOUND", "resource not found")


def crm_object(
    object_id: str, properties: dict[str, Any], associations: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": object_id,
        "properties": {
            **properties,
            "hs_object_id": object_id,
            "createdate": "2025-01-10T08:00:00Z",
            "hs_lastmodifieddate": "2025-01-15T09:59:00Z",
        },
        "createdAt": "2025-01-10T08:00:00Z",
        "updatedAt": "2025-01-15T09:59:00Z",
        "archived": False,
    }
    if associations:
        singular = {"companies": "company", "contacts": "contact", "line_items": "line_item"}
        record["associations"] = {
            kind: {"results": [{"id": i, "type": f"deal_to_{singular[kind]}"} for i in ids]}
            for kind, ids in associations.items()
            if ids
        }
    return record


DEAL_DEFINED = {
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "description",
    "billomat_offer_number",
    "billomat_invoice_number",
}

CONTRACT_DEAL = {
    "dealname": "Website-Relaunch Muster GmbH",
    "amount": "4800",
    "deal_currency_code": "EUR",
    "dealstage": "contractsent",
    "pipeline": "default",
    "closedate": "2025-01-15T09:59:00Z",
}


def line_item(
    item_id: str, name: str, quantity: str, price: str, amount: str, **more: str | None
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": name,
        "quantity": quantity,
        "price": price,
        "amount": amount,
        "hs_sku": None,
        "hs_discount_percentage": None,
        "discount": None,
        "description": None,
    }
    properties.update(more)
    return crm_object(item_id, properties)


def stage(stage_id: str, label: str, probability: str, closed: bool = False) -> dict[str, Any]:
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": 0,
        "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
        "archived": False,
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:00:00Z",
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


PIPELINES = {
    "results": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "archived": False,
            "stages": [
                stage("appointmentscheduled", "Appointment scheduled", "0.2"),
                stage("qualifiedtobuy", "Qualified to buy", "0.4"),
                stage("presentationscheduled", "Presentation scheduled", "0.6"),
                stage("decisionmakerboughtin", "Decision maker bought-in", "0.8"),
                stage("contractsent", "Contract sent", "0.9"),
                stage("closedwon", "Closed won", "1.0", closed=True),
                stage("closedlost", "Closed lost", "0.0", closed=True),
            ],
        },
        {
            "id": "31415926",
            "label": "Projektgeschäft",
            "displayOrder": 1,
            "archived": False,
            "stages": [
                stage("1001", "Anfrage", "0.1"),
                stage("1002", "Angebot verschickt", "0.6"),
                stage("1003", "Auftrag erteilt", "1.0", closed=True),
                stage("1004", "Abgesagt", "0.0", closed=True),
            ],
        },
    ]
}


class FakeHubSpot:
    """Serves the contract's endpoints from dicts; queued answers (or exceptions) go first."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.sent_at: list[float] = []
        self.queue: list[httpx.Response | Exception] = []
        self.deals: dict[str, dict[str, Any]] = {
            "5001": crm_object(
                "5001",
                CONTRACT_DEAL,
                {"companies": ["6001"], "contacts": ["8001"], "line_items": ["7001", "7002"]},
            )
        }
        self.line_items: dict[str, dict[str, Any]] = {
            "7001": line_item("7001", "Konzeption", "2", "1200.00", "2400.00", hs_sku="WEB-KONZ"),
            "7002": line_item(
                "7002",
                "Umsetzung",
                "1.5",
                "1700.00",
                "2400.00",
                hs_discount_percentage="10",
                discount="100.00",
                description="Templates, Inhalte",
            ),
        }
        self.companies = {
            "6001": crm_object(
                "6001",
                {
                    "name": "Muster GmbH",
                    "address": "Hauptstraße 1",
                    "address2": None,
                    "zip": "10115",
                    "city": "Berlin",
                    "country": "Deutschland",
                    "domain": "muster.de",
                },
            )
        }
        self.contacts = {
            "8001": crm_object(
                "8001",
                {
                    "firstname": "Erika",
                    "lastname": "Mustermann",
                    "email": "erika@muster.de",
                    "phone": "+49 30 1234567",
                    "company": "Muster GmbH",
                },
            )
        }
        self.deal_properties = set(DEAL_DEFINED)

    def answer(self, *responses: httpx.Response | Exception) -> None:
        self.queue.extend(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.sent_at.append(self.clock.now())
        if self.queue:
            queued = self.queue.pop(0)
            if isinstance(queued, Exception):
                raise queued
            return queued
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0"
                " authentication and you can find more details at"
                " https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        path = request.url.path
        parts = path.strip("/").split("/")
        if request.method == "GET" and path == "/crm/v3/pipelines/deals":
            return answer(PIPELINES)
        if request.method == "POST" and path == BATCH_PATH:
            return self._batch_read(request)
        if len(parts) == 5 and parts[:3] == ["crm", "v3", "objects"]:
            store = {"deals": self.deals, "companies": self.companies, "contacts": self.contacts}
            records = store.get(parts[3])
            if records is None or parts[4] not in records:
                return not_found()
            if request.method == "GET":
                return answer(self._select(request, records[parts[4]]))
            if request.method == "PATCH" and parts[3] == "deals":
                return self._patch_deal(request, records[parts[4]])
        return not_found()

    def _select(self, request: httpx.Request, record: dict[str, Any]) -> dict[str, Any]:
        wanted = request.url.params.get("properties", "").split(",")
        defined = self.deal_properties if "/deals/" in request.url.path else None
        always = {"hs_object_id", "createdate", "hs_lastmodifieddate"}
        properties = {
            name: record["properties"].get(name)
            for name in [*wanted, *always]
            if name and (defined is None or name in defined or name in always)
        }
        result = {**record, "properties": properties}
        if "associations" not in request.url.params:
            result.pop("associations", None)
        return result

    def _batch_read(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        ids = [entry["id"] for entry in body["inputs"]]
        if len(ids) > 100:
            return error(400, "VALIDATION_ERROR", "Too many inputs: 100 at most")
        found = [self.line_items[i] for i in ids if i in self.line_items]
        missing = [i for i in ids if i not in self.line_items]
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": list(reversed(found)),  # "any order": the client must sort them back
            "startedAt": "2025-01-15T10:00:00Z",
            "completedAt": "2025-01-15T10:00:00Z",
        }
        if not missing:
            return answer(payload)
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some LINE_ITEM objects, they may be deleted or not"
                " exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
        return answer(payload, 207)

    def _patch_deal(self, request: httpx.Request, record: dict[str, Any]) -> httpx.Response:
        changes = json.loads(request.content)["properties"]
        undefined = [name for name in changes if name not in self.deal_properties]
        if undefined:
            problems = [
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                    "localizedErrorMessage": f'Property "{name}" does not exist',
                }
                for name in undefined
            ]
            return error(
                400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}"
            )
        record["properties"].update(changes)
        return answer({key: value for key, value in record.items() if key != "associations"})

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hubspot(clock: Clock) -> FakeHubSpot:
    return FakeHubSpot(clock)


@pytest.fixture
def make_hubspot(hubspot: FakeHubSpot, clock: Clock) -> Iterator[Callable[..., HubSpotClient]]:
    clients: list[HubSpotClient] = []

    def build(**options: Any) -> HubSpotClient:
        options.setdefault("sleep", clock.sleep)
        options.setdefault("now", clock.now)
        options.setdefault("transport", httpx.MockTransport(hubspot))
        client = HubSpotClient(BASE_URL, options.pop("token", TOKEN), **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_hubspot: Callable[..., HubSpotClient]) -> HubSpotClient:
    return make_hubspot()


def raised(action: Callable[[], object], kind: type[HubSpotError]) -> Any:
    with pytest.raises(kind) as caught:
        action()
    return caught.value


# -- deals -------------------------------------------------------------------------------------


def test_get_deal_parses_the_contract_answer(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    deal = client.get_deal(5001, extra_properties=["billomat_offer_number", "no_such_property"])

    assert deal == Deal(
        id="5001",
        name="Website-Relaunch Muster GmbH",
        amount=Decimal("4800"),
        currency="EUR",
        stage="contractsent",
        pipeline="default",
        close_date=datetime(2025, 1, 15, 9, 59, tzinfo=UTC),
        company_ids=("6001",),
        contact_ids=("8001",),
        line_item_ids=("7001", "7002"),
        properties=deal.properties,
    )
    assert type(deal.amount) is Decimal
    assert deal.primary_contact_id == "8001"
    assert deal.primary_company_id == "6001"
    assert deal.description is None
    assert deal.properties["billomat_offer_number"] is None
    assert "no_such_property" not in deal.properties  # HubSpot leaves undefined names out
    assert deal.properties["hs_object_id"] == "5001"

    request = hubspot.requests[-1]
    assert request.method == "GET"
    assert request.url.path == DEAL_PATH
    assert request.url.params["properties"].split(",") == [
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "closedate",
        "description",
        "billomat_offer_number",
        "no_such_property",
    ]
    assert request.url.params["associations"] == "companies,contacts,line_items"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert client.requests_sent == 1


def test_get_deal_without_associations_or_optional_properties(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.deals["5002"] = crm_object("5002", {"dealname": "Nur ein Name"})
    deal = client.get_deal("5002")

    assert deal.name == "Nur ein Name"
    assert deal.amount is None
    assert deal.currency is None
    assert deal.stage is None
    assert deal.close_date is None
    assert deal.company_ids == deal.contact_ids == deal.line_item_ids == ()
    assert deal.primary_contact_id is None
    assert deal.properties["amount"] is None  # defined but empty: null


def test_get_deal_keeps_association_order_and_lists_each_object_once(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    record = crm_object("5003", CONTRACT_DEAL, {"contacts": ["8002", "8001", "8003"]})
    record["associations"]["companies"] = {
        "results": [
            {"id": "6002", "type": "deal_to_company"},
            {"id": "6002", "type": "deal_to_company_unlabeled"},
            {"id": "6001", "type": "deal_to_company_unlabeled"},
        ]
    }
    hubspot.answer(answer(record))
    deal = client.get_deal(5003)

    assert deal.company_ids == ("6002", "6001")
    assert deal.contact_ids == ("8002", "8001", "8003")
    assert deal.primary_contact_id == "8002"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-15T09:59:00Z", datetime(2025, 1, 15, 9, 59, tzinfo=UTC)),
        ("2025-01-15T09:59:00.123Z", datetime(2025, 1, 15, 9, 59, 0, 123000, tzinfo=UTC)),
        ("2025-01-15", datetime(2025, 1, 15, tzinfo=UTC)),
        ("1736935140000", datetime(2025, 1, 15, 9, 59, tzinfo=UTC)),
        ("", None),
    ],
)
def test_close_date_formats(
    client: HubSpotClient, hubspot: FakeHubSpot, text: str, expected: datetime | None
) -> None:
    hubspot.answer(answer(crm_object("5001", {**CONTRACT_DEAL, "closedate": text})))
    assert client.get_deal(5001).close_date == expected


def test_unknown_deal_is_not_found(client: HubSpotClient) -> None:
    failure = raised(lambda: client.get_deal(9999), HubSpotNotFound)
    assert failure.status == 404
    assert failure.category == "OBJECT_NOT_FOUND"
    assert failure.method == "GET"
    assert failure.path == "/crm/v3/objects/deals/9999"
    assert not is_systemic(failure)
    assert "properties=" not in str(failure)  # never the query string


@pytest.mark.parametrize("bad", ["../pipelines/deals", "5001?x=1", "", "abc", -1, 0, True, 1.5])
def test_ids_that_are_not_numeric_are_refused_before_sending(
    client: HubSpotClient, hubspot: FakeHubSpot, bad: Any
) -> None:
    with pytest.raises(ValueError, match="not a HubSpot object id"):
        client.get_deal(bad)
    assert hubspot.requests == []


@pytest.mark.parametrize("name", ["amount,dealname", "a b", "", "x" * 201])
def test_extra_property_names_must_be_plain(client: HubSpotClient, name: str) -> None:
    with pytest.raises(ValueError, match="not a HubSpot property name"):
        client.get_deal(5001, extra_properties=[name])


# -- line items --------------------------------------------------------------------------------


def test_read_line_items_parses_decimals_in_the_order_asked(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    items = client.read_line_items(["7002", "7001"])

    assert [item.id for item in items] == ["7002", "7001"]
    second, first = items
    assert first.name == "Konzeption"
    assert first.quantity == Decimal("2")
    assert first.price == Decimal("1200.00")
    assert str(first.price) == "1200.00"  # scale kept, no float on the way
    assert first.amount == Decimal("2400.00")
    assert first.sku == "WEB-KONZ"
    assert first.discount_percentage is None
    assert first.discount is None
    assert first.description is None
    assert second.quantity == Decimal("1.5")
    assert second.discount_percentage == Decimal("10")
    assert second.discount == Decimal("100.00")
    assert second.description == "Templates, Inhalte"
    assert all(type(value) is Decimal for value in (first.quantity, first.price, second.discount))

    assert hubspot.requests[-1].method == "POST"
    assert hubspot.requests[-1].url.path == BATCH_PATH
    assert hubspot.bodies()[-1] == {
        "properties": [
            "name",
            "quantity",
            "price",
            "amount",
            "hs_sku",
            "hs_discount_percentage",
            "discount",
            "description",
        ],
        "inputs": [{"id": "7002"}, {"id": "7001"}],
    }


def test_partial_batch_names_the_missing_line_items(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    failure = raised(lambda: client.read_line_items(["7001", "7009", "7002"]), HubSpotNotFound)
    assert failure.ids == ("7009",)
    assert "7009" in str(failure)
    assert failure.status == 207
    assert failure.category == "OBJECT_NOT_FOUND"


def test_more_than_100_line_items_are_read_in_chunks(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    ids = [str(10_000 + n) for n in range(250)]
    for n, item_id in enumerate(ids):
        hubspot.line_items[item_id] = line_item(item_id, f"Posten {n}", "1", str(n), str(n))

    items = client.read_line_items(ids)

    assert [item.id for item in items] == ids
    assert [item.price for item in items] == [Decimal(n) for n in range(250)]
    assert [len(body["inputs"]) for body in hubspot.bodies()] == [100, 100, 50]
    assert client.requests_sent == 3


def test_read_line_items_asks_once_per_id_and_repeats_duplicates(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    items = client.read_line_items(["7001", "7001", 7002])
    assert [item.id for item in items] == ["7001", "7001", "7002"]
    assert hubspot.bodies()[-1]["inputs"] == [{"id": "7001"}, {"id": "7002"}]


def test_no_line_items_means_no_request(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    assert client.read_line_items([]) == []
    assert hubspot.requests == []


def test_line_item_without_price_is_a_response_error(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.line_items["7003"] = line_item("7003", "Ohne Preis", "1", "", "")
    failure = raised(lambda: client.read_line_items(["7003"]), HubSpotResponseError)
    assert failure.field == "properties.price"
    assert "line item 7003" in str(failure)
    assert failure.path == BATCH_PATH


# -- companies, contacts, pipelines ----------------------------------------------------------


def test_get_company(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    company = client.get_company("6001")
    assert company.id == "6001"
    assert company.name == "Muster GmbH"
    assert company.address == "Hauptstraße 1"
    assert company.address2 is None
    assert (company.zip, company.city, company.country) == ("10115", "Berlin", "Deutschland")
    assert company.domain == "muster.de"
    request = hubspot.requests[-1]
    assert request.url.path == "/crm/v3/objects/companies/6001"
    assert request.url.params["properties"] == "name,address,address2,zip,city,country,domain"
    assert "associations" not in request.url.params


def test_get_contact_and_full_name(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    contact = client.get_contact(8001)
    assert contact.first_name == "Erika"
    assert contact.last_name == "Mustermann"
    assert contact.full_name == "Erika Mustermann"
    assert contact.email == "erika@muster.de"
    assert contact.phone == "+49 30 1234567"
    assert contact.company == "Muster GmbH"
    assert hubspot.requests[-1].url.params["properties"] == "firstname,lastname,email,phone,company"

    hubspot.contacts["8002"] = crm_object("8002", {"email": "anon@example.com", "lastname": " "})
    anonymous = client.get_contact(8002)
    assert anonymous.full_name is None
    assert anonymous.last_name is None
    assert anonymous.email == "anon@example.com"

    hubspot.contacts["8003"] = crm_object("8003", {"firstname": "Max"})
    assert client.get_contact(8003).full_name == "Max"


def test_unknown_company_and_contact_are_not_found(client: HubSpotClient) -> None:
    raised(lambda: client.get_company(6999), HubSpotNotFound)
    raised(lambda: client.get_contact(8999), HubSpotNotFound)


def test_deal_pipelines(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    pipelines = client.deal_pipelines()

    assert [p.id for p in pipelines] == ["default", "31415926"]
    default, custom = pipelines
    assert default.label == "Sales Pipeline"
    assert [s.id for s in default.stages][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    won = default.stage("closedwon")
    assert won is not None
    assert won.is_closed is True
    assert won.probability == Decimal("1.0")
    assert won.is_won
    lost = default.stage("closedlost")
    assert lost is not None
    assert lost.is_closed
    assert not lost.is_won
    contract_sent = default.stage("contractsent")
    assert contract_sent is not None
    assert contract_sent.is_closed is False
    assert contract_sent.probability == Decimal("0.9")
    assert custom.label == "Projektgeschäft"
    assert [(s.id, s.label, s.is_won) for s in custom.stages] == [
        ("1001", "Anfrage", False),
        ("1002", "Angebot verschickt", False),
        ("1003", "Auftrag erteilt", True),
        ("1004", "Abgesagt", False),
    ]
    assert custom.stage("9999") is None
    assert hubspot.requests[-1].url.path == "/crm/v3/pipelines/deals"

    client.deal_pipelines()
    assert client.requests_sent == 2  # no caching in the client


# -- writing back ------------------------------------------------------------------------------


def test_update_deal_writes_the_properties(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    update = client.update_deal(
        5001, {"billomat_offer_number": "AN-0001", "billomat_invoice_number": "RE-0001"}
    )
    assert update == DealUpdate(
        written=("billomat_offer_number", "billomat_invoice_number"), missing=()
    )
    request = hubspot.requests[-1]
    assert request.method == "PATCH"
    assert request.url.path == DEAL_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert hubspot.bodies() == [
        {"properties": {"billomat_offer_number": "AN-0001", "billomat_invoice_number": "RE-0001"}}
    ]
    assert hubspot.deals["5001"]["properties"]["billomat_offer_number"] == "AN-0001"


def test_update_deal_drops_undefined_properties_and_tries_once_more(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    update = client.update_deal(
        5001,
        {
            "billomat_offer_number": "AN-0001",
            "billomat_link": "https://acme.billomat.net/app/beta/offers/1",
            "billomat_invoice_number": "RE-0001",
        },
    )
    assert update.written == ("billomat_offer_number", "billomat_invoice_number")
    assert update.missing == ("billomat_link",)
    assert hubspot.bodies() == [
        {
            "properties": {
                "billomat_offer_number": "AN-0001",
                "billomat_link": "https://acme.billomat.net/app/beta/offers/1",
                "billomat_invoice_number": "RE-0001",
            }
        },
        {"properties": {"billomat_offer_number": "AN-0001", "billomat_invoice_number": "RE-0001"}},
    ]
    assert hubspot.deals["5001"]["properties"]["billomat_invoice_number"] == "RE-0001"


def test_update_deal_with_only_undefined_properties_sends_one_request(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    update = client.update_deal(5001, {"billomat_link": "https://x", "billomat_status": "sent"})
    assert update == DealUpdate(written=(), missing=("billomat_link", "billomat_status"))
    assert client.requests_sent == 1


def test_update_deal_with_nothing_to_write_sends_nothing(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    assert client.update_deal(5001, {}) == DealUpdate(written=(), missing=())
    assert hubspot.requests == []


def test_update_deal_other_validation_errors_are_rejected(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    problems = [
        {"isValid": False, "error": "INVALID_OPTION", "name": "dealstage", "message": "bad"},
        {"isValid": False, "error": "PROPERTY_DOESNT_EXIST", "name": "billomat_link"},
    ]
    hubspot.answer(
        error(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}")
    )
    failure = raised(
        lambda: client.update_deal(5001, {"dealstage": "nope", "billomat_link": "x"}),
        HubSpotRejected,
    )
    assert failure.status == 400
    assert failure.category == "VALIDATION_ERROR"
    assert "INVALID_OPTION" in failure.message
    assert client.requests_sent == 1


def test_update_deal_of_unknown_deal_is_not_found(client: HubSpotClient) -> None:
    raised(lambda: client.update_deal(9999, {"billomat_offer_number": "AN-1"}), HubSpotNotFound)


def test_update_deal_values_must_be_text(client: HubSpotClient) -> None:
    with pytest.raises(ValueError, match="must be text"):
        client.update_deal(5001, {"amount": Decimal("1")})  # type: ignore[dict-item]


# -- authentication, outages ------------------------------------------------------------------


def test_wrong_token_is_an_auth_error_that_goes_to_the_dead_letter_queue(
    make_hubspot: Callable[..., HubSpotClient],
) -> None:
    client = make_hubspot(token="pat-eu1-wrong-token-value")
    failure = raised(lambda: client.get_deal(5001), HubSpotAuthError)
    assert failure.status == 401
    assert failure.category == "INVALID_AUTHENTICATION"
    assert "HubSpotAccessToken" in str(failure)
    assert failure.dead_letter_now is True
    assert HubSpotAuthError.dead_letter_now is True
    assert not failure.retryable
    assert not is_systemic(failure)
    assert "pat-eu1-wrong-token-value" not in str(failure)
    assert client.requests_sent == 1  # never retried


def test_missing_scopes_is_an_auth_error(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    hubspot.answer(
        error(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes.")
    )
    failure = raised(lambda: client.read_line_items(["7001"]), HubSpotAuthError)
    assert failure.status == 403
    assert failure.category == "MISSING_SCOPES"
    assert "scopes" in str(failure)
    assert client.requests_sent == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unavailable_at_once(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock, status: int
) -> None:
    hubspot.answer(answer(b"<html><body><h1>502 Bad Gateway</h1></body></html>", status))
    failure = raised(lambda: client.get_deal(5001), HubSpotUnavailable)
    assert failure.status == status
    assert failure.retryable
    assert is_systemic(failure)
    assert client.requests_sent == 1
    assert clock.sleeps == []


def test_timeout_is_unavailable_and_not_retried(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.answer(httpx.ReadTimeout("timed out"))
    failure = raised(lambda: client.get_deal(5001), HubSpotUnavailable)
    assert failure.status is None
    assert "did not answer in time" in str(failure)
    assert client.requests_sent == 1


def test_reads_are_retried_once_after_a_connection_error(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.answer(httpx.ConnectError("connection refused"))
    assert client.get_deal(5001).id == "5001"
    assert client.requests_sent == 2

    hubspot.answer(httpx.ConnectError("refused"), httpx.RemoteProtocolError("closed"))
    raised(lambda: client.read_line_items(["7001"]), HubSpotUnavailable)
    assert client.requests_sent == 4


def test_writes_are_never_retried(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    hubspot.answer(httpx.ConnectError("connection refused"))
    raised(lambda: client.update_deal(5001, {"billomat_offer_number": "AN-1"}), HubSpotUnavailable)
    assert client.requests_sent == 1


def test_other_client_errors_are_rejected_with_hubspots_message(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.answer(error(400, "VALIDATION_ERROR", "Too many inputs: 100 at most"))
    failure = raised(lambda: client.read_line_items(["7001"]), HubSpotRejected)
    assert "Too many inputs" in str(failure)
    assert failure.category == "VALIDATION_ERROR"


# -- rate limit: 429 -------------------------------------------------------------------------


def test_429_waits_retry_after_and_retries(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock
) -> None:
    hubspot.answer(rate_limited("3"))
    assert client.get_deal(5001).id == "5001"
    assert clock.sleeps == [3.0]
    assert client.requests_sent == 2


@pytest.mark.parametrize("header", [None, "soon", "NaN", "-5", "inf", ""])
def test_429_without_usable_retry_after_waits_one_window(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock, header: str | None
) -> None:
    hubspot.answer(rate_limited(header))
    client.get_deal(5001)
    assert clock.sleeps == [10.0]


def test_429_gives_up_after_two_retries(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock
) -> None:
    hubspot.answer(rate_limited("2"), rate_limited("2"), rate_limited("2"))
    failure = raised(lambda: client.get_deal(5001), HubSpotRateLimited)
    assert failure.retry_after == 2.0
    assert failure.status == 429
    assert failure.category == "RATE_LIMIT"
    assert clock.sleeps == [2.0, 2.0]
    assert client.requests_sent == 3
    assert is_systemic(failure)
    assert failure.retryable


def test_429_raises_when_the_wait_does_not_fit_the_budget(
    make_hubspot: Callable[..., HubSpotClient], hubspot: FakeHubSpot, clock: Clock
) -> None:
    client = make_hubspot(time_budget=lambda: 5.0)
    hubspot.answer(rate_limited(None))
    failure = raised(lambda: client.get_deal(5001), HubSpotRateLimited)
    assert failure.retry_after == 10.0
    assert clock.sleeps == []
    assert client.requests_sent == 1

    hubspot.answer(rate_limited("4"))
    assert client.get_deal(5001).id == "5001"  # 4 s fit the 5 s left
    assert clock.sleeps == [4.0]


def test_429_retry_after_is_capped(
    make_hubspot: Callable[..., HubSpotClient], hubspot: FakeHubSpot
) -> None:
    client = make_hubspot(time_budget=lambda: 60.0)
    hubspot.answer(rate_limited("100000000"))
    failure = raised(lambda: client.get_deal(5001), HubSpotRateLimited)
    assert failure.retry_after == 900.0


def test_429_of_the_daily_limit_is_not_waited_for(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock
) -> None:
    hubspot.answer(rate_limited("1", policy="DAILY"))
    raised(lambda: client.get_deal(5001), HubSpotRateLimited)
    assert clock.sleeps == []
    assert client.requests_sent == 1


def test_429_on_a_write_is_retried_too(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock
) -> None:
    hubspot.answer(rate_limited("1"))
    update = client.update_deal(5001, {"billomat_offer_number": "AN-2"})
    assert update.written == ("billomat_offer_number",)
    assert client.requests_sent == 2


# -- rate limit: client-side spacing ---------------------------------------------------------


def assert_never_more_than_100_in_10_seconds(times: list[float]) -> None:
    assert times == sorted(times)
    for first, hundred_and_first in zip(times, times[100:], strict=False):
        assert hundred_and_first - first >= 10.0


def test_the_101st_request_waits_for_the_window(
    client: HubSpotClient, hubspot: FakeHubSpot, clock: Clock
) -> None:
    for _ in range(101):
        client.deal_pipelines()
    assert hubspot.sent_at[:100] == [START] * 100
    assert hubspot.sent_at[100] == START + 10.0
    assert sum(clock.sleeps) == pytest.approx(10.0)
    assert client.requests_sent == 101


def test_spacing_that_does_not_fit_the_budget_raises_without_sending(
    make_hubspot: Callable[..., HubSpotClient], hubspot: FakeHubSpot, clock: Clock
) -> None:
    client = make_hubspot(time_budget=lambda: 3.0)
    for _ in range(100):
        client.deal_pipelines()
    clock.current += 2.0
    failure = raised(client.deal_pipelines, HubSpotRateLimited)
    assert failure.retry_after == pytest.approx(8.0)
    assert failure.status is None
    assert len(hubspot.requests) == 100
    assert clock.sleeps == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.5, allow_nan=False)),
        min_size=101,
        max_size=260,
    )
)
def test_the_client_never_sends_more_than_100_in_any_10_seconds(gaps: list[float]) -> None:
    clock = Clock()
    hubspot = FakeHubSpot(clock)
    with HubSpotClient(
        BASE_URL, TOKEN, transport=httpx.MockTransport(hubspot), sleep=clock.sleep, now=clock.now
    ) as client:
        for gap in gaps:
            clock.current += gap
            client.deal_pipelines()
    assert len(hubspot.sent_at) == len(gaps)
    assert_never_more_than_100_in_10_seconds(hubspot.sent_at)


@settings(deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=3.0, allow_nan=False), max_size=600),
    limit=st.integers(min_value=1, max_value=120),
)
def test_request_window_spacing(gaps: list[float], limit: int) -> None:
    window = RequestWindow(limit=limit, seconds=10.0)
    now = START
    sent: list[float] = []
    for gap in gaps:
        now += gap
        ready = now
        wait = window.wait_before_next(now)
        while wait > 0:
            now += max(wait, 0.001)
            wait = window.wait_before_next(now)
        window.record(now)
        sent.append(now)
        # no longer than needed: until the slot of the request `limit` back frees up
        earliest = max(ready, sent[-limit - 1] + 10.0) if len(sent) > limit else ready
        assert now <= earliest + 0.002
    for first, later in zip(sent, sent[limit:], strict=False):
        assert later - first >= 10.0


# -- hostile answers ---------------------------------------------------------------------------


def deal_body(**properties: Any) -> bytes:
    record = crm_object("5001", {**CONTRACT_DEAL, **properties})
    return json.dumps(record).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"<html>maintenance</html>", "body"),
        (b"", "body"),
        (b"[]", "body"),
        (b'"just a string"', "body"),
        (deal_body().replace(b'"4800"', b"NaN"), "body"),
        (deal_body().replace(b'"4800"', b"Infinity"), "body"),
        (deal_body().replace(b'"4800"', b"-Infinity"), "body"),
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"id": "5001", "properties": {"amount": 1' + b"0" * 5000 + b"}}", "body"),
        (deal_body(amount="NaN"), "properties.amount"),
        (deal_body(amount="Infinity"), "properties.amount"),
        (deal_body(amount="sNaN"), "properties.amount"),
        (deal_body(amount="1000000000000"), "properties.amount"),
        (deal_body(amount="1e12"), "properties.amount"),
        (deal_body(amount="-1E+400"), "properties.amount"),
        (deal_body(amount="4.800,00"), "properties.amount"),
        (deal_body(amount="0x10"), "properties.amount"),
        (deal_body(amount="١٢"), "properties.amount"),
        (deal_body(amount=4800.5), "properties.amount"),  # a JSON number, not HubSpot's string
        (deal_body(amount=True), "properties.amount"),
        (deal_body(dealname="x" * 1001), "properties.dealname"),
        (deal_body(dealname=["a"]), "properties.dealname"),
        (deal_body(closedate="yesterday"), "properties.closedate"),
        (deal_body(closedate="9" * 30), "properties.closedate"),
        (deal_body(deal_currency_code="E" * 101), "properties.deal_currency_code"),
        (json.dumps({"id": "5001"}).encode(), "properties"),
        (json.dumps({"id": "5001", "properties": []}).encode(), "properties"),
        (json.dumps({"id": "abc", "properties": {}}).encode(), "id"),
        (json.dumps({"id": "1" * 21, "properties": {}}).encode(), "id"),
        (json.dumps({"properties": {}}).encode(), "id"),
        (
            json.dumps({"id": "5001", "properties": {}, "associations": []}).encode(),
            "associations",
        ),
        (
            json.dumps(
                {"id": "5001", "properties": {}, "associations": {"companies": {"results": 1}}}
            ).encode(),
            "associations.companies",
        ),
        (
            json.dumps(
                {
                    "id": "5001",
                    "properties": {},
                    "associations": {"line_items": {"results": [{"id": "x"}]}},
                }
            ).encode(),
            "associations.line_items.0",
        ),
        (
            json.dumps(
                {
                    "id": "5001",
                    "properties": {},
                    "associations": {
                        "line_items": {
                            "results": [{"id": "7001"}],
                            "paging": {"next": {"after": "1"}},
                        }
                    },
                }
            ).encode(),
            "associations.line_items.paging",
        ),
        (
            json.dumps({"id": "5001", "properties": {f"p{n}": "v" for n in range(2001)}}).encode(),
            "properties",
        ),
    ],
)
def test_hostile_deal_answers_are_response_errors(
    client: HubSpotClient, hubspot: FakeHubSpot, body: bytes, field: str
) -> None:
    hubspot.answer(answer(body))
    failure = raised(lambda: client.get_deal(5001), HubSpotResponseError)
    assert failure.field == field
    assert field in str(failure)
    assert failure.path == DEAL_PATH
    assert failure.status == 200
    assert failure.__cause__ is None or not isinstance(failure.__cause__, KeyError)


@pytest.mark.parametrize(
    "amount", ["999999999999.99", "-999999999999", "0.000001", "1e3", "  12.5 ", "+7"]
)
def test_numbers_within_bounds_are_exact(
    client: HubSpotClient, hubspot: FakeHubSpot, amount: str
) -> None:
    hubspot.answer(answer(deal_body(amount=amount)))
    assert client.get_deal(5001).amount == Decimal(amount.strip())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"probability": "1.5"}, "results.0.stages.0.metadata.probability"),
        ({"probability": "NaN"}, "results.0.stages.0.metadata.probability"),
        ({"isClosed": "maybe"}, "results.0.stages.0.metadata.isClosed"),
        ({"isClosed": 1}, "results.0.stages.0.metadata.isClosed"),
    ],
)
def test_hostile_pipeline_metadata(
    client: HubSpotClient, hubspot: FakeHubSpot, change: dict[str, Any], field: str
) -> None:
    bad = json.loads(json.dumps(PIPELINES))
    bad["results"][0]["stages"][0]["metadata"].update(change)
    hubspot.answer(answer(bad))
    failure = raised(client.deal_pipelines, HubSpotResponseError)
    assert failure.field == field


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"results": {}}, "results"),
        ({"results": ["x"]}, "results.0"),
        ({"results": [{"id": "", "stages": []}]}, "results.0.id"),
        ({"results": [{"id": "p", "stages": "none"}]}, "results.0.stages"),
        ({"results": [{"id": "p", "stages": [{"id": "s", "metadata": []}]}]}, "metadata"),
    ],
)
def test_hostile_pipeline_shapes(
    client: HubSpotClient, hubspot: FakeHubSpot, payload: Any, field: str
) -> None:
    hubspot.answer(answer(payload))
    failure = raised(client.deal_pipelines, HubSpotResponseError)
    assert field in failure.field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "Infinity"}, "properties.quantity"),
        ({"quantity": None}, "properties.quantity"),
        ({"price": "1e13"}, "properties.price"),
        ({"hs_discount_percentage": "NaN"}, "properties.hs_discount_percentage"),
        ({"hs_sku": "S" * 1001}, "properties.hs_sku"),
        ({"description": "d" * 65537}, "properties.description"),
    ],
)
def test_hostile_line_items(
    client: HubSpotClient, hubspot: FakeHubSpot, change: dict[str, Any], field: str
) -> None:
    hubspot.line_items["7001"]["properties"].update(change)
    failure = raised(lambda: client.read_line_items(["7001"]), HubSpotResponseError)
    assert failure.field == field


def test_hostile_batch_shapes(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    hubspot.answer(answer({"status": "COMPLETE", "results": "all of them"}))
    assert raised(lambda: client.read_line_items(["7001"]), HubSpotResponseError).field == (
        "results"
    )
    hubspot.answer(answer({"status": "COMPLETE", "results": [{"id": "7001"}] * 101}))
    assert raised(lambda: client.read_line_items(["7001"]), HubSpotResponseError).field == (
        "results"
    )


def test_batch_answer_without_the_asked_item_is_not_found(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    hubspot.answer(answer({"status": "COMPLETE", "results": [hubspot.line_items["7002"]]}))
    failure = raised(lambda: client.read_line_items(["7001"]), HubSpotNotFound)
    assert failure.ids == ("7001",)


def test_contact_and_company_bounds(client: HubSpotClient, hubspot: FakeHubSpot) -> None:
    hubspot.contacts["8001"]["properties"]["email"] = "e" * 1001
    assert raised(lambda: client.get_contact(8001), HubSpotResponseError).field == (
        "properties.email"
    )
    hubspot.companies["6001"]["properties"]["country"] = {"code": "DE"}
    assert raised(lambda: client.get_company(6001), HubSpotResponseError).field == (
        "properties.country"
    )


# -- the token stays secret ------------------------------------------------------------------


def test_the_token_never_appears_in_errors_or_repr(
    client: HubSpotClient, hubspot: FakeHubSpot
) -> None:
    echoes = [
        error(401, "INVALID_AUTHENTICATION", f"Token {TOKEN} is not valid"),
        error(403, "MISSING_SCOPES", f"Token {TOKEN} lacks scopes"),
        error(400, "VALIDATION_ERROR", f"bad request from {TOKEN}"),
        error(404, "OBJECT_NOT_FOUND", f"nothing for {TOKEN}"),
        answer(f"<html>{TOKEN}</html>".encode(), 503),
        rate_limited("1", policy=TOKEN),
    ]
    texts = [repr(client)]
    for echo in echoes:
        hubspot.answer(echo, echo, echo)
        with pytest.raises(HubSpotError) as caught:
            client.get_deal(5001)
        hubspot.queue.clear()
        texts += [str(caught.value), repr(caught.value), caught.value.message]
    hubspot.answer(httpx.ConnectError(f"cannot connect ({TOKEN})"), httpx.ConnectError("again"))
    with pytest.raises(HubSpotUnavailable) as unreachable:
        client.get_deal(5001)
    texts.append(str(unreachable.value))
    for text in texts:
        assert TOKEN not in text
        assert "s3cr3t" not in text


@pytest.mark.parametrize("token", ["", "pat with spaces", "pat-\n-newline", "pät"])
def test_a_malformed_token_is_refused_without_repeating_it(token: str) -> None:
    with pytest.raises(HubSpotConfigurationError) as caught:
        HubSpotClient(BASE_URL, token)
    assert "HubSpotAccessToken" in str(caught.value)
    if token:
        assert token not in str(caught.value)
    assert isinstance(caught.value, HubSpotAuthError)
    assert caught.value.dead_letter_now


def test_is_systemic() -> None:
    assert is_systemic(HubSpotRateLimited("x", retry_after=1.0))
    assert is_systemic(HubSpotUnavailable("x"))
    assert not is_systemic(HubSpotAuthError("x"))
    assert not is_systemic(HubSpotNotFound("x"))
    assert not is_systemic(HubSpotRejected("x"))
    assert not is_systemic(HubSpotResponseError("x", field="body"))
    assert not is_systemic(ValueError("x"))


# -- access: one client per container, token from Secrets Manager ---------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    from local.containers import clear_container_caches

    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
    monkeypatch.delenv("HUBSPOT_SECRET_ARN", raising=False)
    with mock_aws():
        clear_container_caches()
        yield boto3.client("secretsmanager", region_name="eu-central-1")
        from autopilot.hubspot.access import forget_hubspot_client, use_hubspot_client

        use_hubspot_client(None)
        forget_hubspot_client()
        clear_container_caches()


def put_token(secrets: Any, monkeypatch: pytest.MonkeyPatch, token: str) -> str:
    arn: str = secrets.create_secret(
        Name="autopilot/hubspot", SecretString=json.dumps({"access_token": token})
    )["ARN"]
    monkeypatch.setenv("HUBSPOT_SECRET_ARN", arn)
    return arn


def test_access_reads_the_token_from_the_secret_once_per_container(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autopilot.hubspot.access import forget_hubspot_client, hubspot_client

    arn = put_token(aws, monkeypatch, TOKEN)
    client = hubspot_client()
    assert isinstance(client, HubSpotClient)
    assert client.base_url == httpx.URL("https://api.hubapi.com/")
    assert client._http.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hubspot_client() is client

    aws.put_secret_value(SecretId=arn, SecretString=json.dumps({"access_token": "pat-rotated"}))
    assert hubspot_client() is client  # still the container's client
    forget_hubspot_client()
    fresh = hubspot_client()
    assert fresh is not client
    assert fresh._http.headers["Authorization"] == "Bearer pat-rotated"
    assert hubspot_client() is fresh


def test_access_takes_the_base_url_from_the_environment(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autopilot.hubspot.access import hubspot_client

    put_token(aws, monkeypatch, TOKEN)
    monkeypatch.setenv("HUBSPOT_BASE_URL", "http://127.0.0.1:8098")
    assert hubspot_client().base_url == httpx.URL("http://127.0.0.1:8098/")


@pytest.mark.parametrize("token", ["", "-", "  "])
def test_access_without_a_token_says_what_to_set(
    aws: Any, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    from autopilot.hubspot.access import hubspot_client

    put_token(aws, monkeypatch, token)
    with pytest.raises(HubSpotConfigurationError, match="HubSpotAccessToken") as caught:
        hubspot_client()
    assert isinstance(caught.value, HubSpotAuthError)
    assert caught.value.dead_letter_now


def test_access_without_the_secret_variable_names_it(aws: Any) -> None:
    from autopilot.hubspot.access import hubspot_client

    with pytest.raises(HubSpotConfigurationError, match="HUBSPOT_SECRET_ARN"):
        hubspot_client()


def test_access_refuses_a_base_url_that_is_not_http(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autopilot.hubspot.access import hubspot_client

    put_token(aws, monkeypatch, TOKEN)
    monkeypatch.setenv("HUBSPOT_BASE_URL", "ftp://api.hubapi.com/")
    with pytest.raises(HubSpotConfigurationError, match="HUBSPOT_BASE_URL"):
        hubspot_client()


def test_use_hubspot_client_overrides_and_undoes(
    aws: Any, monkeypatch: pytest.MonkeyPatch, client: HubSpotClient
) -> None:
    from autopilot.hubspot.access import hubspot_client, use_hubspot_client

    use_hubspot_client(client)
    assert hubspot_client() is client
    use_hubspot_client(None)
    put_token(aws, monkeypatch, TOKEN)
    assert hubspot_client() is not client


def test_importing_access_does_not_load_the_client() -> None:
    code = (
        "import sys; import autopilot.hubspot.access;"
        " assert 'httpx' not in sys.modules, 'httpx';"
        " assert 'autopilot.hubspot.client' not in sys.modules, 'client'"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "layers" / "shared"), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
