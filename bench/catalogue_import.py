"""The catalogue import of 1,000 products against Billomat's real rate limit.

In-process: a generated Shopify product CSV export (1,000 products: one, two or three variants,
some variants without SKU) is read by ``article_sync.catalogue_csv`` and imported by
``article_sync.catalogue_import`` (the in-process target a real account uses: its own Billomat
client at the ``schedules`` priority, waiting for the next window) into the Billomat sandbox
with its real limit (300 requests per clock-aligned 15 minutes) on a simulated clock, moto for
the workflow table.

Printed:

1. the first import: products, articles created, duplicates (articles per key > 1; target 0),
   Billomat requests, requests refused by the limit (429), simulated time, requests per window,
   and the throughput as a share of what the limit allows: requests / (300 × windows elapsed),
   over the windows the import filled (every one but the last; target >= 90 %) and over the
   whole run; and how close the ETA shown at 10 % and 50 % came to the real rest;
2. the same file imported again: Billomat requests (target 0);
3. an import interrupted after 400 products and resumed: duplicates (target 0), products the
   resumed run skipped, requests compared with the uninterrupted run.

Run: `.venv/bin/python bench/catalogue_import.py [--products N]`.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import local  # noqa: E402,F401 - puts the layer and the function packages on sys.path

LIMIT = 300
WINDOW_SECONDS = 900
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # the start of a quota window
SHOP = "demo-shop.myshopify.com"
HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Type",
    "Tags",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Variant SKU",
    "Variant Price",
    "Variant Taxable",
    "Image Src",
    "Status",
]


def generated_export(products: int, seed: int = 7) -> str:
    """A Shopify product CSV: 40 % one variant, 35 % two, 20 % three (two options), 5 % two
    variants without SKU; an image row now and then."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not cryptography
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    for n in range(products):
        handle = f"produkt-{n:04d}"
        kind = rng.random()
        if kind < 0.40:
            variants = [("Title", "Default Title", "", "", f"ART-{n:04d}")]
        elif kind < 0.75:
            variants = [
                ("Größe", size, "", "", f"ART-{n:04d}-{size[:3]}") for size in ("250 g", "500 g")
            ]
        elif kind < 0.95:
            variants = [
                ("Größe", size, "Mahlgrad", grind, f"ART-{n:04d}-{size[:1]}{grind[:1]}")
                for size, grind in (("250 g", "Bohne"), ("250 g", "gemahlen"), ("1 kg", "Bohne"))
            ]
        else:
            variants = [("Farbe", colour, "", "", "") for colour in ("Weiß", "Schwarz")]
        for index, (name1, value1, name2, value2, sku) in enumerate(variants):
            first = index == 0
            writer.writerow(
                {
                    "Handle": handle,
                    "Title": f"Produkt {n}" if first else "",
                    "Body (HTML)": f"<p>Beschreibung von <b>Produkt {n}</b>.</p>" if first else "",
                    "Type": rng.choice(["Kaffee", "Zubehör", "Tee"]) if first else "",
                    "Tags": "Bench" if first else "",
                    "Option1 Name": name1 if first else "",
                    "Option1 Value": value1,
                    "Option2 Name": name2 if first else "",
                    "Option2 Value": value2,
                    "Variant SKU": sku,
                    "Variant Price": f"{rng.randint(300, 9000) / 100:.2f}",
                    "Variant Taxable": "TRUE",
                    "Image Src": f"https://cdn.example/{handle}.jpg" if first else "",
                    "Status": "active" if first else "",
                }
            )
        if rng.random() < 0.2:
            writer.writerow({"Handle": handle, "Image Src": f"https://cdn.example/{handle}-2.jpg"})
    return out.getvalue()


@dataclass
class EtaLog:
    """The ETA the progress showed, with the simulated time it was shown at."""

    clock: Any
    total: int = 0
    shown: list[tuple[int, int, float, float | None]] = field(default_factory=list)

    def start(self, total: int) -> None:
        self.total = total

    def update(self, done: int, requests: int, eta: float | None) -> None:
        self.shown.append((done, requests, self.clock.epoch(), eta))

    def waiting(self, until: float | None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def stop(self) -> None:
        pass

    def at_share(self, share: float) -> tuple[float, float] | None:
        """(ETA shown, simulated time at that moment) when ``share`` of the products were done."""
        for done, _requests, at, eta in self.shown:
            if eta is not None and done >= share * self.total:
                return eta, at
        return None


class Account:
    """A fresh sandbox account on a simulated clock and a fresh workflow table (moto)."""

    def __init__(self) -> None:
        from local.aws import LocalAws
        from local.billomat_sandbox import BillomatSandbox, SandboxClock

        self.environment = LocalAws().create(
            billomat_secret={"api_key": "sandbox-dev-api-key"},
            webhook_secrets={},
            hubspot_token="bench-token",  # noqa: S106 - moto, not a secret
        )
        self.clock = SandboxClock(START)
        self.sandbox = BillomatSandbox(clock=self.clock, rate_limit=LIMIT)

    def target(self, progress: Any) -> Any:
        from article_sync.catalogue_import import (
            QuotaWait,
            import_billomat_client,
            in_process_target,
        )
        from article_sync.mapping import ArticleRules

        from local.billomat_sandbox import DEV_API_KEY
        from local.sandbox_client import SANDBOX_BASE_URL

        wait = QuotaWait(threading.Event(), progress, now=self.clock.epoch, sleep=self.clock.sleep)
        client = import_billomat_client(
            SANDBOX_BASE_URL,
            DEV_API_KEY,
            wait,
            transport=self.sandbox.transport(),
            now=self.clock.epoch,
        )
        return in_process_target(
            client, self.environment["WORKFLOW_TABLE"], ArticleRules(), wait=wait
        )

    def duplicates(self) -> int:
        per_key = Counter(a["customfield"] for a in self.sandbox.snapshot()["articles"])
        return sum(1 for n in per_key.values() if n > 1)

    def articles(self) -> int:
        return len(self.sandbox.snapshot()["articles"])


def import_once(
    account: Account,
    export: str,
    state: Path,
    *,
    stop_after: int | None = None,
    progress: Any = None,
) -> Any:
    from article_sync.catalogue_csv import read_catalogue
    from article_sync.catalogue_import import ImportState, QuietProgress, run_import

    from autopilot.shop_products import ShopProduct

    entries = list(read_catalogue(io.StringIO(export, newline=""), "shopify", SHOP))
    total = sum(isinstance(entry, ShopProduct) for entry in entries)
    progress = progress or QuietProgress()
    target = account.target(progress)
    return run_import(
        entries,
        total=total,
        target=target,
        state=ImportState.open(state, target.identity),
        progress=progress,
        now=account.clock.epoch,
        stop_after=stop_after,
        waited=lambda: target.wait.waited,
    )


@contextmanager
def fresh_aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


def windows_of(account: Account, first_request: int) -> dict[int, int]:
    per_window: Counter[int] = Counter()
    for record in account.sandbox.requests[first_request:]:
        per_window[int((record.at.timestamp() - START.timestamp()) // WINDOW_SECONDS)] += 1
    return dict(sorted(per_window.items()))


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--stop-after", type=int, default=400)
    args = parser.parse_args()

    from local.aws import use_fake_aws_environment

    use_fake_aws_environment()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    import logging

    logging.disable(logging.CRITICAL)
    export = generated_export(args.products)
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch) / "state.jsonl"

        # 1. + 2. the first import and the same file again
        with fresh_aws():
            account = Account()
            eta = EtaLog(account.clock)
            first = import_once(account, export, state, progress=eta)
            elapsed = account.clock.epoch() - START.timestamp()
            per_window = windows_of(account, 0)
            refused = sum(1 for record in account.sandbox.requests if record.status == 429)
            filled = list(per_window)[:-1] or list(per_window)
            throughput_filled = sum(per_window[w] for w in filled) / (LIMIT * len(filled))
            throughput_run = first.requests / (LIMIT * math.ceil(max(elapsed, 1) / WINDOW_SECONDS))
            created, duplicates = account.articles(), account.duplicates()
            before = account.sandbox.request_count
            again = import_once(account, export, state)
            again_requests = account.sandbox.request_count - before

        # 3. interrupted after N products, then resumed
        with fresh_aws():
            resumed_account = Account()
            stopped = import_once(resumed_account, export, state, stop_after=args.stop_after)
            kept = state.exists()
            resumed = import_once(resumed_account, export, state)
            resumed_duplicates = resumed_account.duplicates()
            resumed_articles = resumed_account.articles()

    print(
        f"Catalogue import of {first.total} products (Shopify CSV, limit {LIMIT}/15 min, sandbox)"
    )
    print(
        f"  first import: {first.changes['created']} articles created ({created} in Billomat), "
        f"duplicates {duplicates} (target 0), {first.requests} Billomat requests, "
        f"{refused} refused by the limit, {minutes(elapsed)} simulated"
    )
    print(f"  requests per 15-minute window: {', '.join(str(n) for n in per_window.values())}")
    print(
        f"  throughput: {throughput_filled:.1%} of the limit in the windows the import filled "
        f"(target >= 90 %); {throughput_run:.1%} over all {len(per_window)} windows it touched"
    )
    for share in (0.1, 0.5):
        shown = eta.at_share(share)
        if shown is not None:
            predicted, at = shown
            real = START.timestamp() + elapsed - at
            print(
                f"  ETA shown at {share:.0%}: {minutes(predicted)}, "
                f"the rest really took {minutes(real)}"
            )
    print(
        f"  the same file again: {again_requests} Billomat requests (target 0), "
        f"{again.changes['unchanged']} articles unchanged"
    )
    print(
        f"  interrupted after {stopped.processed} products (state kept: {kept}), resumed: "
        f"{resumed.resumed} skipped as done, {resumed.processed} imported; "
        f"{resumed_articles} articles, duplicates {resumed_duplicates} (target 0), "
        f"{stopped.requests + resumed.requests} requests in both runs "
        f"(uninterrupted: {first.requests})"
    )
    ok = (
        duplicates == 0
        and resumed_duplicates == 0
        and again_requests == 0
        and refused == 0
        and throughput_filled >= 0.9
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
