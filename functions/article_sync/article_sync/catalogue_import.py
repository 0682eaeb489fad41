"""The catalogue import: a whole shop catalogue from the shop's own CSV export into Billomat
articles (the first set-up; the product webhooks keep it current afterwards).

Run from a checkout, never deployed (the article_sync Lambda package holds this module but never
imports it)::

    make import-catalogue CSV=products.csv FORMAT=shopify SHOP=demo-shop.myshopify.com \\
        LOCAL=http://127.0.0.1:3000
    BILLOMAT_API_KEY=… .venv/bin/python scripts/import_catalogue.py --format woocommerce \\
        --shop https://shop.example.de/ --stack billomat-autopilot --region eu-central-1 \\
        products.csv

Every product of the file (:mod:`.catalogue_csv`) goes through the article_sync workflow
(:class:`.syncing.ArticleSync`) exactly like a webhook delivery: the same mapping, the same
write-only-on-change rule, the same per-product lock and write-once creates. Where it runs:

- **A real account**: in this process, with your AWS credentials on the deployed workflow table
  (``--table``; or ``--stack``, which reads the table, the Billomat account and the mapping
  settings of the deployed ArticleSyncFunction) and Billomat's API key from
  ``BILLOMAT_API_KEY`` (never an argument; with ``--stack`` and no key set, the stack's Billomat
  secret). Without ``--stack`` the mapping settings come from the environment
  (``ARTICLE_SHOP_PRICES``, ``SHOPIFY_TAX_OVERRIDES``, …): set them as the stack has them.
- **Local mode** (``--local URL``): each product is posted to the running local server's
  ``POST /local/articles/sync``, which runs the same workflow on its moto table and Billomat.

**Rate limit.** Billomat allows 300 requests per clock-aligned 15 minutes. The client never
sends into a used-up window; it waits for the next one, as long as it takes, at the
``schedules`` priority (orders and bank transfers drawing on the same account keep their
share). The ETA is derived from the limit: the products left × the Billomat requests per
product so far (2 before the first), sent at the current window's remaining quota and then
300 per 15 minutes (a registered app's higher limit counts once seen).

**Interrupt and resume.** Ctrl-C stops after the current product (a wait for the next window
ends at once; a second Ctrl-C stops immediately). Every finished product is appended to the
state file (``--state``, default ``.catalogue-import-<shop>.jsonl``) the moment it finishes, so
even a killed run resumes: the same command skips the products recorded with the same content
for the same target (Billomat account + table + mapping settings, or the local server).
Products that failed or had variants skipped are not recorded and are tried again. Under that,
the workflow is idempotent: an unchanged product costs no Billomat request, and an article
whose create was cut off is found by its key in ``customfield``, never created twice. The state
file is removed when a run leaves nothing to do.

**Summary**: articles created, updated, unchanged (and deleted or marked discontinued, for
variants an earlier import had and the file no longer has), products kept because a webhook
brought newer data, skipped CSV rows and variants with their reasons, failed products, Billomat
requests and the time taken. Exit code 0 when everything was imported, 1 when something was
skipped or failed, 2 for a file or configuration that cannot be used, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, Protocol, TextIO

from autopilot.billomat.rate_limit import BILLOMAT_WINDOW_SECONDS
from autopilot.shop_products import ShopProduct

from .catalogue_csv import (
    FORMATS,
    CatalogueEntry,
    CatalogueError,
    CatalogueFormat,
    RowProblem,
    read_catalogue,
    shop_identity,
)

if TYPE_CHECKING:
    import httpx

    from autopilot.billomat import BillomatClient

    from .mapping import ArticleRules
    from .syncing import ArticleSync

BILLOMAT_LIMIT = 300
"""Requests per window of an account without a registered app (a higher one counts once seen)."""
FIRST_PRODUCT_REQUESTS = 2.0
"""Billomat requests assumed per product before the first one is done."""
DEFAULT_SECONDS_PER_REQUEST = 0.3
INTERRUPTIBLE_WAIT_SECONDS = 5.0
"""Waits at least this long (for the next quota window) end at the first Ctrl-C."""
MAX_CONSECUTIVE_FAILURES = 5
CLAIM_RETRIES = 3
CLAIM_RETRY_SECONDS = 2.0
LOCAL_TIMEOUT_SECONDS = 20 * 60.0
"""The local server may wait for a whole quota window before it answers."""
MAX_LISTED_PROBLEMS = 1000
CHANGES = ("created", "updated", "unchanged", "deleted", "discontinued", "stale")
STATE_VERSION = 1


class ImportAborted(RuntimeError):
    """The run cannot go on (Billomat refused the key, local mode is gone, …)."""


class ProductFailed(RuntimeError):
    """This product did not go through; the next one may (it is tried again on a rerun)."""

    def __init__(self, message: str, requests: int = 0) -> None:
        super().__init__(message)
        self.requests = requests


class Interrupted(Exception):
    """Ctrl-C during a wait for the next quota window: the product is left for the rerun."""


# --------------------------------------------------------------------------------------------
# The ETA
# --------------------------------------------------------------------------------------------


def eta_seconds(
    requests: float,
    *,
    now: float,
    remaining: int | None = None,
    reset_at: float | None = None,
    seconds_per_request: float = DEFAULT_SECONDS_PER_REQUEST,
    limit: int = BILLOMAT_LIMIT,
    window: float = BILLOMAT_WINDOW_SECONDS,
) -> float:
    """Seconds until ``requests`` more Billomat requests are sent within the rate limit.

    What the current window has left (``remaining`` until ``reset_at``, as Billomat last said)
    goes at the observed pace; every further ``limit`` requests need a window of their own.
    Without a known window: the limit's average rate, ``limit`` per ``window``.
    """
    if requests <= 0:
        return 0.0
    pace = max(seconds_per_request, 0.0)
    if remaining is None or reset_at is None or reset_at <= now:
        return max(requests * window / limit, requests * pace)
    if requests <= remaining:
        return requests * pace
    rest = requests - remaining
    windows = math.ceil(rest / limit)
    return (reset_at - now) + (windows - 1) * window + (rest - (windows - 1) * limit) * pace


def duration_text(seconds: float | None) -> str:
    """``42 s``, ``12 min``, ``1 h 05 min``; ``–`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


class Progress(Protocol):
    """Where the run reports how far it is."""

    def start(self, total: int) -> None: ...

    def update(self, done: int, requests: int, eta: float | None) -> None: ...

    def waiting(self, until: float | None) -> None: ...

    def note(self, message: str) -> None: ...

    def stop(self) -> None: ...


class QuietProgress:
    """No output (benches, tests)."""

    def start(self, total: int) -> None:
        pass

    def update(self, done: int, requests: int, eta: float | None) -> None:
        pass

    def waiting(self, until: float | None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def stop(self) -> None:
        pass


class PlainProgress:
    """One line per 10 % (for a log or a pipe: stdout is not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self._next_step = 1

    def start(self, total: int) -> None:
        self.total = total
        self._print(f"importing {total} products")

    def update(self, done: int, requests: int, eta: float | None) -> None:
        if self.total <= 0:
            return
        step = done * 10 // self.total
        if step < self._next_step:
            return
        self._next_step = step + 1
        self._print(
            f"{step * 10:3d} % ({done}/{self.total} products, {requests} Billomat requests, "
            f"ETA {duration_text(eta)})"
        )

    def waiting(self, until: float | None) -> None:
        if until is not None:
            at = dt.datetime.fromtimestamp(until, dt.UTC).astimezone().strftime("%H:%M:%S")
            self._print(f"Billomat's request quota is used up: waiting for the next window ({at})")

    def note(self, message: str) -> None:
        self._print(message)

    def stop(self) -> None:
        pass

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class RichProgress:
    """A progress bar with the requests sent and the ETA from the rate limit (a terminal)."""

    DESCRIPTION = "Importing"

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichBar

        self.console = console
        self.bar = RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("products · {task.fields[requests]} Billomat requests"),
            TextColumn("· ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: Any = None

    def start(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task(self.DESCRIPTION, total=total, requests=0, eta="–")

    def update(self, done: int, requests: int, eta: float | None) -> None:
        self.bar.update(self.task, completed=done, requests=requests, eta=duration_text(eta))

    def waiting(self, until: float | None) -> None:
        if until is None:
            self.bar.update(self.task, description=self.DESCRIPTION)
            return
        at = dt.datetime.fromtimestamp(until, dt.UTC).astimezone().strftime("%H:%M:%S")
        self.bar.update(self.task, description=f"Waiting for Billomat's next window ({at})")

    def note(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def stop(self) -> None:
        self.bar.stop()


# --------------------------------------------------------------------------------------------
# Where the products go
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """Billomat's quota as the last answer said (None: not known)."""

    remaining: int | None = None
    reset: float | None = None


@dataclass(frozen=True)
class Synced:
    """What the workflow did with one product (``SyncOutcome.as_dict()``) and what it cost."""

    outcome: Mapping[str, Any]
    requests: int


class Target(Protocol):
    """Runs the article_sync workflow for one product."""

    identity: str
    """What the state file is valid for (the account and table, or the local server)."""
    description: str

    def sync(self, product: ShopProduct) -> Synced: ...

    def quota(self) -> Quota: ...

    def close(self) -> None: ...


class QuotaWait:
    """The Billomat client's ``sleep``: shows a wait for the next window, and ends a long wait
    at the first Ctrl-C (nothing is sent; the product is left for the rerun)."""

    def __init__(
        self,
        stop: threading.Event,
        progress: Progress,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.stop = stop
        self.progress = progress
        self.now = now
        self._sleep = sleep
        self.waited = 0.0

    def __call__(self, seconds: float) -> None:
        if seconds < INTERRUPTIBLE_WAIT_SECONDS:  # a backoff between retries
            (self._sleep or time.sleep)(seconds)
            self.waited += seconds
            return
        self.progress.waiting(self.now() + seconds)
        try:
            if self._interrupted(seconds):
                raise Interrupted("stopped while waiting for Billomat's next window")
            self.waited += seconds
        finally:
            self.progress.waiting(None)

    def _interrupted(self, seconds: float) -> bool:
        if self.stop.is_set():
            return True
        if self._sleep is not None:
            self._sleep(seconds)
            return False
        return self.stop.wait(seconds)


class InProcessTarget:
    """The workflow in this process: a Billomat client and the workflow table."""

    def __init__(
        self,
        syncing: ArticleSync,
        billomat: BillomatClient,
        identity: str,
        description: str,
        *,
        wait: QuotaWait | None = None,
        claim_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.syncing = syncing
        self.billomat = billomat
        self.identity = identity
        self.description = description
        self.wait = wait
        self._claim_sleep = claim_sleep

    def sync(self, product: ShopProduct) -> Synced:
        from autopilot.billomat import BillomatAuthError, BillomatError, BillomatForbiddenError
        from autopilot.workflow_state import ClaimHeldElsewhere

        before = self.billomat.request_count
        for attempt in range(CLAIM_RETRIES + 1):
            try:
                outcome = self.syncing.run(product)
            except ClaimHeldElsewhere:
                if attempt < CLAIM_RETRIES:
                    self._claim_sleep(CLAIM_RETRY_SECONDS)
                    continue
                raise ProductFailed(
                    "a webhook delivery of this product is being worked on right now",
                    self.billomat.request_count - before,
                ) from None
            except (BillomatAuthError, BillomatForbiddenError) as exc:
                raise ImportAborted(f"Billomat refused the API key: {exc}") from exc
            except BillomatError as exc:
                raise ProductFailed(str(exc), self.billomat.request_count - before) from exc
            except (Interrupted, KeyboardInterrupt):
                raise
            except Exception as exc:  # the workflow table (AWS), or a bug: shown in the summary
                fatal = aws_access_problem(exc)
                if fatal:
                    raise ImportAborted(fatal) from exc
                message = f"{type(exc).__name__}: {exc}"
                raise ProductFailed(message, self.billomat.request_count - before) from exc
            return Synced(outcome.as_dict(), self.billomat.request_count - before)
        raise AssertionError("unreachable")  # pragma: no cover

    def quota(self) -> Quota:
        return Quota(self.billomat.rate_limit_remaining, self.billomat.rate_limit_reset)

    def close(self) -> None:
        self.billomat.close()


AWS_ACCESS_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
    }
)


def aws_access_problem(exc: Exception) -> str | None:
    """Why no product can reach the workflow table (credentials, rights, table name), or None."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError | NoRegionError):
        return f"AWS: {exc}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in AWS_ACCESS_ERRORS:
            return f"the workflow table cannot be used: {exc}"
    return None


class LocalTarget:
    """Local mode: ``POST /local/articles/sync`` on the running local server."""

    ROUTE = "/local/articles/sync"

    def __init__(
        self,
        base_url: str,
        http: httpx.Client | None = None,
        *,
        claim_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.identity = f"local {self.base_url}"
        self.description = f"local mode at {self.base_url}"
        self.http = http or httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(LOCAL_TIMEOUT_SECONDS, connect=5.0)
        )
        self._quota = Quota()
        self._claim_sleep = claim_sleep

    def sync(self, product: ShopProduct) -> Synced:
        import httpx

        body = product.model_dump_json().encode("utf-8")
        for attempt in range(CLAIM_RETRIES + 1):
            try:
                response = self.http.post(
                    self.ROUTE, content=body, headers={"content-type": "application/json"}
                )
            except httpx.TransportError as exc:
                raise ImportAborted(
                    f"local mode at {self.base_url} does not answer ({type(exc).__name__}); "
                    "is `make serve` running?"
                ) from exc
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if not isinstance(answer, dict):
                answer = {}
            requests = int(answer.get("billomat_requests") or 0)
            if response.status_code == 200 and isinstance(answer.get("outcome"), dict):
                limit = answer.get("rate_limit") or {}
                self._quota = Quota(limit.get("remaining"), limit.get("reset"))
                return Synced(answer["outcome"], requests)
            if response.status_code == 404:
                raise ImportAborted(
                    f"{self.base_url} has no {self.ROUTE} route: is it this project's local "
                    "mode (restart `make serve` after updating)?"
                )
            if response.status_code == 409 and attempt < CLAIM_RETRIES:
                self._claim_sleep(CLAIM_RETRY_SECONDS)
                continue
            message = answer.get("message") or response.text[:200] or "no answer"
            raise ProductFailed(f"local mode answered {response.status_code}: {message}", requests)
        raise AssertionError("unreachable")  # pragma: no cover

    def quota(self) -> Quota:
        return self._quota

    def close(self) -> None:
        self.http.close()


# --------------------------------------------------------------------------------------------
# The state file
# --------------------------------------------------------------------------------------------


def product_digest(product: ShopProduct) -> str:
    """A digest of everything the import sends of the product."""
    return hashlib.sha256(product.model_dump_json().encode("utf-8")).hexdigest()[:32]


class ImportState:
    """The products an earlier run finished, appended one JSON line each as they finish.

    The first line names the target; a file written for another target is started over. A
    last line cut short (the process was killed while writing it) is ignored.
    """

    def __init__(self, path: Path | None, identity: str) -> None:
        self.path = path
        self.identity = identity
        self.done: dict[str, str] = {}
        self.notes: list[str] = []
        self._file: IO[str] | None = None

    @classmethod
    def open(cls, path: Path | None, identity: str) -> ImportState:
        state = cls(path, identity)
        if path is not None and path.exists():
            state._load(path)
        return state

    def _load(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except ValueError:
            header = {}
        if not isinstance(header, dict) or header.get("target") != self.identity:
            was = header.get("target") if isinstance(header, dict) else None
            self.notes.append(
                f"{path} was written for {was or 'something else'}; starting from the beginning"
            )
            path.unlink()
            return
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                self.done[str(entry["product"])] = str(entry["digest"])
            except (ValueError, KeyError, TypeError):
                continue
        if self.done:
            self.notes.append(f"resuming: {len(self.done)} products were imported before ({path})")

    def is_done(self, product: ShopProduct) -> bool:
        return self.done.get(product.reference) == product_digest(product)

    def record(self, product: ShopProduct, outcome: Mapping[str, Any]) -> None:
        """Note the product as finished (written through at once)."""
        digest = product_digest(product)
        self.done[product.reference] = digest
        if self.path is None:
            return
        if self._file is None:
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            self._file = self.path.open("a", encoding="utf-8")
            if fresh:
                header = {
                    "catalogue_import": STATE_VERSION,
                    "target": self.identity,
                    "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
                self._file.write(json.dumps(header) + "\n")
        counts = {key: value for key, value in outcome.items() if key in CHANGES}
        line = {"product": product.reference, "digest": digest, **counts}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self, *, finished: bool) -> None:
        """Close the file; remove it when the run left nothing to resume."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if finished and self.path is not None and self.path.exists():
            self.path.unlink()


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Scan:
    """A first pass over the file: what it holds (nothing is sent)."""

    products: int = 0
    articles: int = 0
    without_variants: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def add(self, entry: CatalogueEntry) -> None:
        if isinstance(entry, RowProblem):
            self.problem_count += 1
            if len(self.problems) < MAX_LISTED_PROBLEMS:
                self.problems.append(str(entry))
            return
        self.products += 1
        self.articles += len(entry.variants)
        self.without_variants += not entry.variants


def open_catalogue(path: Path) -> TextIO:
    """The CSV file as the reader wants it (UTF-8 with or without BOM, newlines kept)."""
    return path.open(encoding="utf-8-sig", newline="")


def scan_catalogue(path: Path, source: CatalogueFormat, shop: str, today: dt.date | None) -> Scan:
    scan = Scan()
    with open_catalogue(path) as lines:
        for entry in read_catalogue(lines, source, shop, today=today):
            scan.add(entry)
    return scan


@dataclass
class Summary:
    """What a run did."""

    total: int = 0
    processed: int = 0
    resumed: int = 0
    stale_products: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    row_problems: list[str] = field(default_factory=list)
    row_problem_count: int = 0
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    """Variants the mapping refused: reason → article keys."""
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    aborted: str | None = None

    def add(self, product: ShopProduct, synced: Synced) -> None:
        self.processed += 1
        self.requests += synced.requests
        outcome = synced.outcome
        if outcome.get("status") == "stale":  # the whole product: a webhook was newer
            self.stale_products += 1
            self.changes["stale"] += len(product.variants)
        for change in CHANGES:
            self.changes[change] += int(outcome.get(change) or 0)
        for key, reason in (outcome.get("skipped") or {}).items():
            self.skipped[str(reason)].append(str(key))

    @property
    def skipped_variants(self) -> int:
        return sum(len(keys) for keys in self.skipped.values())

    @property
    def left(self) -> int:
        return max(0, self.total - self.processed - self.resumed - len(self.failed))

    @property
    def nothing_to_resume(self) -> bool:
        """Every product is in Billomat as the file has it (rows with problems aside)."""
        return not (self.interrupted or self.aborted or self.failed or self.skipped or self.left)

    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        problems = self.row_problem_count or self.skipped or self.failed or self.aborted
        return 1 if problems else 0

    def lines(self) -> list[str]:
        """The summary as text."""
        done = self.processed + self.resumed
        head = f"Catalogue import: {done} of {self.total} products"
        if self.resumed:
            head += f" ({self.resumed} imported by an earlier run)"
        if self.interrupted:
            head += " — interrupted"
        out = [head]
        rows = [
            ("articles created", self.changes["created"]),
            ("articles updated", self.changes["updated"]),
            ("articles unchanged", self.changes["unchanged"]),
        ]
        if self.changes["deleted"] or self.changes["discontinued"]:
            rows.append(("articles deleted (gone from the file)", self.changes["deleted"]))
            rows.append(("articles marked discontinued", self.changes["discontinued"]))
        if self.changes["stale"]:
            rows.append(("articles kept: a webhook brought newer data", self.changes["stale"]))
        rows.append(("skipped CSV rows", self.row_problem_count))
        rows.append(("skipped variants", self.skipped_variants))
        if self.failed:
            rows.append(("failed products", len(self.failed)))
        rows.append(("Billomat requests", self.requests))
        out += [f"  {label:<38}{value:>7}" for label, value in rows]
        out.append(f"  {'time':<38}{duration_text(self.elapsed):>7}")
        out += problem_lines(self.row_problems, self.row_problem_count, self.skipped)
        if self.failed:
            out.append("Failed products (tried again on the next run):")
            out += [f"  {product}: {reason}" for product, reason in list(self.failed.items())[:50]]
            if len(self.failed) > 50:
                out.append(f"  … and {len(self.failed) - 50} more")
        if self.aborted:
            out.append(f"Stopped: {self.aborted}")
        return out


def problem_lines(
    row_problems: Sequence[str], row_problem_count: int, skipped: Mapping[str, Sequence[str]]
) -> list[str]:
    """The skipped CSV rows, and the skipped variants grouped by reason."""
    out: list[str] = []
    if row_problems:
        out.append("Skipped rows of the CSV file:")
        out += [f"  {problem}" for problem in row_problems]
        if row_problem_count > len(row_problems):
            out.append(f"  … and {row_problem_count - len(row_problems)} more")
    if skipped:
        out.append("Skipped variants (not imported), by reason:")
        for reason, keys in sorted(skipped.items(), key=lambda item: -len(item[1])):
            more = f" … (+{len(keys) - 10})" if len(keys) > 10 else ""
            out.append(f"  {reason}")
            out.append(f"    {len(keys)}: {', '.join(keys[:10])}{more}")
    return out


def run_import(
    entries: Iterable[CatalogueEntry],
    *,
    total: int,
    target: Target,
    state: ImportState,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], float] = time.time,
    scan: Scan | None = None,
    stop_after: int | None = None,
    waited: Callable[[], float] = lambda: 0.0,
) -> Summary:
    """Send every product not yet done to ``target``; ``stop`` ends the run after a product.

    Row problems in ``entries`` are ignored here: they come from ``scan`` (the whole file, even
    when the run stops early). ``stop_after`` stops after that many products (benches, tests);
    ``waited`` says how long the target has waited for the rate limit so far (for the pace).
    """
    progress = progress or QuietProgress()
    stop = stop or threading.Event()
    summary = Summary(total=total)
    if scan is not None:
        summary.row_problems = list(scan.problems)
        summary.row_problem_count = scan.problem_count
    started = now()
    busy = 0.0
    consecutive_failures = 0
    limit = BILLOMAT_LIMIT
    done_before = len(state.done)

    def estimate() -> float:
        """The ETA from the rate limit (see :func:`eta_seconds`)."""
        nonlocal limit
        quota = target.quota()
        if quota.remaining is not None:
            limit = max(limit, quota.remaining + 1)
        per_product = (
            summary.requests / summary.processed if summary.processed else FIRST_PRODUCT_REQUESTS
        )
        to_go = summary.left - max(0, done_before - summary.resumed)
        return eta_seconds(
            max(0, to_go) * per_product,
            now=now(),
            remaining=quota.remaining,
            reset_at=quota.reset,
            seconds_per_request=(
                busy / summary.requests if summary.requests else DEFAULT_SECONDS_PER_REQUEST
            ),
            limit=limit,
        )

    progress.start(total)
    progress.update(0, 0, estimate())
    try:
        for entry in entries:
            if isinstance(entry, RowProblem):
                continue
            if stop.is_set() or (stop_after is not None and summary.processed >= stop_after):
                summary.interrupted = True
                break
            if state.is_done(entry):
                summary.resumed += 1
                progress.update(summary.processed + summary.resumed, summary.requests, estimate())
                continue
            before, waited_before = now(), waited()
            try:
                synced = target.sync(entry)
            except ProductFailed as failure:
                summary.failed[entry.reference] = str(failure)
                summary.requests += failure.requests
                consecutive_failures += 1
                if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                    summary.aborted = (
                        f"{consecutive_failures} products in a row failed; the last: {failure}"
                    )
                    break
                continue
            except Interrupted:
                summary.interrupted = True
                break
            finally:
                busy += max(0.0, now() - before - (waited() - waited_before))
            consecutive_failures = 0
            summary.add(entry, synced)
            if not synced.outcome.get("skipped"):
                state.record(entry, synced.outcome)
            progress.update(summary.processed + summary.resumed, summary.requests, estimate())
    except KeyboardInterrupt:
        summary.interrupted = True
    except ImportAborted as exc:
        summary.aborted = str(exc)
    finally:
        summary.elapsed = now() - started
        progress.stop()
        state.close(finished=summary.nothing_to_resume)
    return summary


# --------------------------------------------------------------------------------------------
# Building the target
# --------------------------------------------------------------------------------------------


class ImportConfigurationError(RuntimeError):
    """The command line or the environment does not describe a usable target."""


def stack_configuration(stack: str, region: str | None) -> dict[str, str]:
    """The deployed ArticleSyncFunction's environment and the stack's WorkflowTable."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudformation = boto3.client("cloudformation", region_name=region)

        def physical_id(logical_id: str) -> str:
            resource = cloudformation.describe_stack_resource(
                StackName=stack, LogicalResourceId=logical_id
            )
            return str(resource["StackResourceDetail"]["PhysicalResourceId"])

        table = physical_id("WorkflowTable")
        function = physical_id("ArticleSyncFunction")
        configuration = boto3.client("lambda", region_name=region).get_function_configuration(
            FunctionName=function
        )
    except (BotoCoreError, ClientError) as exc:
        raise ImportConfigurationError(f"cannot read stack {stack!r}: {exc}") from exc
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    return {**{str(k): str(v) for k, v in variables.items()}, "WORKFLOW_TABLE": table}


def stack_billomat_secret(secret_arn: str, region: str | None) -> dict[str, str]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(
            SecretId=secret_arn
        )["SecretString"]
        secret = json.loads(value)
    except (BotoCoreError, ClientError, ValueError, KeyError) as exc:
        raise ImportConfigurationError(f"cannot read the Billomat secret: {exc}") from exc
    return {str(k): str(v) for k, v in secret.items()} if isinstance(secret, dict) else {}


def import_rules(environ: Mapping[str, str]) -> ArticleRules:
    from autopilot.settings import ConfigurationError

    from .mapping import ArticleRules

    try:
        return ArticleRules.from_env(environ)
    except ConfigurationError as exc:
        raise ImportConfigurationError(str(exc)) from exc


def rules_digest(rules: ArticleRules) -> str:
    return hashlib.sha256(repr(rules).encode("utf-8")).hexdigest()[:12]


def import_billomat_client(
    base_url: str,
    api_key: str,
    wait: Callable[[float], None],
    *,
    app_id: str | None = None,
    app_secret: str | None = None,
    transport: httpx.BaseTransport | None = None,
    now: Callable[[], float] = time.time,
) -> BillomatClient:
    """The import's Billomat client: it waits for the next quota window however long that is
    (the run is attended), at the ``schedules`` priority (live orders go first)."""
    from autopilot.billomat import BillomatClient
    from autopilot.billomat.rate_limit import RatePriority

    return BillomatClient(
        base_url,
        api_key,
        app_id=app_id,
        app_secret=app_secret,
        transport=transport,
        sleep=wait,
        now=now,
        time_budget=lambda: math.inf,
        priority=RatePriority.SCHEDULES,
    )


def in_process_target(
    billomat: BillomatClient,
    table: str,
    rules: ArticleRules,
    *,
    dynamodb: Any = None,
    wait: QuotaWait | None = None,
) -> InProcessTarget:
    from autopilot.workflow_state import WorkflowStore

    from .syncing import ArticleSync

    syncing = ArticleSync(billomat, WorkflowStore(table, dynamodb), None, rules)
    identity = f"billomat {billomat.base_url} table {table} rules {rules_digest(rules)}"
    description = f"Billomat {billomat.base_url} (table {table})"
    return InProcessTarget(syncing, billomat, identity, description, wait=wait)


def real_account_target(args: argparse.Namespace, wait: QuotaWait) -> InProcessTarget:
    from autopilot.billomat import BillomatClient

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config: dict[str, str] = stack_configuration(args.stack, region) if args.stack else {}
    rules = import_rules(config if args.stack else os.environ)
    table = args.table or config.get("WORKFLOW_TABLE")
    if not table:
        raise ImportConfigurationError(
            "which workflow table? give --stack NAME (the deployed stack) or --table NAME"
        )
    try:
        base_url = BillomatClient.base_url_for(
            args.billomat_id or config.get("BILLOMAT_ID"),
            args.billomat_base_url or config.get("BILLOMAT_BASE_URL"),
        )
    except ValueError as exc:
        raise ImportConfigurationError(str(exc)) from exc
    api_key = os.environ.get("BILLOMAT_API_KEY", "")
    app_id = os.environ.get("BILLOMAT_APP_ID") or None
    app_secret = os.environ.get("BILLOMAT_APP_SECRET") or None
    if not api_key and config.get("BILLOMAT_SECRET_ARN"):
        secret = stack_billomat_secret(config["BILLOMAT_SECRET_ARN"], region)
        api_key = secret.get("api_key", "")
        if secret.get("app_id", "-") not in ("", "-") and secret.get("app_secret", "-") not in (
            "",
            "-",
        ):
            app_id, app_secret = secret["app_id"], secret["app_secret"]
    if not api_key:
        raise ImportConfigurationError(
            "no Billomat API key: set BILLOMAT_API_KEY (it is never a command-line argument)"
        )
    if (app_id is None) != (app_secret is None):
        app_id = app_secret = None
    import boto3

    billomat = import_billomat_client(base_url, api_key, wait, app_id=app_id, app_secret=app_secret)
    dynamodb = boto3.client("dynamodb", region_name=region)
    return in_process_target(billomat, table, rules, dynamodb=dynamodb, wait=wait)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="import_catalogue",
        description="Import a whole shop catalogue from the shop's own CSV export into "
        "Billomat articles (see README: Catalogue import).",
    )
    parser.add_argument("csv", type=Path, help="the shop's product CSV export")
    parser.add_argument("--format", required=True, choices=FORMATS, help="whose export it is")
    parser.add_argument(
        "--shop",
        required=True,
        help="the shop: name.myshopify.com, or the WooCommerce site URL (as deployed)",
    )
    where = parser.add_argument_group("local mode")
    where.add_argument(
        "--local", metavar="URL", help="the running local mode, e.g. http://127.0.0.1:3000"
    )
    real = parser.add_argument_group(
        "a real account (API key from BILLOMAT_API_KEY; AWS credentials as usual)"
    )
    real.add_argument("--stack", help="the deployed stack: its table, Billomat account, settings")
    real.add_argument("--table", help="the workflow table (instead of --stack)")
    real.add_argument("--billomat-id", help="the Billomat account (https://<id>.billomat.net)")
    real.add_argument("--billomat-base-url", help="a full Billomat API URL instead")
    real.add_argument("--region", help="the AWS region of the stack")
    parser.add_argument(
        "--state",
        type=Path,
        help="resume file (default .catalogue-import-<shop>.jsonl in the current directory)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="read and map the file, show the articles, write nothing anywhere",
    )
    args = parser.parse_args(argv)
    real_options = [args.stack, args.table, args.billomat_id, args.billomat_base_url]
    if args.local and any(real_options):
        parser.error("--local runs against local mode: leave out --stack, --table and --billomat-*")
    if not args.local and not args.dry_run and not (args.stack or args.table):
        parser.error("give --local URL (local mode), or --stack / --table (a real account)")
    return args


def _console_progress() -> tuple[Progress, Callable[[str], None]]:
    """A progress bar on a terminal, else one line per 10 %; and how to print a line."""
    if sys.stdout.isatty():
        import logging

        from rich.console import Console
        from rich.logging import RichHandler

        console = Console()
        logging.basicConfig(
            level=logging.WARNING,
            format="%(message)s",
            handlers=[RichHandler(console=console, show_path=False)],
        )

        def say(line: str) -> None:
            console.print(line, markup=False, highlight=False)

        return RichProgress(console), say
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return PlainProgress(sys.stdout), print


def dry_run(args: argparse.Namespace, source: CatalogueFormat, shop: str, today: dt.date) -> int:
    """Map the file with the configured rules and show it; nothing is written anywhere."""
    from .mapping import UnmappedProduct, article_spec

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    environ: Mapping[str, str] = (
        stack_configuration(args.stack, region) if args.stack else os.environ
    )
    rules = import_rules(environ)
    scan = Scan()
    skipped: dict[str, list[str]] = defaultdict(list)
    with open_catalogue(args.csv) as lines:
        for entry in read_catalogue(lines, source, shop, today=today):
            scan.add(entry)
            if isinstance(entry, RowProblem):
                continue
            none = "" if entry.variants else "  (no sellable variant: nothing to import)"
            print(f"{entry.reference}  {entry.title}{none}")
            for variant in entry.variants:
                key = entry.variant_key(variant)
                try:
                    spec = article_spec(entry, variant, rules)
                except UnmappedProduct as problem:
                    skipped[str(problem)].append(key)
                    print(f"    {key}: skipped: {problem}")
                    continue
                currency = f" {spec.currency}" if spec.currency else ""
                print(
                    f"    {key}: {spec.billomat_title} · net {spec.net_price}{currency} "
                    f"· {spec.tax_rate} %"
                )
    requests = scan.articles + 3
    windows = math.ceil(requests / BILLOMAT_LIMIT)
    print(
        f"\n{scan.products} products, {scan.articles} articles "
        f"({scan.without_variants} products without a sellable variant). Nothing was written."
    )
    pace = (
        "fits in one 15-minute window"
        if windows == 1
        else f"needs {windows} windows of 15 minutes (about "
        f"{duration_text(eta_seconds(requests, now=0.0))})"
    )
    print(
        f"Into an account without these articles: about {requests} Billomat requests (one per "
        f"article, plus taxes and units); at {BILLOMAT_LIMIT} per 15 minutes that {pace}."
    )
    for line in problem_lines(scan.problems, scan.problem_count, skipped):
        print(line)
    return 1 if scan.problem_count or skipped else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    source: CatalogueFormat = args.format
    today = dt.datetime.now(dt.UTC).astimezone().date()  # the shop's sale dates are local
    try:
        shop = shop_identity(source, args.shop)
        if args.dry_run:
            return dry_run(args, source, shop, today)
        scan = scan_catalogue(args.csv, source, shop, today)
    except (CatalogueError, ImportConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {args.csv}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    progress, say = _console_progress()
    wait = QuotaWait(stop, progress)
    target: Target
    try:
        target = LocalTarget(args.local) if args.local else real_account_target(args, wait)
    except ImportConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state_path = args.state or Path(f".catalogue-import-{shop}.jsonl")
    state = ImportState.open(state_path, target.identity)
    say(
        f"{args.csv}: {scan.products} products, {scan.articles} articles, "
        f"{scan.problem_count} rows skipped → {target.description}"
    )
    for note in state.notes:
        say(note)

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        progress.note("stopping after this product (Ctrl-C again stops at once)")

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        with open_catalogue(args.csv) as lines:
            summary = run_import(
                read_catalogue(lines, source, shop, today=today),
                total=scan.products,
                target=target,
                state=state,
                progress=progress,
                stop=stop,
                scan=scan,
                waited=lambda: wait.waited,
            )
    except CatalogueError as exc:  # the file changed since the first pass
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, previous)
        target.close()
    for line in summary.lines():
        say(line)
    if not summary.nothing_to_resume and state_path.exists():
        say(f"Progress is kept in {state_path}: run the same command again to go on.")
    return summary.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
