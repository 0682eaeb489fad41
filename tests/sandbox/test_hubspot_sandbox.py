"""HubSpot sandbox: seeding, every endpoint's wire shape, PATCH validation, events, snapshot.

The tests talk to the sandbox with raw httpx requests, so they pin down the wire format of
``/tmp/hubspot_contract.md`` that the project's HubSpot client has to cope with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.dev_settings import DEV_HUBSPOT_ACCESS_TOKEN
from local.hubspot_sandbox import (
    DEV_ACCESS_TOKEN,
    DEV_APP_ID,
    DEV_PORTAL_ID,
    DEV_SUBSCRIPTION_ID,
    HubSpotSandbox,
    SandboxClock,
)

START = datetime(2025, 1, 10, 8, 0, tzinfo=UTC)
CLOSING = datetime(2025, 1, 15, 9, 59, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {DEV_ACCESS_TOKEN}"}
DEAL_PROPERTIES = "dealname,amount,deal_currency_code,dealstage,pipeline,closedate"
LINE_ITEM_PROPERTIES = [
    "name",
    "quantity",
    "price",
    "amount",
    "hs_sku",
    "hs_discount_percentage",
    "discount",
    "description",
]


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(START)


@pytest.fixture
def hubspot(clock: SandboxClock) -> HubSpotSandbox:
    return HubSpotSandbox(clock=clock)


def client_for(sandbox: HubSpotSandbox) -> httpx.Client:
    return httpx.Client(
        transport=sandbox.transport(), base_url="https://api.hubapi.com/", headers=AUTH
    )


@pytest.fixture
def api(hubspot: HubSpotSandbox) -> Iterator[httpx.Client]:
    with client_for(hubspot) as client:
        yield client


def seed_contract_deal(hubspot: HubSpotSandbox, clock: SandboxClock) -> str:
    """The deal of the contract's example: created 10 Jan 08:00, contract sent 15 Jan 09:59."""
    company = hubspot.add_company(
        "Muster GmbH", address="Hauptstraße 1", zip="10115", city="Berlin", country="Deutschland"
    )
    contact = hubspot.add_contact("Erika", "Mustermann", "erika@muster.de")
    first = hubspot.add_line_item("Konzeption", 2, "1200.00", sku="WEB-KONZ")
    second = hubspot.add_line_item("Umsetzung", 1, "2400.00", sku="WEB-UMS")
    deal = hubspot.add_deal(
        "Website-Relaunch Muster GmbH",
        amount=4800,
        closedate="2025-01-15T09:59:00Z",
        company=company,
        contacts=[contact],
        line_items=[first, second],
    )
    clock.set(CLOSING)
    hubspot.move_deal(deal, "contractsent")
    return deal


def error_of(response: httpx.Response, status: int, category: str) -> dict[str, Any]:
    """The error body, after checking status, shape and category."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "message", "correlationId", "category"}
    assert (body["status"], body["category"]) == ("error", category)
    return body


# --- identities and seeding ---------------------------------------------------------------------


def test_dev_credentials() -> None:
    assert DEV_ACCESS_TOKEN == DEV_HUBSPOT_ACCESS_TOKEN == "dev-hubspot-access-token"
    assert DEV_PORTAL_ID == 4711000
    sandbox = HubSpotSandbox()
    assert (sandbox.access_token, sandbox.portal_id) == (DEV_ACCESS_TOKEN, DEV_PORTAL_ID)
    assert sandbox.clock.follows_real_time


def test_ids_count_up_per_object_type(hubspot: HubSpotSandbox) -> None:
    assert [hubspot.add_company("A"), hubspot.add_company("B")] == ["6001", "6002"]
    assert hubspot.add_contact("Max", "Muster", "max@example.de") == "8001"
    assert hubspot.add_line_item("X", 1, 10) == "7001"
    assert [hubspot.add_deal("D1"), hubspot.add_deal("D2")] == ["5001", "5002"]


def test_seeded_properties_are_strings(hubspot: HubSpotSandbox) -> None:
    deal = hubspot.add_deal("D", amount=Decimal("4800.50"), currency="CHF")
    assert hubspot.deal(deal) | {"createdate": "-"} == {
        "hs_object_id": deal,
        "createdate": "-",
        "hs_lastmodifieddate": "2025-01-10T08:00:00Z",
        "dealname": "D",
        "amount": "4800.50",
        "deal_currency_code": "CHF",
        "dealstage": "appointmentscheduled",
        "pipeline": "default",
        "closedate": None,
        "description": None,
        "hs_is_closed_won": "false",
        "billomat_offer_number": None,
        "billomat_invoice_number": None,
        "billomat_link": None,
    }
    item = hubspot.add_line_item("Y", 1.5, Decimal("10.10"), discount_percentage="12.5")
    line = hubspot.line_item(item)
    assert (line["quantity"], line["price"], line["hs_discount_percentage"]) == (
        "1.5",
        "10.10",
        "12.5",
    )


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "percentage", "amount"),
    [
        (2, "1200.00", None, None, "2400.00"),
        (3, 800, "50", 10, "2025.00"),
        (3, "9.99", None, "12.5", "26.22"),
        (1, "0.005", None, None, "0.01"),
        (4, "-25", None, None, "-100.00"),
        (0, "-25", None, None, "0.00"),
        ("2.5", "10", "1", "100", "0.00"),
    ],
)
def test_line_item_amount_is_computed_like_hubspot(
    hubspot: HubSpotSandbox,
    quantity: Any,
    price: Any,
    discount: Any,
    percentage: Any,
    amount: str,
) -> None:
    item = hubspot.add_line_item(
        "Position", quantity, price, discount=discount, discount_percentage=percentage
    )
    assert hubspot.line_item(item)["amount"] == amount


def test_seeding_refuses_what_hubspot_would(hubspot: HubSpotSandbox) -> None:
    item = hubspot.add_line_item("X", 1, 10)
    hubspot.add_deal("First", line_items=[item])
    with pytest.raises(ValueError, match="quantity"):
        hubspot.add_line_item("X", "zwei", 10)
    with pytest.raises(ValueError, match="price"):
        hubspot.add_line_item("X", 1, float("nan"))
    with pytest.raises(ValueError, match="price"):
        hubspot.add_line_item("X", 1, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="closedwonn"):
        hubspot.add_deal("D", stage="closedwonn")
    with pytest.raises(ValueError, match="1003"):
        hubspot.add_deal("D", stage="1003")  # a stage of the custom pipeline
    with pytest.raises(ValueError, match="no company 6001"):
        hubspot.add_deal("D", company="6001")
    with pytest.raises(ValueError, match="no contact 8999"):
        hubspot.add_deal("D", contacts=["8999"])
    with pytest.raises(ValueError, match="already belongs"):
        hubspot.add_deal("Second", line_items=[item])
    with pytest.raises(ValueError, match="not defined"):
        hubspot.add_deal("D", properties={"billomat_foo": "x"})
    with pytest.raises(ValueError, match="read-only"):
        hubspot.add_deal("D", properties={"hs_object_id": "1"})
    assert len(hubspot.snapshot()["deals"]) == 1  # nothing half-created


def test_deal_seeded_closed_gets_a_closedate(hubspot: HubSpotSandbox) -> None:
    won = hubspot.add_deal("Won", stage="1003", pipeline="31415926")
    assert hubspot.deal(won)["closedate"] == "2025-01-10T08:00:00Z"
    assert hubspot.deal(won)["hs_is_closed_won"] == "true"
    given = hubspot.add_deal("Given", stage="closedwon", closedate=datetime(2025, 1, 9, tzinfo=UTC))
    assert hubspot.deal(given)["closedate"] == "2025-01-09T00:00:00Z"


# --- GET deal -----------------------------------------------------------------------------------


def test_get_deal_matches_the_contract_example(
    hubspot: HubSpotSandbox, clock: SandboxClock, api: httpx.Client
) -> None:
    deal = seed_contract_deal(hubspot, clock)
    response = api.get(
        f"crm/v3/objects/deals/{deal}",
        params={
            "properties": f"{DEAL_PROPERTIES},billomat_offer_number",
            "associations": "companies,contacts,line_items",
        },
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {
        "id": "5001",
        "properties": {
            "dealname": "Website-Relaunch Muster GmbH",
            "amount": "4800",
            "deal_currency_code": "EUR",
            "dealstage": "contractsent",
            "pipeline": "default",
            "closedate": "2025-01-15T09:59:00Z",
            "hs_object_id": "5001",
            "createdate": "2025-01-10T08:00:00Z",
            "hs_lastmodifieddate": "2025-01-15T09:59:00Z",
            "billomat_offer_number": None,
        },
        "createdAt": "2025-01-10T08:00:00Z",
        "updatedAt": "2025-01-15T09:59:00Z",
        "archived": False,
        "associations": {
            "companies": {"results": [{"id": "6001", "type": "deal_to_company"}]},
            "contacts": {"results": [{"id": "8001", "type": "deal_to_contact"}]},
            "line_items": {
                "results": [
                    {"id": "7001", "type": "deal_to_line_item"},
                    {"id": "7002", "type": "deal_to_line_item"},
                ]
            },
        },
    }


def test_get_deal_without_properties_gives_the_defaults(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    deal = hubspot.add_deal("D", amount=10)
    body = api.get(f"crm/v3/objects/deals/{deal}").json()
    assert set(body["properties"]) == {
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    assert "associations" not in body


def test_requested_properties_undefined_left_out_unset_null(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    deal = hubspot.add_deal("D")
    properties = api.get(
        f"crm/v3/objects/deals/{deal}",
        params={
            "properties": "dealname,no_such_property,billomat_link,description,hs_is_closed_won"
        },
    ).json()["properties"]
    assert properties == {
        "dealname": "D",
        "billomat_link": None,
        "description": None,
        "hs_is_closed_won": "false",
        "hs_object_id": deal,
        "createdate": "2025-01-10T08:00:00Z",
        "hs_lastmodifieddate": "2025-01-10T08:00:00Z",
    }


def test_properties_and_associations_may_repeat_and_be_singular(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    contact = hubspot.add_contact("A", "B", "a@b.de")
    second = hubspot.add_contact("C", "D", "c@d.de")
    deal = hubspot.add_deal("D", contacts=[contact, second])
    body = api.get(
        f"crm/v3/objects/deals/{deal}",
        params=[
            ("properties", "dealname"),
            ("properties", "amount"),
            ("associations", "contact"),
            ("associations", "companies,line_items"),
        ],
    ).json()
    assert {"dealname", "amount"} <= set(body["properties"])
    assert body["associations"] == {  # no company, no line items: those kinds are left out
        "contacts": {
            "results": [
                {"id": contact, "type": "deal_to_contact"},  # the primary contact comes first
                {"id": second, "type": "deal_to_contact"},
            ]
        }
    }


def test_deal_without_any_association_has_no_associations_key(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    deal = hubspot.add_deal("D")
    body = api.get(
        f"crm/v3/objects/deals/{deal}", params={"associations": "companies,contacts,line_items"}
    ).json()
    assert "associations" not in body


@pytest.mark.parametrize("deal_id", ["9999", "abc", "5001x", "-5001", "0"])
def test_unknown_or_non_numeric_deal_is_404(
    hubspot: HubSpotSandbox, api: httpx.Client, deal_id: str
) -> None:
    hubspot.add_deal("D")
    error_of(api.get(f"crm/v3/objects/deals/{deal_id}"), 404, "OBJECT_NOT_FOUND")


# --- companies, contacts ----------------------------------------------------------------------


def test_company_and_contact_have_the_object_shape(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    company = hubspot.add_company(
        "Alpen Holz GmbH",
        address="Seestraße 4",
        address2="Halle 2",
        zip="6020",
        city="Innsbruck",
        country="Österreich",
        domain="alpenholz.at",
    )
    contact = hubspot.add_contact("Jörg", "Öller", "joerg@alpenholz.at", phone="+43 512 1234")
    company_body = api.get(
        f"crm/v3/objects/companies/{company}",
        params={"properties": "name,address,address2,zip,city,country,domain"},
    ).json()
    assert company_body == {
        "id": "6001",
        "properties": {
            "name": "Alpen Holz GmbH",
            "address": "Seestraße 4",
            "address2": "Halle 2",
            "zip": "6020",
            "city": "Innsbruck",
            "country": "Österreich",
            "domain": "alpenholz.at",
            "hs_object_id": "6001",
            "createdate": "2025-01-10T08:00:00Z",
            "hs_lastmodifieddate": "2025-01-10T08:00:00Z",
        },
        "createdAt": "2025-01-10T08:00:00Z",
        "updatedAt": "2025-01-10T08:00:00Z",
        "archived": False,
    }
    contact_body = api.get(
        f"crm/v3/objects/contacts/{contact}",
        params={"properties": "firstname,lastname,email,phone,company"},
    ).json()
    assert contact_body["id"] == "8001"
    assert contact_body["properties"] == {
        "firstname": "Jörg",
        "lastname": "Öller",
        "email": "joerg@alpenholz.at",
        "phone": "+43 512 1234",
        "company": None,
        "hs_object_id": "8001",
        "createdate": "2025-01-10T08:00:00Z",
        "hs_lastmodifieddate": "2025-01-10T08:00:00Z",
    }
    assert "associations" not in contact_body
    error_of(api.get("crm/v3/objects/companies/6002"), 404, "OBJECT_NOT_FOUND")
    error_of(api.get("crm/v3/objects/contacts/6001"), 404, "OBJECT_NOT_FOUND")  # a company id


def test_company_can_be_read_with_its_deals(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    company = hubspot.add_company("A")
    first = hubspot.add_deal("One", company=company)
    second = hubspot.add_deal("Two", company=company)
    body = api.get(f"crm/v3/objects/companies/{company}", params={"associations": "deals"}).json()
    assert body["associations"] == {
        "deals": {
            "results": [
                {"id": first, "type": "company_to_deal"},
                {"id": second, "type": "company_to_deal"},
            ]
        }
    }


# --- line items -------------------------------------------------------------------------------


def test_batch_read_matches_the_contract(
    hubspot: HubSpotSandbox, clock: SandboxClock, api: httpx.Client
) -> None:
    seed_contract_deal(hubspot, clock)
    response = api.post(
        "crm/v3/objects/line_items/batch/read",
        json={"properties": LINE_ITEM_PROPERTIES, "inputs": [{"id": "7002"}, {"id": "7001"}]},
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["status", "results", "startedAt", "completedAt"]
    assert body["status"] == "COMPLETE"
    assert (body["startedAt"], body["completedAt"]) == ("2025-01-15T09:59:00Z",) * 2
    assert [result["id"] for result in body["results"]] == ["7002", "7001"]  # input order
    assert body["results"][1] == {
        "id": "7001",
        "properties": {
            "name": "Konzeption",
            "quantity": "2",
            "price": "1200.00",
            "amount": "2400.00",
            "hs_sku": "WEB-KONZ",
            "hs_discount_percentage": None,
            "discount": None,
            "description": None,
            "hs_object_id": "7001",
            "createdate": "2025-01-10T08:00:00Z",
            "hs_lastmodifieddate": "2025-01-10T08:00:00Z",
        },
        "createdAt": "2025-01-10T08:00:00Z",
        "updatedAt": "2025-01-10T08:00:00Z",
        "archived": False,
    }


def test_batch_read_with_unknown_ids_is_207(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    item = hubspot.add_line_item("X", 1, 10)
    response = api.post(
        "crm/v3/objects/line_items/batch/read",
        json={"properties": ["name"], "inputs": [{"id": "7009"}, {"id": item}, {"id": "abc"}]},
    )
    assert response.status_code == 207
    body = response.json()
    assert list(body) == ["status", "results", "numErrors", "errors", "startedAt", "completedAt"]
    assert [result["id"] for result in body["results"]] == [item]
    assert body["numErrors"] == 1
    assert body["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some LINE_ITEM objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": ["7009", "abc"]},
        }
    ]


def test_batch_read_takes_at_most_100_inputs(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    hubspot.add_line_item("X", 1, 10)
    hundred = [{"id": str(7001 + n)} for n in range(100)]
    assert (
        api.post("crm/v3/objects/line_items/batch/read", json={"inputs": hundred}).status_code
        == 207
    )
    too_many = [*hundred, {"id": "7101"}]
    response = api.post("crm/v3/objects/line_items/batch/read", json={"inputs": too_many})
    error_of(response, 400, "VALIDATION_ERROR")


def test_batch_read_details(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    item = hubspot.add_line_item("X", 1, 10)
    empty = api.post("crm/v3/objects/line_items/batch/read", json={"inputs": []})
    assert (empty.status_code, empty.json()["results"]) == (200, [])
    numeric = api.post(
        "crm/v3/objects/line_items/batch/read",
        json={"inputs": [{"id": int(item)}, {"id": item}]},  # numbers work, duplicates collapse
    ).json()
    assert [result["id"] for result in numeric["results"]] == [item]
    assert set(numeric["results"][0]["properties"]) == {
        "name",
        "quantity",
        "price",
        "amount",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }


# --- pipelines ---------------------------------------------------------------------------------


def test_pipelines_are_exactly_the_contracts(api: httpx.Client) -> None:
    body = api.get("crm/v3/pipelines/deals").json()
    default, custom = body["results"]
    assert {key: default[key] for key in ("id", "label", "displayOrder", "archived")} == {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "archived": False,
    }
    assert {"createdAt", "updatedAt"} <= set(default)
    assert [
        (
            stage["id"],
            stage["label"],
            stage["metadata"]["probability"],
            stage["metadata"]["isClosed"],
        )
        for stage in default["stages"]
    ] == [
        ("appointmentscheduled", "Appointment scheduled", "0.2", "false"),
        ("qualifiedtobuy", "Qualified to buy", "0.4", "false"),
        ("presentationscheduled", "Presentation scheduled", "0.6", "false"),
        ("decisionmakerboughtin", "Decision maker bought-in", "0.8", "false"),
        ("contractsent", "Contract sent", "0.9", "false"),
        ("closedwon", "Closed won", "1.0", "true"),
        ("closedlost", "Closed lost", "0.0", "true"),
    ]
    first = default["stages"][0]
    assert set(first) == {
        "id",
        "label",
        "displayOrder",
        "metadata",
        "archived",
        "createdAt",
        "updatedAt",
        "writePermissions",
    }
    assert first["writePermissions"] == "CRM_PERMISSIONS_ENFORCEMENT"
    assert [stage["displayOrder"] for stage in default["stages"]] == list(range(7))
    assert (custom["id"], custom["label"], custom["displayOrder"]) == (
        "31415926",
        "Projektgeschäft",
        1,
    )
    assert [(stage["id"], stage["label"], stage["metadata"]) for stage in custom["stages"]] == [
        ("1001", "Anfrage", {"isClosed": "false", "probability": "0.1"}),
        ("1002", "Angebot verschickt", {"isClosed": "false", "probability": "0.6"}),
        ("1003", "Auftrag erteilt", {"isClosed": "true", "probability": "1.0"}),
        ("1004", "Abgesagt", {"isClosed": "true", "probability": "0.0"}),
    ]


# --- PATCH deal --------------------------------------------------------------------------------

WRITE_BACK = {
    "billomat_offer_number": "AN-0001",
    "billomat_invoice_number": "RE-0001",
    "billomat_link": "https://app.billomat.com/app/beta/invoices/1001",
}


def test_patch_writes_back_and_answers_the_deal(
    hubspot: HubSpotSandbox, clock: SandboxClock, api: httpx.Client
) -> None:
    contact = hubspot.add_contact("A", "B", "a@b.de")
    deal = hubspot.add_deal("D", amount=100, contacts=[contact])
    clock.advance(90.25)
    response = api.patch(f"crm/v3/objects/deals/{deal}", json={"properties": WRITE_BACK})
    assert response.status_code == 200
    body = response.json()
    assert "associations" not in body
    assert body["id"] == deal
    assert body["updatedAt"] == "2025-01-10T08:01:30.250Z"
    assert body["properties"] == {
        "dealname": "D",
        "amount": "100",
        "closedate": None,
        "pipeline": "default",
        "dealstage": "appointmentscheduled",
        **WRITE_BACK,
        "hs_object_id": deal,
        "createdate": "2025-01-10T08:00:00Z",
        "hs_lastmodifieddate": "2025-01-10T08:01:30.250Z",
    }
    assert hubspot.deal(deal).items() >= WRITE_BACK.items()
    again = api.get(
        f"crm/v3/objects/deals/{deal}", params={"properties": ",".join(WRITE_BACK)}
    ).json()
    assert again["properties"].items() >= WRITE_BACK.items()


def test_patch_of_an_undefined_property_is_400_and_writes_nothing(
    clock: SandboxClock,
) -> None:
    hubspot = HubSpotSandbox(clock=clock, deal_properties=("billomat_offer_number",))
    deal = hubspot.add_deal("D")
    before = hubspot.deal(deal)
    clock.advance(60)
    with client_for(hubspot) as api:
        response = api.patch(
            f"crm/v3/objects/deals/{deal}",
            json={"properties": {"billomat_offer_number": "AN-0001", "billomat_link": "https://x"}},
        )
    body = error_of(response, 400, "VALIDATION_ERROR")
    assert body["message"] == (
        "Property values were not valid: "
        '[{"isValid":false,"message":"Property \\"billomat_link\\" does not exist",'
        '"error":"PROPERTY_DOESNT_EXIST","name":"billomat_link",'
        '"localizedErrorMessage":"Property \\"billomat_link\\" does not exist"}]'
    )
    assert hubspot.deal(deal) == before  # the valid property was not written either


def test_portal_without_the_write_back_properties(clock: SandboxClock) -> None:
    hubspot = HubSpotSandbox(clock=clock, deal_properties=())
    deal = hubspot.add_deal("D")
    with client_for(hubspot) as api:
        response = api.patch(f"crm/v3/objects/deals/{deal}", json={"properties": WRITE_BACK})
        read = api.get(f"crm/v3/objects/deals/{deal}", params={"properties": "billomat_link"})
    message = error_of(response, 400, "VALIDATION_ERROR")["message"]
    prefix = "Property values were not valid: "
    assert message.startswith(prefix)
    errors = json.loads(message.removeprefix(prefix))
    assert [(each["name"], each["error"]) for each in errors] == [
        (name, "PROPERTY_DOESNT_EXIST") for name in WRITE_BACK
    ]
    assert "billomat_link" not in read.json()["properties"]


def test_undefine_and_define_deal_properties(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    deal = hubspot.add_deal("D", properties={"billomat_link": "https://old"})
    hubspot.undefine_deal_property("billomat_link")
    assert "billomat_link" not in hubspot.deal(deal)
    response = api.patch(
        f"crm/v3/objects/deals/{deal}", json={"properties": {"billomat_link": "https://new"}}
    )
    assert "PROPERTY_DOESNT_EXIST" in error_of(response, 400, "VALIDATION_ERROR")["message"]
    hubspot.define_deal_property("billomat_link")
    assert hubspot.deal(deal)["billomat_link"] is None  # the old value went with the property
    with pytest.raises(ValueError, match="standard"):
        hubspot.undefine_deal_property("dealstage")
    with pytest.raises(ValueError, match="no custom"):
        hubspot.undefine_deal_property("billomat_foo")
    with pytest.raises(ValueError, match="property name"):
        hubspot.define_deal_property("Billomat Link")


def test_patch_refuses_read_only_properties_and_foreign_stages(
    hubspot: HubSpotSandbox, api: httpx.Client
) -> None:
    deal = hubspot.add_deal("D")
    response = api.patch(
        f"crm/v3/objects/deals/{deal}",
        json={"properties": {"hs_object_id": "1", "dealstage": "1003", "nope": "x"}},
    )
    message = error_of(response, 400, "VALIDATION_ERROR")["message"]
    errors = json.loads(message.removeprefix("Property values were not valid: "))
    assert [(each["name"], each["error"]) for each in errors] == [
        ("hs_object_id", "READ_ONLY_VALUE"),
        ("nope", "PROPERTY_DOESNT_EXIST"),
        ("dealstage", "INVALID_OPTION"),
    ]
    unknown_pipeline = api.patch(
        f"crm/v3/objects/deals/{deal}", json={"properties": {"pipeline": "42"}}
    )
    assert '"name":"pipeline"' in error_of(unknown_pipeline, 400, "VALIDATION_ERROR")["message"]
    assert hubspot.deal(deal)["dealstage"] == "appointmentscheduled"


def test_patch_value_dialect(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    deal = hubspot.add_deal("D", amount=1, description="old")
    response = api.patch(
        f"crm/v3/objects/deals/{deal}",
        json={
            "properties": {
                "amount": 4800.5,
                "billomat_offer_number": 17,
                "billomat_link": True,
                "description": None,
                "billomat_invoice_number": "",
            }
        },
    )
    assert response.status_code == 200
    stored = hubspot.deal(deal)
    assert (stored["amount"], stored["billomat_offer_number"], stored["billomat_link"]) == (
        "4800.5",
        "17",
        "true",
    )
    assert stored["description"] is None
    assert stored["billomat_invoice_number"] is None


def test_patch_into_a_won_stage_closes_the_deal(
    hubspot: HubSpotSandbox, clock: SandboxClock, api: httpx.Client
) -> None:
    deal = hubspot.add_deal("D", pipeline="31415926", stage="1002")
    clock.advance(3600)
    response = api.patch(f"crm/v3/objects/deals/{deal}", json={"properties": {"dealstage": "1003"}})
    assert response.json()["properties"]["closedate"] == "2025-01-10T09:00:00Z"
    assert hubspot.deal(deal)["hs_is_closed_won"] == "true"
    moved = api.patch(
        f"crm/v3/objects/deals/{deal}",
        json={"properties": {"pipeline": "default", "dealstage": "closedlost"}},
    )
    assert moved.status_code == 200
    assert hubspot.deal(deal)["hs_is_closed_won"] == "false"


def test_patch_unknown_deal_is_404(hubspot: HubSpotSandbox, api: httpx.Client) -> None:
    response = api.patch("crm/v3/objects/deals/5001", json={"properties": WRITE_BACK})
    error_of(response, 404, "OBJECT_NOT_FOUND")


# --- paths that do not exist --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "crm/v3/objects/line_items/7001"),
        ("GET", "crm/v3/objects/tickets/1"),
        ("POST", "crm/v3/objects/deals"),
        ("POST", "crm/v3/objects/deals/batch/read"),
        ("GET", "crm/v3/pipelines/deals/default"),
        ("GET", "crm/v4/objects/deals/5001"),
        ("GET", ""),
        ("GET", "crm/v3/objects/deals/5001/associations/companies"),
    ],
)
def test_other_paths_are_404_json(
    hubspot: HubSpotSandbox, api: httpx.Client, method: str, path: str
) -> None:
    hubspot.add_deal("D")
    hubspot.add_line_item("X", 1, 1)
    error_of(api.request(method, path), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "crm/v3/objects/deals/5001", "GET, PATCH"),
        ("PUT", "crm/v3/objects/deals/5001", "GET, PATCH"),
        ("PATCH", "crm/v3/objects/companies/6001", "GET"),
        ("GET", "crm/v3/objects/line_items/batch/read", "POST"),
        ("POST", "crm/v3/pipelines/deals", "GET"),
    ],
)
def test_wrong_method_is_405_json(
    hubspot: HubSpotSandbox, api: httpx.Client, method: str, path: str, allowed: str
) -> None:
    hubspot.add_deal("D")
    response = api.request(method, path, json={})
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == allowed


# --- deals moving, webhook events --------------------------------------------------------------


def test_move_deal_updates_the_deal_and_returns_the_event(
    hubspot: HubSpotSandbox, clock: SandboxClock
) -> None:
    deal = hubspot.add_deal("D", stage="contractsent")
    clock.set(datetime(2025, 1, 1, 0, 0, 30, 123000, tzinfo=UTC))
    event = hubspot.move_deal(deal, "closedwon")
    assert event == {
        "eventId": 1,
        "subscriptionId": DEV_SUBSCRIPTION_ID,
        "portalId": DEV_PORTAL_ID,
        "appId": DEV_APP_ID,
        "occurredAt": 1735689630123,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": int(deal),
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM_UI",
    }
    stored = hubspot.deal(deal)
    assert stored["dealstage"] == "closedwon"
    assert stored["hs_lastmodifieddate"] == "2025-01-01T00:00:30.123Z"
    assert stored["closedate"] == "2025-01-01T00:00:30.123Z"
    assert hubspot.webhook_events == [event]


def test_move_deal_validates_the_stage(hubspot: HubSpotSandbox) -> None:
    deal = hubspot.add_deal("D")
    with pytest.raises(ValueError, match="not one of the allowed options"):
        hubspot.move_deal(deal, "1003")
    with pytest.raises(ValueError, match="no deal 5999"):
        hubspot.move_deal("5999", "closedwon")
    assert hubspot.deal(deal)["dealstage"] == "appointmentscheduled"
    assert hubspot.webhook_events == []
    event = hubspot.move_deal(deal, "1003", pipeline="31415926")
    assert event["propertyValue"] == "1003"
    assert hubspot.deal(deal)["pipeline"] == "31415926"


def test_deal_event_ids_increase_and_options_apply(
    hubspot: HubSpotSandbox, clock: SandboxClock
) -> None:
    deal = hubspot.add_deal("D", stage="qualifiedtobuy")
    first = hubspot.deal_event(deal)
    clock.advance(1)
    second = hubspot.deal_event(int(deal))
    assert (first["eventId"], second["eventId"]) == (1, 2)
    assert second["occurredAt"] - first["occurredAt"] == 1000
    assert first["occurredAt"] == 1736496000000  # 2025-01-10T08:00:00Z
    assert second["propertyValue"] == "qualifiedtobuy"
    chosen = hubspot.deal_event(deal, event_id=100, occurred_at=1735689590000)
    assert (chosen["eventId"], chosen["occurredAt"]) == (100, 1735689590000)
    assert hubspot.deal_event(deal)["eventId"] == 101
    created = hubspot.deal_event(deal, subscription_type="deal.creation")
    assert "propertyName" not in created
    assert "propertyValue" not in created
    assert created["subscriptionType"] == "deal.creation"
    at = hubspot.deal_event(deal, occurred_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert at["occurredAt"] == 1735689600000
    assert len(hubspot.webhook_events) == 6
    with pytest.raises(ValueError, match="no deal"):
        hubspot.deal_event("4711")


def test_snapshot_holds_everything_as_json(
    hubspot: HubSpotSandbox, clock: SandboxClock, api: httpx.Client
) -> None:
    deal = seed_contract_deal(hubspot, clock)
    api.get(f"crm/v3/objects/deals/{deal}")
    state = json.loads(json.dumps(hubspot.snapshot()))
    assert state["portalId"] == DEV_PORTAL_ID
    assert [len(state[kind]) for kind in ("deals", "companies", "contacts", "line_items")] == [
        1,
        1,
        1,
        2,
    ]
    stored = state["deals"][0]
    assert stored["properties"]["dealstage"] == "contractsent"
    assert stored["associations"]["line_items"]["results"][1]["id"] == "7002"
    assert [pipeline["id"] for pipeline in state["pipelines"]] == ["default", "31415926"]
    assert len(state["webhookEvents"]) == 1
    assert state["requestCount"] == 1
    assert "billomat_link" in state["dealProperties"]
    assert hubspot.associations(deal) == {
        "companies": ["6001"],
        "contacts": ["8001"],
        "line_items": ["7001", "7002"],
    }
