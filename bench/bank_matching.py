"""Precision and recall of bank bookings over the labelled set, through the whole path.

Every case of `tests/data/bank_transactions_labelled.json` runs alone: a fresh Billomat sandbox
is seeded with the open invoices of the set (``seed_open_invoices``), the remembered payer
IBANs of the case are written, the transaction is signed and POSTed to the intake
(``/webhooks/bank/transactions``), the bank queue is drained through the bank_payment worker,
and the payments in the sandbox are compared with the labelled bookings. AWS is moto,
in-process, with the resources of template.yaml.

A case may also name later arrivals (``also_arrives``): the same transfer through another channel
(the evening's camt.053, Qonto), or a look-alike transfer; each is delivered after the first and
must either book nothing as a cross-channel duplicate (``expected.duplicates`` counts them) or be
booked itself. Their bookings count like any other, so booking one transfer twice costs precision.

A booking is (invoice, amount, marked paid). Precision = correct bookings / bookings made
(target 100 %: a wrong booking is worse than a missed one); recall = correct bookings /
labelled bookings (target ≥ 95 %). Also printed: the cases that went differently and the
Billomat requests.

Run: `.venv/bin/python bench/bank_matching.py [--verbose]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in [ROOT, ROOT / "layers/shared", *sorted((ROOT / "functions").iterdir())]:
    if _path.is_dir() and str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from local.containers import clear_container_caches  # noqa: E402
from local.demo_data import seed_open_invoices  # noqa: E402

LABELLED = ROOT / "tests/data/bank_transactions_labelled.json"
BANK_ROUTE = "/webhooks/bank/transactions"
QONTO_ROUTE = "/webhooks/qonto/transactions"
TARGET_PRECISION = Decimal(1)
TARGET_RECALL = Decimal("0.95")


# ---------------------------------------------------------------------------------------------
# The whole path: intake → bank queue → worker
# ---------------------------------------------------------------------------------------------


def post_webhook(route: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """POST to the intake Lambda, as API Gateway would."""
    from webhooks import app as intake

    from local.lambda_events import LocalLambdaContext, http_api_event

    event = http_api_event("POST", route, dict(headers), body)
    response = intake.lambda_handler(
        event, LocalLambdaContext(function_name="webhooks", timeout_seconds=5)
    )
    return int(response["statusCode"]), json.loads(response.get("body") or "{}")


def signed_bank_delivery(
    transaction: Mapping[str, Any], secret: str, now: float | None = None
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a `bank-transaction/v1` delivery signed like a sender signs it."""
    from autopilot.signatures import timestamped_signature_header

    body = json.dumps(transaction, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "X-Signature": timestamped_signature_header(body, secret, timestamp),
    }, body


def drain_bank_queue(queue_url: str, queue_arn: str, max_batches: int = 50) -> list[dict[str, Any]]:
    """Deliver the bank queue's messages to the worker until it is empty; return its answers."""
    import boto3
    from bank_payment.app import lambda_handler

    from local.lambda_events import LocalLambdaContext, sqs_event

    sqs = boto3.client("sqs", region_name="eu-central-1")
    answers = []
    for _ in range(max_batches):
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        context = LocalLambdaContext(function_name="bank_payment", timeout_seconds=60)
        answer = lambda_handler(sqs_event(queue_arn, messages), context)
        answers.append(answer)
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return answers


# ---------------------------------------------------------------------------------------------
# The labelled set
# ---------------------------------------------------------------------------------------------

Booking = tuple[str, Decimal, bool]


@dataclass
class CaseResult:
    """One labelled case: what was expected and what happened."""

    case_id: str
    expected: list[Booking]
    expected_review: str | None
    expected_ignored: bool
    booked: list[Booking]
    intake_status: int
    intake_answer: dict[str, Any]
    review_reason: str | None
    requests: int
    arrivals: int = 1
    duplicates: int = 0
    expected_duplicates: int = 0

    @property
    def correct_bookings(self) -> int:
        remaining = list(self.expected)
        correct = 0
        for booking in self.booked:
            if booking in remaining:
                remaining.remove(booking)
                correct += 1
        return correct

    @property
    def as_labelled(self) -> bool:
        """Bookings exactly as labelled; a review where a review was labelled (any reason)."""
        if sorted(self.booked) != sorted(self.expected):
            return False
        if self.duplicates != self.expected_duplicates:
            return False
        if self.expected_review:
            return self.review_reason is not None
        if self.expected_ignored:
            return self.intake_answer.get("status") == "ignored" and self.review_reason is None
        return True


@dataclass
class Report:
    """Precision and recall over the set."""

    results: list[CaseResult]

    @property
    def made(self) -> int:
        return sum(len(result.booked) for result in self.results)

    @property
    def labelled(self) -> int:
        return sum(len(result.expected) for result in self.results)

    @property
    def correct(self) -> int:
        return sum(result.correct_bookings for result in self.results)

    @property
    def precision(self) -> Decimal:
        return Decimal(self.correct) / self.made if self.made else Decimal(1)

    @property
    def recall(self) -> Decimal:
        return Decimal(self.correct) / self.labelled if self.labelled else Decimal(1)

    @property
    def requests(self) -> int:
        return sum(result.requests for result in self.results)

    @property
    def later_arrivals(self) -> int:
        return sum(result.arrivals - 1 for result in self.results)

    @property
    def duplicates(self) -> int:
        return sum(result.duplicates for result in self.results)

    def differing(self) -> list[CaseResult]:
        return [result for result in self.results if not result.as_labelled]


def load_labelled(path: Path = LABELLED) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@contextmanager
def local_stack() -> Iterator[Any]:
    """moto with the stack's resources, the environment set like local mode sets it."""
    from moto import mock_aws

    from local.aws import LocalAws, use_fake_aws_environment
    from local.dev_settings import DEV_WEBHOOK_SECRETS

    saved = dict(os.environ)
    use_fake_aws_environment()
    try:
        with mock_aws():
            aws = LocalAws()
            environment = aws.create(
                billomat_secret={"api_key": "sandbox-dev-api-key", "app_id": "", "app_secret": ""},
                webhook_secrets={
                    "bank": DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"],
                    "qonto": DEV_WEBHOOK_SECRETS["QONTO_WEBHOOK_SECRET"],
                },
                hubspot_token="-",  # noqa: S106 - not a secret: HubSpot is unused here
            )
            environment["BILLOMAT_BASE_URL"] = "http://billomat.sandbox/api/"
            os.environ.update(environment)
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
            os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
            clear_container_caches()
            yield aws
    finally:
        clear_container_caches()
        os.environ.clear()
        os.environ.update(saved)


def run_case(aws: Any, data: Mapping[str, Any], case: Mapping[str, Any]) -> CaseResult:
    """One case against a fresh sandbox (the moto stack is shared; ids are unique per case)."""
    from autopilot.billomat_access import use_billomat_client
    from autopilot.workflow_state import WorkflowStore
    from local.billomat_sandbox import DEV_API_KEY, BillomatSandbox, SandboxClock
    from local.dev_settings import DEV_WEBHOOK_SECRETS
    from local.sandbox_client import sandbox_client

    today = datetime.fromisoformat(data["today"]).replace(hour=9, tzinfo=UTC)
    clock = SandboxClock(today)
    sandbox = BillomatSandbox(api_key=DEV_API_KEY, clock=clock)
    seeded = seed_open_invoices(sandbox, data["context"])
    client = sandbox_client(sandbox)
    store = WorkflowStore(aws.environment["WORKFLOW_TABLE"])
    for iban, ref in (case.get("known_payers") or {}).items():
        store.put(f"payer#{iban}", "clients", {"client_ids": [seeded.clients[ref]]})
    transaction = {
        **data["transaction_defaults"],
        "transaction_id": case["id"],
        **case["transaction"],
    }
    arrivals = [transaction, *({**transaction, **later} for later in case.get("also_arrives", []))]
    references = [f"{arrival['source']}:{arrival['transaction_id']}" for arrival in arrivals]
    use_billomat_client(client)
    try:
        for arrival in arrivals:
            headers, body = signed_bank_delivery(
                arrival, DEV_WEBHOOK_SECRETS["BANK_WEBHOOK_SECRET"]
            )
            status, answer = post_webhook(BANK_ROUTE, headers, body)
            if arrival is transaction:
                first_status, first_answer = status, answer
            drain_bank_queue(aws.queue_urls["bank"], aws.queue_arns["bank"])
    finally:
        use_billomat_client(None)
        client.close()
    numbers = seeded.numbers
    markers = tuple(f"[{reference}]" for reference in references)
    booked = [
        (
            numbers[int(p["invoice_id"])],
            Decimal(str(p["amount"])),
            bool(p.get("mark_invoice_as_paid")),
        )
        for p in sandbox.snapshot()["invoice-payments"]
        if (p.get("comment") or "").endswith(markers)
    ]
    reviews = [
        store.get("review", f"{arrival['booking_date']}#{reference}")
        for arrival, reference in zip(arrivals, references, strict=True)
    ]
    review = next((item for item in reviews if item is not None), None)
    duplicates = sum(
        (store.get(f"banktx#{reference}", "state") or {}).get("status") == "duplicate"
        for reference in references[1:]
    )
    _forget_transfers(store, arrivals)
    _forget_payers(
        store,
        [*(case.get("known_payers") or {}), (transaction.get("counterparty") or {}).get("iban")],
    )
    expected = case["expected"]
    return CaseResult(
        case_id=case["id"],
        expected=[
            (b["invoice"], Decimal(b["amount"]), bool(b["mark_paid"]))
            for b in expected.get("bookings", [])
        ],
        expected_review=expected.get("review"),
        expected_ignored=bool(expected.get("ignored")),
        booked=booked,
        intake_status=first_status,
        intake_answer=first_answer,
        review_reason=None if review is None else str(review["reason"]),
        requests=sandbox.request_count,
        arrivals=len(arrivals),
        duplicates=duplicates,
        expected_duplicates=int(expected.get("duplicates", 0)),
    )


def _forget_transfers(store: Any, arrivals: Iterable[Mapping[str, Any]]) -> None:
    """Transfer claims belong to one case (the moto table outlives the case's sandbox)."""
    from bank_payment.booking import TRANSFER_CLAIM, transfer_claim_key

    from autopilot.bank_transactions import BankTransaction

    for arrival in arrivals:
        for key in BankTransaction.model_validate(arrival).transfer_keys:
            store.delete(transfer_claim_key(key), TRANSFER_CLAIM)


def _forget_payers(store: Any, ibans: Iterable[str | None]) -> None:
    """Remembered IBANs belong to one case's sandbox (client ids repeat across sandboxes)."""
    for iban in {"".join(iban.split()).upper() for iban in ibans if iban}:
        store.delete(f"payer#{iban}", "clients")


def run_labelled_set(path: Path = LABELLED, only: set[str] | None = None) -> Report:
    """Every (or ``only`` these) labelled case(s) through the whole path."""
    data = load_labelled(path)
    cases = [case for case in data["cases"] if only is None or case["id"] in only]
    with local_stack() as aws:
        return Report([run_case(aws, data, case) for case in cases])


def _percent(value: Decimal) -> str:
    return f"{value * 100:.1f} %"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    started = time.monotonic()
    report = run_labelled_set()
    seconds = time.monotonic() - started
    results = report.results
    print(f"bank matching over {len(results)} labelled transactions ({seconds:.1f} s)")
    for result in results if args.verbose else report.differing():
        mark = "ok  " if result.as_labelled else "DIFF"
        expected = [f"{n} {a}{' paid' if m else ''}" for n, a, m in result.expected] or [
            f"review {result.expected_review}" if result.expected_review else "ignored"
        ]
        got = [f"{n} {a}{' paid' if m else ''}" for n, a, m in result.booked] or [
            f"review {result.review_reason}"
            if result.review_reason
            else str(result.intake_answer.get("status"))
        ]
        print(
            f"  {mark} {result.case_id:<34} expected {', '.join(expected):<34} got {', '.join(got)}"
        )
    print(f"  bookings labelled {report.labelled}, made {report.made}, correct {report.correct}")
    print(
        f"  later arrivals through another channel {report.later_arrivals}, "
        f"booked nothing as duplicates {report.duplicates}"
    )
    print(
        f"  precision {_percent(report.precision)} (target 100 %)   "
        f"recall {_percent(report.recall)} (target ≥ 95 %)"
    )
    print(
        f"  cases as labelled {len(results) - len(report.differing())}/{len(results)}   "
        f"Billomat requests {report.requests} "
        f"({report.requests / len(results):.1f} per transaction, incl. loading the open invoices)"
    )
    met = report.precision >= TARGET_PRECISION and report.recall >= TARGET_RECALL
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
