"""Deal rules over plain values: what a stage means, and line items → offer positions.

The positions are also checked against the Billomat sandbox: whatever the line items, the
offer Billomat computes totals exactly the sum of HubSpot's line amounts (net), to the cent.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from deal_invoice.positions import DealNotQuotable, DealPrices, deal_positions, line_amount
from deal_invoice.stages import PipelineCache, StageMeaning, find_stage, stage_meaning
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopilot.billomat import ClientDraft, NetGross, OfferDraft, OfferItemDraft
from autopilot.hubspot import Deal, LineItem, Pipeline, PipelineStage
from local.billomat_sandbox import BillomatSandbox
from local.sandbox_client import sandbox_client


def stage(id: str, label: str, probability: str | None, closed: bool = False) -> PipelineStage:
    return PipelineStage(
        id=id,
        label=label,
        is_closed=closed,
        probability=None if probability is None else Decimal(probability),
    )


DEFAULT = Pipeline(
    id="default",
    label="Sales Pipeline",
    stages=(
        stage("appointmentscheduled", "Appointment scheduled", "0.2"),
        stage("contractsent", "Contract sent", "0.9"),
        stage("closedwon", "Closed won", "1.0", closed=True),
        stage("closedlost", "Closed lost", "0.0", closed=True),
    ),
)
CUSTOM = Pipeline(
    id="31415926",
    label="Projektgeschäft",
    stages=(
        stage("1001", "Anfrage", "0.1"),
        stage("1002", "Angebot verschickt", "0.6"),
        stage("1003", "Auftrag erteilt", "1", closed=True),
        stage("1004", "Abgesagt", "0", closed=True),
    ),
)


# -- stages ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pipeline", "stage_id", "quote", "meaning"),
    [
        ("default", "contractsent", ["contractsent"], StageMeaning.QUOTE),
        ("default", "closedwon", ["contractsent"], StageMeaning.WON),
        ("default", "closedlost", ["contractsent"], StageMeaning.LOST),
        ("default", "appointmentscheduled", ["contractsent"], StageMeaning.OPEN),
        ("31415926", "1002", ["Angebot verschickt"], StageMeaning.QUOTE),  # by label
        ("31415926", "1002", ["  angebot VERSCHICKT "], StageMeaning.QUOTE),  # case, spaces
        ("31415926", "1002", ["1002"], StageMeaning.QUOTE),  # by id
        ("31415926", "1002", ["contractsent"], StageMeaning.OPEN),
        ("31415926", "1003", [], StageMeaning.WON),  # numeric ids: won by metadata
        ("31415926", "1004", [], StageMeaning.LOST),
        ("default", "closedwon", ["closedwon"], StageMeaning.WON),  # closed beats the list
        ("default", "closedlost", ["Closed lost"], StageMeaning.LOST),
    ],
)
def test_stage_meaning(
    pipeline: str, stage_id: str, quote: list[str], meaning: StageMeaning
) -> None:
    found = find_stage([DEFAULT, CUSTOM], pipeline, stage_id)
    assert found is not None
    assert stage_meaning(found, quote) is meaning


def test_a_closed_stage_with_another_probability_means_nothing() -> None:
    odd = stage("closedmaybe", "Closed 50", "0.5", closed=True)
    assert stage_meaning(odd, ["closedmaybe"]) is StageMeaning.OPEN


def test_a_stage_of_no_pipeline_is_unknown() -> None:
    assert find_stage([DEFAULT], "default", "1003") is None
    assert find_stage([DEFAULT, CUSTOM], None, "1003") is not None  # pipeline not given


def test_pipeline_cache_fetches_once_and_refreshes_for_an_unknown_stage() -> None:
    fetched: list[int] = []
    moment = [0.0]
    pipelines = [[DEFAULT], [DEFAULT, CUSTOM]]

    def fetch() -> list[Pipeline]:
        fetched.append(1)
        return pipelines[min(len(fetched) - 1, 1)]

    cache = PipelineCache(fetch, max_age=60, now=lambda: moment[0])
    assert cache.stage("default", "closedwon") is not None
    assert cache.stage("default", "contractsent") is not None
    assert len(fetched) == 1
    assert cache.stage("31415926", "1003") is not None  # added since: one refresh
    assert len(fetched) == 2
    assert cache.stage("31415926", "9999") is None  # unknown after the refresh too
    assert len(fetched) == 3
    moment[0] = 61
    cache.stage("default", "closedwon")
    assert len(fetched) == 4  # too old


# -- positions ---------------------------------------------------------------------------------
def deal(amount: str | None = "4800", name: str = "Website-Relaunch") -> Deal:
    return Deal(id="5001", name=name, amount=None if amount is None else Decimal(amount))


def item(
    quantity: str,
    price: str,
    *,
    amount: str | None = None,
    pct: str | None = None,
    discount: str | None = None,
    sku: str | None = None,
    name: str = "Konzeption",
) -> LineItem:
    return LineItem(
        id="7001",
        name=name,
        quantity=Decimal(quantity),
        price=Decimal(price),
        amount=None if amount is None else Decimal(amount),
        discount_percentage=None if pct is None else Decimal(pct),
        discount=None if discount is None else Decimal(discount),
        sku=sku,
    )


def test_one_position_per_line_item_with_sku_and_discount() -> None:
    priced = deal_positions(
        deal(),
        [item("2", "1200", sku="WEB-KONZ"), item("10", "95", pct="10", name="Umsetzung")],
        Decimal(19),
    )
    first, second = priced.positions
    assert (first.title, first.quantity, first.unit_price, first.tax_rate) == (
        "Konzeption",
        Decimal(2),
        Decimal(1200),
        Decimal(19),
    )
    assert first.description == "Artikel-Nr. WEB-KONZ"
    assert second.reduction == "10%"
    assert priced.expected_total == Decimal("3255.00")
    assert priced.prices is DealPrices.NET


def test_a_fixed_discount_per_unit_becomes_an_absolute_reduction() -> None:
    (position,) = deal_positions(deal(), [item("3", "100", discount="5")], Decimal(19)).positions
    assert (position.unit_price, position.reduction) == (Decimal(100), "15")


def test_a_line_that_is_not_whole_cents_is_billed_once_at_its_amount() -> None:
    (position,) = deal_positions(
        deal(), [item("3", "33.33", pct="10", amount="89.99")], Decimal(19)
    ).positions
    assert (position.quantity, position.unit_price, position.reduction) == (
        Decimal(1),
        Decimal("89.99"),
        None,
    )
    assert position.title == "3 × Konzeption"
    assert "10 % Rabatt" in (position.description or "")


def test_hubspots_own_amount_wins_over_quantity_times_price() -> None:
    priced = deal_positions(deal(), [item("2", "100", amount="150")], Decimal(19))
    assert priced.expected_total == Decimal(150)
    assert priced.positions[0].unit_price == Decimal(150)


def test_a_deal_without_line_items_gets_one_position_from_name_and_amount() -> None:
    priced = deal_positions(deal("4800.5"), [], Decimal(7))
    (position,) = priced.positions
    assert (position.title, position.quantity, position.unit_price, position.tax_rate) == (
        "Website-Relaunch",
        Decimal(1),
        Decimal("4800.50"),
        Decimal(7),
    )


@pytest.mark.parametrize(
    "line",
    [
        item("0", "10"),
        item("-1", "10"),
        item("1", "-10"),
        item("1", "10", pct="101"),
        item("1", "10", discount="11"),
    ],
)
def test_impossible_lines_are_refused(line: LineItem) -> None:
    with pytest.raises(DealNotQuotable):
        deal_positions(deal(), [line], Decimal(19))


def test_no_line_items_and_no_amount_is_refused() -> None:
    with pytest.raises(DealNotQuotable):
        deal_positions(deal(None), [], Decimal(19))


cents = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2)
quantities = st.one_of(
    st.integers(min_value=1, max_value=50).map(Decimal),
    st.decimals(min_value=Decimal("0.25"), max_value=Decimal("20"), places=2),
)
percentages = st.one_of(
    st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=1)
)


@st.composite
def line_items(draw: st.DrawFn) -> LineItem:
    price = draw(cents)
    discount = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=price, places=2)))
    return LineItem(
        id="7001",
        name="Position",
        quantity=draw(quantities),
        price=price,
        discount=discount,
        discount_percentage=draw(percentages),
        sku=draw(st.one_of(st.none(), st.just("SKU-1"))),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line_items(), min_size=1, max_size=6), st.sampled_from(["19", "7", "0"]))
def test_the_offer_billomat_computes_totals_the_line_amounts(
    items: list[LineItem], rate: str
) -> None:
    priced = deal_positions(deal(), items, Decimal(rate))
    assert priced.expected_total == sum((line_amount(i) for i in items), Decimal(0))
    sandbox = BillomatSandbox()
    billomat = sandbox_client(sandbox)
    client = billomat.create_client(ClientDraft(name="Muster GmbH"))
    offer = billomat.create_offer(
        OfferDraft(
            client_id=client.id,
            net_gross=NetGross.NET,
            items=[
                OfferItemDraft(
                    title=p.title,
                    quantity=p.quantity,
                    unit_price=p.unit_price,
                    tax_rate=p.tax_rate,
                    reduction=p.reduction,
                    description=p.description,
                )
                for p in priced.positions
            ],
        )
    )
    assert offer.total_net == priced.expected_total
