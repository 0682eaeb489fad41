"""The catalogue import against the Billomat sandbox and moto: each article once, a re-import
costs no Billomat request, interrupted or failed runs resume without duplicates; local mode's
``POST /local/articles/sync`` route and the command itself."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from article_sync.catalogue_csv import CatalogueEntry, read_catalogue
from article_sync.catalogue_import import (
    ImportState,
    InProcessTarget,
    LocalTarget,
    QuietProgress,
    QuotaWait,
    Summary,
    Target,
    import_billomat_client,
    in_process_target,
    main,
    run_import,
)
from article_sync.mapping import ArticleRules
from article_sync.syncing import ArticleSync

from autopilot.shop_products import ProductVariant, ShopProduct

from .conftest import Billomat, Stack

ROOT = Path(__file__).resolve().parents[2]
SHOPIFY_SAMPLE = ROOT / "events" / "catalogue" / "shopify-products.csv"
WOO_SAMPLE = ROOT / "events" / "catalogue" / "woocommerce-products.csv"
SHOP = "demo-shop.myshopify.com"


def target_for(billomat: Billomat, stack: Stack, stop: threading.Event | None = None) -> Any:
    """The import's own client (schedules priority, unlimited waits) on the sandbox's clock."""
    from local.billomat_sandbox import DEV_API_KEY
    from local.sandbox_client import SANDBOX_BASE_URL

    clock = billomat.sandbox.clock
    wait = QuotaWait(stop or threading.Event(), QuietProgress(), now=clock.epoch, sleep=clock.sleep)
    client = import_billomat_client(
        SANDBOX_BASE_URL, DEV_API_KEY, wait, transport=billomat.sandbox.transport(), now=clock.epoch
    )
    return in_process_target(client, stack.environment["WORKFLOW_TABLE"], ArticleRules(), wait=wait)


def entries(path: Path, source: str = "shopify", shop: str = SHOP) -> list[CatalogueEntry]:
    with path.open(encoding="utf-8-sig", newline="") as lines:
        return list(read_catalogue(lines, source, shop))  # type: ignore[arg-type]


def run(
    target: Target,
    items: list[CatalogueEntry],
    state_path: Path | None,
    **options: Any,
) -> Summary:
    total = sum(isinstance(item, ShopProduct) for item in items)
    state = ImportState.open(state_path, target.identity)
    return run_import(items, total=total, target=target, state=state, **options)


def articles(billomat: Billomat) -> list[dict[str, Any]]:
    return billomat.sandbox.snapshot()["articles"]


def duplicates(billomat: Billomat) -> dict[str, int]:
    per_key = Counter(article["customfield"] for article in articles(billomat))
    return {key: n for key, n in per_key.items() if n > 1}


def generated_catalogue(path: Path, products: int) -> Path:
    """A Shopify export of ``products`` products with two SKU'd variants each."""
    header = ["Handle", "Title", "Option1 Name", "Option1 Value", "Variant SKU", "Variant Price"]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(products):
            writer.writerow([f"p-{n}", f"Produkt {n}", "Größe", "klein", f"P{n}-S", "5.00"])
            writer.writerow([f"p-{n}", "", "", "groß", f"P{n}-L", "9.00"])
    return path


# -- in process, as against a real account -----------------------------------------------------


def test_the_import_creates_each_article_once_and_a_reimport_costs_nothing(
    stack: Stack, billomat: Billomat, tmp_path: Path
) -> None:
    state = tmp_path / "state.jsonl"
    items = entries(SHOPIFY_SAMPLE)
    first = run(target_for(billomat, stack), items, state)
    assert (first.processed, first.changes["created"], first.changes["unchanged"]) == (7, 11, 0)
    assert first.requests == 14  # taxes, units, the unit "Stück", one POST per article
    assert first.row_problem_count == 0  # problems come from the scan (see main)
    assert first.exit_code() == 0
    assert not state.exists()  # nothing to resume
    created = articles(billomat)
    assert len(created) == 11
    assert duplicates(billomat) == {}
    coffee = next(a for a in created if a["customfield"] == "sku:KAF-HM-500")
    assert coffee["title"] == "Kaffee Hausmischung – 500 g"
    assert coffee["sales_price"] == Decimal("13.3613")

    again = run(target_for(billomat, stack), items, state)
    assert (again.changes["created"], again.changes["unchanged"], again.requests) == (0, 11, 0)
    assert len(articles(billomat)) == 11


def test_an_interrupted_import_resumes_where_it_stopped_without_duplicates(
    stack: Stack, billomat: Billomat, tmp_path: Path
) -> None:
    state = tmp_path / "state.jsonl"
    items = entries(generated_catalogue(tmp_path / "products.csv", 30))
    first = run(target_for(billomat, stack), items, state, stop_after=12)
    assert first.interrupted
    assert first.exit_code() == 130
    assert first.processed == 12
    assert len(state.read_text().splitlines()) == 1 + 12  # the header and one line per product

    resumed = run(target_for(billomat, stack), items, state)
    assert (resumed.resumed, resumed.processed) == (12, 18)
    assert resumed.changes["created"] == 36
    assert resumed.requests == 2 + 36  # taxes and units once more, one POST per article
    assert resumed.exit_code() == 0
    assert not state.exists()
    assert len(articles(billomat)) == 60
    assert duplicates(billomat) == {}


def test_a_stop_during_a_wait_for_the_next_window_ends_the_wait_and_resumes(
    stack: Stack, billomat: Billomat, tmp_path: Path
) -> None:
    billomat.sandbox.rate_limit = 20  # a window holds 20 requests
    state = tmp_path / "state.jsonl"
    items = entries(generated_catalogue(tmp_path / "products.csv", 15))
    stop = threading.Event()
    target = target_for(billomat, stack, stop)
    sent_before_wait: list[int] = []

    class StopWhenWaiting(QuietProgress):
        def waiting(self, until: float | None) -> None:
            if until is not None and not stop.is_set():
                sent_before_wait.append(billomat.sandbox.request_count)
                stop.set()  # Ctrl-C while the client waits for the next window

    target.wait.progress = StopWhenWaiting()
    started = billomat.sandbox.clock.epoch()
    first = run(target, items, state, stop=stop)
    assert first.interrupted
    assert sent_before_wait == [20]
    assert billomat.sandbox.clock.epoch() == started  # the wait was cut short: nothing sent
    assert first.processed == 8  # 3 + 2 × 8 = 19 requests; the 9th product's 2nd article waits
    resumed = run(target_for(billomat, stack), items, state)
    assert resumed.resumed == 8
    assert len(articles(billomat)) == 30
    assert duplicates(billomat) == {}


@pytest.mark.parametrize("fault", ["commit_then_fail", "commit_then_timeout"])
def test_a_billomat_fault_mid_import_fails_one_product_and_the_rerun_adds_no_duplicate(
    stack: Stack, billomat: Billomat, tmp_path: Path, fault: str
) -> None:
    state = tmp_path / "state.jsonl"
    items = entries(generated_catalogue(tmp_path / "products.csv", 10))
    run(target_for(billomat, stack), items, state, stop_after=4)
    billomat.sandbox.faults.add("POST", "articles", fault)  # the next create is made, then lost
    second = run(target_for(billomat, stack), items, state)
    assert list(second.failed) == ["shopify:demo-shop.myshopify.com:product:p-4"]
    assert second.exit_code() == 1
    assert state.exists()
    assert len(articles(billomat)) == 4 * 2 + 1 + 5 * 2  # p-4's first create went through

    third = run(target_for(billomat, stack), items, state)
    assert (third.resumed, third.processed, third.failed) == (9, 1, {})
    assert third.changes["created"] == 2  # the lost one is found by its key, not made again
    assert not state.exists()
    assert len(articles(billomat)) == 20
    assert duplicates(billomat) == {}


def test_a_webhook_newer_than_the_import_wins_and_a_later_import_keeps_it(
    stack: Stack, billomat: Billomat, tmp_path: Path
) -> None:
    items = entries(WOO_SAMPLE, "woocommerce", "https://shop.example.de/")
    run(target_for(billomat, stack), items, None)
    target: InProcessTarget = target_for(billomat, stack)
    syncing: ArticleSync = target.syncing
    webhook = ShopProduct(
        source="woocommerce",
        shop="shop.example.de",
        product_id="301",
        title="Kaffeebecher Steingut",
        description="Steingut-Becher, 300 ml",
        updated_at=dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC),
        variants=(ProductVariant(variant_id="301", sku="BECHER-01", price=Decimal("14.90")),),
    )
    assert syncing.run(webhook).count("updated") == 1

    again = run(target_for(billomat, stack), items, None)
    assert again.stale_products == 1
    assert again.changes["stale"] == 1
    assert again.requests == 0
    mug = next(a for a in articles(billomat) if a["customfield"] == "sku:BECHER-01")
    assert mug["sales_price"] == Decimal("12.5210")  # 14.90 gross: the webhook's price stays
    assert "articles kept: a webhook brought newer data" in "\n".join(again.lines())


def test_a_refused_variant_is_skipped_with_its_reason_and_tried_again(
    stack: Stack, billomat: Billomat, tmp_path: Path
) -> None:
    text = (
        "ID,Type,SKU,Name,Published,Tax status,Tax class,Regular price\n"
        "1,simple,LUX,Luxus,1,taxable,luxury-rate,10\n"
        "2,simple,STD,Standard,1,taxable,,10\n"
    )
    path = tmp_path / "woo.csv"
    path.write_text(text, encoding="utf-8")
    state = tmp_path / "state.jsonl"
    items = entries(path, "woocommerce", "shop.example.de")
    summary = run(target_for(billomat, stack), items, state)
    assert summary.changes["created"] == 1
    [(reason, keys)] = summary.skipped.items()
    assert keys == ["sku:LUX"]
    assert "luxury-rate" in reason
    assert summary.exit_code() == 1
    assert "Skipped variants (not imported), by reason:" in summary.lines()
    assert ImportState.open(state, "x").done == {}  # kept for the rerun (another target: reset)


# -- local mode: the route and the command -----------------------------------------------------


@pytest.fixture
def local_system() -> Iterator[Any]:
    from local.containers import clear_container_caches
    from local.dev_settings import LocalSettings
    from local.server import LocalSystem

    saved = dict(os.environ)
    clear_container_caches()
    system = LocalSystem(LocalSettings.from_env({}), str(ROOT))
    try:
        system.start(port=3998)
        yield system
    finally:
        system.stop()
        os.environ.clear()
        os.environ.update(saved)
        clear_container_caches()


def product_json(product_id: str = "42", price: str = "8.90") -> bytes:
    product = ShopProduct(
        source="shopify",
        shop=SHOP,
        product_id=product_id,
        title="Kaffee Hausmischung",
        updated_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        variants=(
            ProductVariant(variant_id="1", sku="KAF-HM-250", title="250 g", price=Decimal(price)),
            ProductVariant(variant_id="2", sku="KAF-HM-500", title="500 g", price=Decimal("15.9")),
        ),
    )
    return product.model_dump_json().encode()


def test_the_local_route_runs_the_article_workflow(local_system: Any) -> None:
    import json

    route = "/local/articles/sync"
    first = local_system.handle("POST", route, {}, product_json())
    assert first.status == 200
    answer = json.loads(first.body)
    assert answer["outcome"]["created"] == 2
    assert answer["billomat_requests"] == 5  # taxes, units, the unit, two articles
    assert answer["rate_limit"]["remaining"] == 300 - 5

    again = json.loads(local_system.handle("POST", route, {}, product_json()).body)
    assert (again["outcome"]["unchanged"], again["billomat_requests"]) == (2, 0)
    changed = json.loads(local_system.handle("POST", route, {}, product_json(price="9.5")).body)
    assert (changed["outcome"]["updated"], changed["billomat_requests"]) == (1, 1)

    bad = local_system.handle("POST", route, {}, b'{"source": "ebay"}')
    assert bad.status == 400
    assert json.loads(bad.body)["error"] == "invalid_product"
    titles = sorted(a["title"] for a in local_system.sandbox.snapshot()["articles"])
    assert titles == ["Kaffee Hausmischung – 250 g", "Kaffee Hausmischung – 500 g"]


def test_the_import_in_local_mode_goes_through_the_route(local_system: Any, tmp_path: Path) -> None:
    def through_route(request: httpx.Request) -> httpx.Response:
        result = local_system.handle(
            request.method, request.url.raw_path.decode(), dict(request.headers), request.content
        )
        return httpx.Response(result.status, headers=result.headers, content=result.body)

    def target() -> LocalTarget:
        http = httpx.Client(
            base_url="http://local.test", transport=httpx.MockTransport(through_route)
        )
        return LocalTarget("http://local.test", http)

    items = entries(WOO_SAMPLE, "woocommerce", "https://shop.example.de/")
    first = run(target(), items, tmp_path / "state.jsonl")
    assert (first.changes["created"], first.requests) == (7, 10)
    again = run(target(), items, tmp_path / "state.jsonl")
    assert (again.changes["unchanged"], again.requests) == (7, 0)
    keys = Counter(a["customfield"] for a in local_system.sandbox.snapshot()["articles"])
    assert len(keys) == 7
    assert max(keys.values()) == 1


def test_the_dry_run_writes_nothing_and_names_the_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["--format", "shopify", "--shop", SHOP, "--dry-run", str(SHOPIFY_SAMPLE)])
    out = capsys.readouterr().out
    assert code == 1
    assert "sku:KAF-HM-500: Kaffee Hausmischung – 500 g · net 13.3613 · 19 %" in out
    assert "7 products, 11 articles" in out
    assert "row 17: Variant Price 'neunundvierzig' is not a price" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--local", "http://x", "--stack", "s"], "leave out --stack"),
        ([], "give --local URL"),
    ],
)
def test_the_command_refuses_contradicting_targets(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "shopify", "--shop", SHOP, *argv, str(SHOPIFY_SAMPLE)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_file_of_the_wrong_format_stops_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--format", "woocommerce", "--shop", "shop.example.de", "--local", "http://127.0.0.1:9"]
    assert main([*argv, str(SHOPIFY_SAMPLE)]) == 2
    assert "not a WooCommerce product CSV" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_against_local_mode_stops_at_ctrl_c_and_resumes(tmp_path: Path) -> None:
    from .test_local_mode import start_server, stop_server

    server = start_server()
    try:
        catalogue = generated_catalogue(tmp_path / "products.csv", 40)
        state = tmp_path / "state.jsonl"
        command = [
            sys.executable,
            str(ROOT / "scripts" / "import_catalogue.py"),
            "--format",
            "shopify",
            "--shop",
            SHOP,
            "--local",
            server.base_url,
            "--state",
            str(state),
            str(catalogue),
        ]
        process = subprocess.Popen(  # noqa: S603 - the project's own launcher
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
        )
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # one line per 10 % when stdout is not a terminal
            lines.append(line)
            if re.match(r"\s*10 % \(4/40 products", line):
                process.send_signal(signal.SIGINT)
                break
        output = "".join(lines) + process.communicate(timeout=60)[0]
        assert process.returncode == 130, output
        assert "interrupted" in output
        assert "run the same command again to go on" in output
        done = len(state.read_text().splitlines()) - 1
        assert 4 <= done < 40

        rerun = subprocess.run(  # noqa: S603 - the project's own launcher
            command, capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert f"({done} imported by an earlier run)" in rerun.stdout
        assert re.search(r"articles created\s+" + str(80 - 2 * done) + r"\n", rerun.stdout)
        records = httpx.get(f"{server.base_url}/local/billomat").json()["records"]
        keys = Counter(article["customfield"] for article in records["articles"])
        assert len(keys) == 80
        assert max(keys.values()) == 1
        assert not state.exists()
    finally:
        stop_server(server)


def test_the_summary_lists_reasons_grouped() -> None:
    summary = Summary(total=3, processed=3)
    summary.skipped["Steuerklasse 'x' …"] += ["sku:A", "sku:B"]
    summary.row_problems = ["row 5: no Handle"]
    summary.row_problem_count = 1
    text = "\n".join(summary.lines())
    assert "Skipped rows of the CSV file:\n  row 5: no Handle" in text
    assert "  Steuerklasse 'x' …\n    2: sku:A, sku:B" in text
    assert summary.exit_code() == 1


def test_a_summary_text_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    from article_sync.catalogue_import import PlainProgress

    progress = PlainProgress(out)
    progress.start(20)
    for done in range(1, 21):
        progress.update(done, done * 2, 60.0)
    lines = out.getvalue().splitlines()
    assert lines[0] == "importing 20 products"
    assert len(lines) == 11  # one per 10 %
    assert lines[-1] == "100 % (20/20 products, 40 Billomat requests, ETA 1 min)"


def test_the_command_against_a_real_account_runs_in_process(
    stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Billomat account over HTTP (the sandbox served on loopback), the table in moto."""
    from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox

    sandbox = BillomatSandbox()
    with sandbox.serve() as server:
        monkeypatch.setenv("BILLOMAT_API_KEY", DEV_API_KEY)
        monkeypatch.setenv("SHOPIFY_TAX_OVERRIDES", '{"type:Bücher": 7}')
        argv = [
            "--format",
            "shopify",
            "--shop",
            SHOP,
            "--table",
            stack.environment["WORKFLOW_TABLE"],
            "--billomat-base-url",
            server.base_url,
            "--region",
            "eu-central-1",
            "--state",
            str(tmp_path / "state.jsonl"),
            str(SHOPIFY_SAMPLE),
        ]
        assert main(argv) == 1  # the sample's bad row
        out = capsys.readouterr().out
        assert re.search(r"articles created\s+11\n", out)
        assert re.search(r"Billomat requests\s+14\n", out)
        book = next(
            a for a in sandbox.snapshot()["articles"] if a["customfield"] == "sku:BUCH-KAFFEE-01"
        )
        assert book["sales_price"] == Decimal("22.4299")  # 7 %: the override from the environment

        assert main(argv) == 1
        assert re.search(r"Billomat requests\s+0\n", capsys.readouterr().out)


def test_the_stack_gives_table_account_settings_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from article_sync.catalogue_import import stack_billomat_secret, stack_configuration
    from botocore.stub import Stubber

    clients: dict[str, Any] = {
        name: boto3.client(name, region_name="eu-central-1")
        for name in ("cloudformation", "lambda", "secretsmanager")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for logical_id, physical_id in (
        ("WorkflowTable", "autopilot-WorkflowTable-1"),
        ("ArticleSyncFunction", "autopilot-ArticleSync-1"),
    ):
        stubs["cloudformation"].add_response(
            "describe_stack_resource",
            {
                "StackResourceDetail": {
                    "LogicalResourceId": logical_id,
                    "PhysicalResourceId": physical_id,
                    "ResourceType": "x",
                    "LastUpdatedTimestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    "ResourceStatus": "CREATE_COMPLETE",
                }
            },
            {"StackName": "autopilot", "LogicalResourceId": logical_id},
        )
    variables = {"BILLOMAT_ID": "demo", "ARTICLE_SHOP_PRICES": "net", "BILLOMAT_SECRET_ARN": "arn"}
    stubs["lambda"].add_response(
        "get_function_configuration",
        {"Environment": {"Variables": variables}},
        {"FunctionName": "autopilot-ArticleSync-1"},
    )
    stubs["secretsmanager"].add_response(
        "get_secret_value", {"SecretString": '{"api_key": "k", "app_id": "-"}'}, {"SecretId": "arn"}
    )
    monkeypatch.setattr(boto3, "client", lambda name, **_: clients[name])
    with stubs["cloudformation"], stubs["lambda"], stubs["secretsmanager"]:
        config = stack_configuration("autopilot", "eu-central-1")
        assert config == {**variables, "WORKFLOW_TABLE": "autopilot-WorkflowTable-1"}
        assert ArticleRules.from_env(config).shop_prices == "net"
        assert stack_billomat_secret("arn", "eu-central-1") == {"api_key": "k", "app_id": "-"}
