"""``group_by`` aggregates of invoices (§6.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .conftest import Billomat


def test_group_by_month_sums_filtered_invoices(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    billomat.completed_invoice(client["id"], date="2025-01-05")
    billomat.completed_invoice(client["id"], date="2025-01-25")
    billomat.completed_invoice(client["id"], date="2025-02-10")
    billomat.invoice(
        client["id"], {"title": "x", "quantity": 1, "unit_price": 5}, date="2025-02-11"
    )
    body = api.get("invoices", params={"group_by": "month", "status": "OPEN,OVERDUE"}).json()
    groups = body["invoice-groups"]["invoice-group"]
    assert body["invoice-groups"]["@currency_code"] == "EUR"
    assert [(g["month"], g["total_net"], g["total_gross"]) for g in groups] == [
        ("2025-01", "200", "238"),
        ("2025-02", "100", "119"),
    ]
    assert groups[0]["invoice-params"] == {
        "status": "OPEN,OVERDUE",
        "from": "2025-01-01",
        "to": "2025-01-31",
    }


def test_group_by_client_and_year_combined(billomat: Billomat, api: httpx.Client) -> None:
    first = billomat.client(name="Eins")
    second = billomat.client(name="Zwei")
    billomat.completed_invoice(first["id"], date="2024-12-31")
    billomat.completed_invoice(first["id"], date="2025-01-01")
    billomat.completed_invoice(second["id"], date="2025-01-02")
    groups = api.get("invoices", params={"group_by": "client,year"}).json()["invoice-groups"]
    keys = [(g["client_id"], g["year"]) for g in groups["invoice-group"]]
    assert keys == [(first["id"], "2024"), (first["id"], "2025"), (second["id"], "2025")]


def test_group_by_single_group_is_an_object_and_no_groups_omit_the_key(
    billomat: Billomat, api: httpx.Client
) -> None:
    assert api.get("invoices", params={"group_by": "status"}).json() == {
        "invoice-groups": {"@currency_code": "EUR"}
    }
    client = billomat.client()
    billomat.completed_invoice(client["id"])
    single = api.get("invoices", params={"group_by": "status"}).json()["invoice-groups"]
    assert single["invoice-group"]["status"] == "OPEN"


def test_group_by_week_and_day(billomat: Billomat, api: httpx.Client) -> None:
    client = billomat.client()
    billomat.completed_invoice(client["id"], date="2025-03-03")
    billomat.completed_invoice(client["id"], date="2025-03-09")
    weeks = api.get("invoices", params={"group_by": "week"}).json()["invoice-groups"]
    assert weeks["invoice-group"]["week"] == "2025-W10"
    assert weeks["invoice-group"]["invoice-params"] == {"from": "2025-03-03", "to": "2025-03-09"}
    days = api.get("invoices", params={"group_by": "day"}).json()["invoice-groups"]
    assert [g["day"] for g in days["invoice-group"]] == ["2025-03-03", "2025-03-09"]


def test_group_by_rejects_unknown_groupings(api: httpx.Client) -> None:
    assert api.get("invoices", params={"group_by": "country"}).status_code == 400
