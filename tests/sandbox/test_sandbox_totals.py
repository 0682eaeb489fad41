"""Totals: NET and GROSS documents, mixed rates, reductions, rounding per tax group (§7)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox
from local.billomat_sandbox.document_totals import LineInput, Reduction, calculate_totals

if TYPE_CHECKING:
    from .conftest import Billomat


def item(title: str, quantity: object, unit_price: object, **extra: object) -> dict[str, object]:
    return {"title": title, "quantity": quantity, "unit_price": unit_price, **extra}


def test_net_invoice_with_mixed_rates(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(
        client["id"],
        item("Beratung", 3, "80.00"),
        item("Buch", 2, "19.99", tax_rate=7),
        item("Porto", 1, "4.20", tax_rate=0),
    )
    assert invoice["total_net"] == "284.18"  # 240 + 39.98 + 4.20
    assert invoice["total_gross"] == "332.58"  # 285.60 + 42.78 + 4.20
    taxes = {tax["rate"]: tax for tax in invoice["taxes"]["tax"]}
    assert (taxes["19"]["amount"], taxes["19"]["amount_net"]) == ("45.6", "240")
    assert (taxes["7"]["amount"], taxes["7"]["amount_gross"]) == ("2.8", "42.78")
    assert taxes["0"]["amount"] == "0"


def test_gross_invoice_keeps_the_shops_gross_total_to_the_cent(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(
        client["id"],
        item("T-Shirt", 3, "19.99"),
        item("Buch", 1, "12.99", tax_rate=7),
        item("Versand", 1, "4.90"),
        net_gross="GROSS",
    )
    assert invoice["total_gross"] == "77.86"  # 59.97 + 12.99 + 4.90
    taxes = {tax["rate"]: tax for tax in invoice["taxes"]["tax"]}
    assert taxes["19"]["amount_gross"] == "64.87"
    assert taxes["19"]["amount_net"] == "54.51"
    assert taxes["7"]["amount_net"] == "12.14"
    assert invoice["total_net"] == "66.65"


def test_item_reductions_absolute_and_percent(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(
        client["id"],
        item("A", 1, 100, reduction="10%"),
        item("B", 2, 50, reduction="15"),
    )
    assert invoice["total_net"] == "175"  # 90 + 85
    assert invoice["total_gross"] == "208.25"


def test_document_reduction_matches_billomats_worked_example(billomat: Billomat) -> None:
    client = billomat.client()
    invoice = billomat.invoice(client["id"], item("A", 1, 100), reduction="10")
    assert (invoice["total_net"], invoice["total_gross"]) == ("90", "107.1")
    assert (invoice["total_net_unreduced"], invoice["total_gross_unreduced"]) == ("100", "119")
    assert invoice["total_reduction"] == "10"
    percent = billomat.invoice(client["id"], item("A", 1, 100), reduction="5%")
    assert percent["total_net"] == "95"


def test_absolute_reduction_on_a_gross_document_is_spread_without_losing_a_cent() -> None:
    totals = calculate_totals(
        [
            LineInput(Decimal(1), Decimal("33.33"), Decimal(19)),
            LineInput(Decimal(1), Decimal("33.34"), Decimal(7)),
        ],
        gross_prices=True,
        reduction=Reduction.parse("10"),
    )
    assert totals.total_gross == Decimal("56.67")


def test_item_taken_from_an_article_copies_title_price_and_tax(billomat: Billomat) -> None:
    reduced = next(
        tax for tax in billomat.api.get("taxes").json()["taxes"]["tax"] if tax["rate"] == "7"
    )
    article = billomat.create(
        "articles",
        "article",
        {"title": "Kochbuch", "sales_price": "24.50", "tax_id": reduced["id"], "type": "PRODUCT"},
    )
    client = billomat.client()
    invoice = billomat.invoice(client["id"], {"article_id": article["id"], "quantity": 2})
    items = billomat.api.get("invoice-items", params={"invoice_id": invoice["id"]}).json()
    position = items["invoice-items"]["invoice-item"]
    assert (position["title"], position["unit_price"], position["tax_rate"]) == (
        "Kochbuch",
        "24.5",
        "7",
    )
    assert position["type"] == "PRODUCT"
    assert invoice["total_gross"] == "52.43"


_GROSS_ITEMS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=1, max_value=500_00).map(lambda cents: Decimal(cents) / 100),
        st.sampled_from(["19", "7", "0"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_GROSS_ITEMS)
def test_gross_total_equals_the_sum_of_gross_lines(lines: list[tuple[int, Decimal, str]]) -> None:
    sandbox = BillomatSandbox()
    client = sandbox.seed("clients", {"name": "Shop-Kunde"})
    with_items = [
        {"title": f"Pos {n}", "quantity": qty, "unit_price": str(price), "tax_rate": rate}
        for n, (qty, price, rate) in enumerate(lines)
    ]
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="http://billomat.sandbox/api/",
        headers={"X-BillomatApiKey": DEV_API_KEY},
    ) as api:
        response = api.post(
            "invoices",
            json={
                "invoice": {
                    "client_id": client["id"],
                    "net_gross": "GROSS",
                    "invoice-items": {"invoice-item": with_items},
                }
            },
        )
    invoice = response.json()["invoice"]
    expected = sum((qty * price for qty, price, _ in lines), Decimal(0))
    assert Decimal(invoice["total_gross"]) == expected
    taxes = invoice["taxes"]["tax"]
    taxes = taxes if isinstance(taxes, list) else [taxes]
    assert sum(Decimal(tax["amount_net"]) + Decimal(tax["amount"]) for tax in taxes) == expected
    assert Decimal(invoice["total_net"]) + sum(Decimal(tax["amount"]) for tax in taxes) == expected
