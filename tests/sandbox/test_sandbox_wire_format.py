"""Envelopes and quirks of Billomat's JSON as the sandbox reproduces them (reference §2, §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from local.billomat_sandbox import BillomatSandbox, SandboxClock

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Billomat


def test_single_record_is_wrapped_in_its_element_name(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    body = api.get(f"clients/{client['id']}").json()
    assert list(body) == ["client"]
    assert body["client"]["name"] == "Muster GmbH"


def test_list_with_one_hit_is_an_object_not_a_list(billomat: Billomat, api: httpx.Client) -> None:
    billomat.client(name="Einzig AG")
    body = api.get("clients").json()
    assert isinstance(body["clients"]["client"], dict)
    assert body["clients"]["@total"] == "1"


def test_list_with_zero_hits_has_no_item_key(api: httpx.Client) -> None:
    assert api.get("clients").json() == {
        "clients": {"@page": "1", "@per_page": "100", "@total": "0"}
    }


def test_list_with_several_hits_is_a_list_with_string_paging_attributes(
    billomat: Billomat, api: httpx.Client
) -> None:
    billomat.client(name="A")
    billomat.client(name="B")
    body = api.get("clients").json()["clients"]
    assert [row["name"] for row in body["client"]] == ["A", "B"]
    assert (body["@page"], body["@per_page"], body["@total"]) == ("1", "100", "2")


def test_every_scalar_is_a_string_without_trailing_zeros(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(
        client["id"], {"title": "Stunde", "quantity": "5", "unit_price": 100}
    )
    assert invoice["id"].isdigit()
    assert invoice["total_net"] == "500"
    assert invoice["total_gross"] == "595"
    item = {"title": "Kaffee", "quantity": 3, "unit_price": "1.40", "tax_rate": "7"}
    other = billomat.invoice(client["id"], item)
    assert other["total_net"] == "4.2"
    assert other["total_gross"] == "4.49"


def test_empty_values_are_empty_strings(billomat: Billomat) -> None:
    client = billomat.client()
    assert client["street"] == ""
    assert client["customfield"] == ""
    invoice = billomat.invoice(client["id"])
    assert invoice["contact_id"] == ""
    assert invoice["taxes"] == ""


def test_nested_taxes_follow_the_single_and_list_quirks(billomat: Billomat) -> None:
    client = billomat.client()
    one_rate = billomat.invoice(client["id"], {"title": "A", "quantity": 1, "unit_price": 10})
    assert one_rate["taxes"]["tax"] == {
        "name": "MwSt",
        "rate": "19",
        "amount": "1.9",
        "amount_net": "10",
        "amount_gross": "11.9",
    }
    two_rates = billomat.invoice(
        client["id"],
        {"title": "A", "quantity": 1, "unit_price": 10},
        {"title": "B", "quantity": 1, "unit_price": 10, "tax_rate": 7},
    )
    assert [tax["rate"] for tax in two_rates["taxes"]["tax"]] == ["19", "7"]


def test_write_body_accepts_a_single_embedded_item_object(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.create(
        "invoices",
        "invoice",
        {
            "client_id": client["id"],
            "invoice-items": {"invoice-item": {"title": "Solo", "quantity": 1, "unit_price": 50}},
        },
    )
    assert invoice["total_net"] == "50"


def test_numbers_and_booleans_may_be_sent_as_strings_or_numbers(billomat: Billomat) -> None:
    client = billomat.client(dunning_run=1, discount_rate="2.5")
    assert client["dunning_run"] == "1"
    assert client["discount_rate"] == "2.5"
    assert billomat.client(dunning_run="0")["dunning_run"] == "0"


def test_post_answers_201_put_200_and_delete_200_with_an_empty_body(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client()
    edited = api.put(f"clients/{client['id']}", json={"client": {"city": "Köln"}})
    assert edited.status_code == 200
    assert edited.json()["client"]["city"] == "Köln"
    deleted = api.delete(f"clients/{client['id']}")
    assert deleted.status_code == 200
    assert deleted.content == b""
    assert api.get(f"clients/{client['id']}").status_code == 404


def test_unknown_id_and_unknown_path_answer_404_with_an_error_body(api: httpx.Client) -> None:
    missing = api.get("invoices/999999")
    assert missing.status_code == 404
    assert "error" in missing.json()["errors"]
    assert api.get("no-such-resource").status_code == 404


def test_several_error_messages_come_as_a_list(sandbox: BillomatSandbox, api: httpx.Client) -> None:
    sandbox.strict = True
    response = api.post("clients", json={"client": {"name": "X", "colour": "red", "size": "L"}})
    assert response.status_code == 400
    assert isinstance(response.json()["errors"]["error"], list)


def test_paging_and_order_by(billomat: Billomat, api: httpx.Client) -> None:
    for name in ("Cäsar", "anton", "Berta"):
        billomat.client(name=name)
    ordered = api.get("clients", params={"order_by": "name DESC"}).json()["clients"]["client"]
    assert [row["name"] for row in ordered] == ["Cäsar", "Berta", "anton"]
    second = api.get("clients", params={"per_page": 2, "page": 2, "order_by": "name ASC"})
    body = second.json()["clients"]
    assert body["client"]["name"] == "Cäsar"
    assert (body["@page"], body["@per_page"], body["@total"]) == ("2", "2", "3")


def test_per_page_is_capped_at_1000(api: httpx.Client) -> None:
    assert api.get("clients", params={"per_page": 5000}).json()["clients"]["@per_page"] == "1000"


def test_head_on_a_list_returns_the_count_without_body(
    billomat: Billomat, api: httpx.Client
) -> None:
    billomat.client(name="Kunde Eins")
    billomat.client(name="Kunde Zwei")
    response = api.head("clients", params={"name": "eins"})
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "1"
    assert response.content == b""


def test_actions_answer_with_the_record_or_empty_when_configured(
    clock: SandboxClock, open_api: Callable[..., httpx.Client]
) -> None:
    for empty, expected_body in ((False, True), (True, False)):
        sandbox = BillomatSandbox(clock=clock, empty_action_bodies=empty)
        with open_api(sandbox) as api:
            client = api.post("clients", json={"client": {"name": "X"}}).json()["client"]
            invoice = api.post("invoices", json={"invoice": {"client_id": client["id"]}}).json()
            completed = api.put(f"invoices/{invoice['invoice']['id']}/complete")
            assert completed.status_code == 200
            assert bool(completed.content) is expected_body


def test_own_company_and_settings(api: httpx.Client) -> None:
    myself = api.get("clients/myself").json()["client"]
    assert myself["name"] == "Demo GmbH"
    settings = api.get("settings").json()["settings"]
    assert settings["currency_code"] == "EUR"
    assert settings["invoice_number_pre"] == "RE"
    assert settings["due_days"] == "14"
    changed = api.put("settings", json={"settings": {"invoice_number_pre": "R-"}})
    assert changed.json()["settings"]["invoice_number_pre"] == "R-"


def test_default_taxes_and_reminder_texts_are_seeded(api: httpx.Client) -> None:
    taxes = api.get("taxes").json()["taxes"]["tax"]
    assert {(tax["rate"], tax["is_default"]) for tax in taxes} == {
        ("19", "1"),
        ("7", "0"),
        ("0", "0"),
    }
    texts = api.get("reminder-texts", params={"order_by": "sorting ASC"}).json()
    assert [text["name"] for text in texts["reminder-texts"]["reminder-text"]] == [
        "Zahlungserinnerung",
        "1. Mahnung",
        "2. Mahnung",
        "Letzte Mahnung",
    ]


def test_customfield_can_be_read_and_written_by_sub_path_and_in_post_body(
    billomat: Billomat, api: httpx.Client
) -> None:
    client = billomat.client(customfield="shop:42")
    assert client["customfield"] == "shop:42"
    invoice = billomat.completed_invoice(client["id"], label="order-1001")
    assert invoice["label"] == "order-1001"
    written = api.put(
        f"invoices/{invoice['id']}/customfield", json={"invoice": {"customfield": "order:1001"}}
    )
    assert written.status_code == 200
    read = api.get(f"invoices/{invoice['id']}/customfield").json()
    assert read == {"invoice": {"customfield": "order:1001"}}
    found = api.get("invoices", params={"customfield": "order:1001"}).json()["invoices"]
    assert found["invoice"]["id"] == invoice["id"]


def test_api_key_may_also_come_as_query_parameter(sandbox: BillomatSandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://x/api/") as api:
        assert api.get("clients").status_code == 401
        assert api.get("clients", params={"api_key": sandbox.api_key}).status_code == 200
