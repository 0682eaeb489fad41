"""`autopilot`: the operator CLI for the /admin API (README: "Operating it (/admin API)").

    autopilot [--local URL | --stack NAME] [--region R] [--profile P] [--json] COMMAND

    status                          queue and dead-letter depths, failed scheduled runs
    review list                     the open bank review items
    review book ID INVOICE          book a review item on an invoice (e.g. RE1042)
    review dismiss ID [--reason T]  close a review item without booking
    dead-letters list               what the dead-letter queues hold
    dead-letters redrive QUEUE      move a dead-letter queue's messages back (orders, deals, ...);
                                    `scheduled` re-runs failed scheduled runs for their day

Target: `--local URL` talks to local mode (`make serve`, no signing); otherwise the stack
(`--stack`, default: `stack_name` from samconfig.toml) is looked up with CloudFormation
for its `AdminApiUrl` output and every request is SigV4-signed (service `execute-api`) with
the caller's AWS credentials (`--profile`, `--region`, else the usual AWS environment).

Exit codes: 0 done; 1 the API refused (its JSON error is printed: 400, 404, 409, ...);
2 the API could not be reached or found (connection, stack, credentials, usage).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
ADMIN_OUTPUT = "AdminApiUrl"
SERVICE = "execute-api"
TIMEOUT_SECONDS = 30.0

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 2


class Unreachable(Exception):
    """The API could not be found or reached (exit code 2)."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any  # the API's JSON (or the raw text if it was none)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


# -- finding and calling the API -------------------------------------------------------------


def samconfig_parameters(path: Path | None = None) -> dict[str, Any]:
    """`[default.global.parameters]` over `[default.deploy.parameters]` of samconfig.toml."""
    candidates = [path] if path else [Path.cwd() / "samconfig.toml", ROOT / "samconfig.toml"]
    for candidate in candidates:
        if candidate.is_file():
            with candidate.open("rb") as handle:
                config = tomllib.load(handle)
            default = config.get("default", {})
            deploy = default.get("deploy", {}).get("parameters", {})
            global_ = default.get("global", {}).get("parameters", {})
            return {**deploy, **global_}
    return {}


def admin_api_url(cloudformation: Any, stack_name: str) -> str:
    """The stack's `AdminApiUrl` output (a CloudFormation client's describe_stacks)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise Unreachable(f"stack {stack_name!r}: {message}") from exc
    except BotoCoreError as exc:
        raise Unreachable(f"stack {stack_name!r}: {exc}") from exc
    if not stacks:
        raise Unreachable(f"stack {stack_name!r} not found")
    for output in stacks[0].get("Outputs") or []:
        if output.get("OutputKey") == ADMIN_OUTPUT:
            return str(output["OutputValue"]).rstrip("/")
    raise Unreachable(
        f"stack {stack_name!r} has no {ADMIN_OUTPUT} output (deploy the current template.yaml)"
    )


def signed_headers(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    credentials: Any,
    region: str,
) -> dict[str, str]:
    """`headers` plus the SigV4 signature for `execute-api` (Authorization, X-Amz-Date, ...)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


@dataclass
class AdminApi:
    """The /admin API at `base_url` (ending in /admin); signed when `credentials` is set."""

    base_url: str
    credentials: Any = None
    region: str | None = None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        url = self.base_url + path
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if self.credentials is not None:
            headers = signed_headers(method, url, raw, headers, self.credentials, self.region or "")
        try:
            response = httpx.request(
                method, url, content=raw or None, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return Answer(response.status_code, answer)


def local_api(url: str) -> AdminApi:
    base = url.rstrip("/")
    if not base.endswith("/admin"):
        base += "/admin"
    return AdminApi(base)


def stack_api(stack: str | None, region: str | None, profile: str | None) -> AdminApi:
    """Look the stack's AdminApiUrl up and sign with the caller's AWS credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError

    config = samconfig_parameters()
    stack_name = stack or config.get("stack_name")
    if not stack_name:
        raise Unreachable("no stack: pass --stack NAME (or --local URL); samconfig.toml has none")
    try:
        session = boto3.Session(
            profile_name=profile or config.get("profile"),
            region_name=region or config.get("region"),
        )
    except BotoCoreError as exc:
        raise Unreachable(str(exc)) from exc
    if not session.region_name:
        raise Unreachable("no AWS region: pass --region (or set AWS_REGION)")
    credentials = session.get_credentials()
    if credentials is None:
        raise Unreachable("no AWS credentials found (aws configure, AWS_PROFILE or --profile)")
    url = admin_api_url(session.client("cloudformation"), str(stack_name))
    return AdminApi(url, credentials.get_frozen_credentials(), session.region_name)


# -- output ----------------------------------------------------------------------------------


def console() -> Console:
    out = Console(file=sys.stdout, soft_wrap=False, highlight=False)
    if not out.is_terminal:
        out = Console(file=sys.stdout, soft_wrap=False, highlight=False, width=140)
    return out


def age(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "" if seconds is None else str(seconds)
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            rest = s % size
            smaller = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            tail = f" {rest // smaller[1]}{smaller[0]}" if rest // smaller[1] else ""
            return f"{s // size}{unit}{tail}"
    return f"{s}s"


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def quota_line(rate: dict[str, Any]) -> str:
    """The Billomat quota as the newest response any function saw it."""
    if not rate:
        return "Billomat quota: no response seen yet"
    limit = f" of {rate['limit']}" if rate.get("limit") else ""
    line = (
        f"Billomat quota: {text(rate.get('remaining'))}{limit} requests left, window resets in "
        f"{age(rate.get('reset_in_seconds'))} (seen {age(rate.get('age_seconds'))} ago by "
        f"{text(rate.get('function'))})"
    )
    if rate.get("last_429_at") is not None:
        line += f"; last 429 by {text(rate.get('last_429_function'))}"
    return line


def show_status(answer: dict[str, Any]) -> None:
    out = console()
    queues = Table(title="Queues", title_justify="left")
    for column in ("queue", "workflow", "waiting", "in flight", "delayed", "dead letters"):
        queues.add_column(column, justify="left" if column in ("queue", "workflow") else "right")
    for row in answer.get("queues") or []:
        dead = int(row.get("dead_letters") or 0)
        queues.add_row(
            text(row.get("queue")),
            text(row.get("workflow")),
            text(row.get("visible")),
            text(row.get("in_flight")),
            text(row.get("delayed")),
            f"[bold red]{dead}[/]" if dead else "0",
        )
    out.print(queues)
    failures = answer.get("failures") or []
    if failures:
        table = Table(title=f"Failed scheduled runs ({len(failures)})", title_justify="left")
        for column in ("function", "condition", "error", "at"):
            table.add_column(column)
        for failure in failures:
            table.add_row(
                text(failure.get("function")),
                text(failure.get("condition")),
                text(failure.get("error")),
                text(failure.get("at") or failure.get("sent_at")),
            )
        out.print(table)
    elif "failures" not in (answer.get("missing") or []):
        out.print("Failed scheduled runs: none")
    schedules = answer.get("schedules") or []
    if schedules:
        table = Table(title="Schedules: last run", title_justify="left")
        for column in ("schedule", "outcome", "business day", "finished", "seconds", "counts"):
            table.add_column(column, justify="right" if column == "seconds" else "left")
        table.add_column("error")
        for schedule in schedules:
            outcome = schedule.get("outcome")
            style = {"finished": "green", "incomplete": "yellow", "failed": "bold red"}
            table.add_row(
                text(schedule.get("schedule")),
                f"[{style[outcome]}]{outcome}[/]" if outcome in style else "never run",
                text(schedule.get("business_day")),
                f"{age(schedule.get('age_seconds'))} ago" if schedule.get("outcome") else "",
                text(schedule.get("seconds")),
                ", ".join(f"{k} {v}" for k, v in (schedule.get("counts") or {}).items()),
                text(schedule.get("error")),
            )
        out.print(table)
    out.print(quota_line(answer.get("billomat_rate") or {}))
    if answer.get("missing"):
        out.print(f"[dim]not available here: {', '.join(map(str, answer['missing']))}[/]")


def show_review(answer: dict[str, Any]) -> None:
    items = answer.get("items") or []
    out = console()
    if not items:
        out.print("Review list: no open items")
        return
    table = Table(title=f"Review list ({len(items)} open)", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)
    table.add_column("payer")
    table.add_column("reference")
    table.add_column("reason", no_wrap=True)
    table.add_column("candidates")
    table.add_column("age", justify="right", no_wrap=True)
    for item in items:
        table.add_row(
            text(item.get("id")),
            f"{text(item.get('amount'))} {text(item.get('currency'))}".strip(),
            text(item.get("payer")),
            text(item.get("reference")),
            text(item.get("reason")),
            text(item.get("candidates")),
            age(item.get("age_seconds")),
        )
    out.print(table)


def show_resolution(answer: dict[str, Any]) -> None:
    resolution = answer.get("resolution") or {}
    status = answer.get("status")
    if status == "booked":
        detail = f"on {resolution.get('invoice')}"
        if resolution.get("payment_id") is not None:
            detail += f" (payment {resolution['payment_id']})"
    elif resolution.get("reason"):
        detail = f"({resolution['reason']})"
    else:
        detail = ""
    console().print(f"{answer.get('id')}: {status} {detail}".rstrip())


def show_dead_letters(answer: dict[str, Any]) -> None:
    out = console()
    queues = answer.get("queues") or []
    table = Table(title="Dead letters", title_justify="left")
    table.add_column("queue")
    table.add_column("workflow")
    table.add_column("count", justify="right")
    table.add_column("oldest", justify="right")
    for queue in queues:
        count = int(queue.get("count") or 0)
        table.add_row(
            text(queue.get("queue")),
            text(queue.get("workflow")),
            f"[bold red]{count}[/]" if count else "0",
            age(queue.get("oldest_age_seconds")),
        )
    out.print(table)
    for queue in queues:
        messages = queue.get("messages") or []
        if not messages:
            continue
        detail = Table(title=f"{queue.get('queue')}: {len(messages)} shown", title_justify="left")
        for column in ("reference", "workflow", "error", "receives", "message id"):
            detail.add_column(column)
        for message in messages:
            detail.add_row(
                text(message.get("reference")),
                text(message.get("workflow")),
                text(message.get("error")),
                text(message.get("receive_count")),
                text(message.get("message_id")),
            )
        out.print(detail)


def show_redrive(answer: dict[str, Any]) -> None:
    out = console()
    if "rerun" in answer:  # failed scheduled runs: re-run for their business day
        out.print(f"{answer.get('queue')}: {answer.get('moved')} failed run(s) started again")
        for row in answer.get("rerun") or []:
            out.print(f"  re-run {text(row.get('function'))} for {text(row.get('now'))}")
        for row in answer.get("skipped") or []:
            out.print(f"  [yellow]kept[/] {text(row.get('message_id'))}: {text(row.get('reason'))}")
        return
    moved = answer.get("moved")
    line = f"{answer.get('queue')}: {moved} message(s) moved back to the queue"
    if answer.get("task_handle"):
        line += f" (move task {answer['task_handle']})"
    out.print(line)


def show_error(answer: Answer) -> None:
    body = answer.body
    if isinstance(body, dict):
        code = body.get("error") or "error"
        message = body.get("message") or ""
        extra = {k: v for k, v in body.items() if k not in ("error", "message")}
        line = f"error {answer.status_code} {code}: {message}".rstrip(": ")
        if extra:
            line += f" {json.dumps(extra, ensure_ascii=False)}"
    else:
        line = f"error {answer.status_code}: {str(body).strip()[:500]}"
    print(line, file=sys.stderr)


# -- commands --------------------------------------------------------------------------------


def common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Target and output options, accepted before or after the command."""
    default: Any = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    target = common.add_argument_group("target")
    target.add_argument("--local", metavar="URL", default=default, help="local mode base URL")
    target.add_argument(
        "--stack", metavar="NAME", default=default, help="stack (default: samconfig.toml)"
    )
    target.add_argument("--region", default=default, help="AWS region")
    target.add_argument("--profile", default=default, help="AWS profile")
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print the API's JSON as is",
    )
    return common


def parser() -> argparse.ArgumentParser:
    leaf = [common_options(suppress=True)]
    main = argparse.ArgumentParser(
        prog="autopilot",
        description="Operate Billomat Autopilot through its /admin API.",
        parents=[common_options(suppress=False)],
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("status", parents=leaf, help="queues, dead letters, failed runs")

    review = commands.add_parser("review", help="the bank review list")
    review_commands = review.add_subparsers(dest="action", required=True, metavar="ACTION")
    review_commands.add_parser("list", parents=leaf, help="open review items")
    book = review_commands.add_parser("book", parents=leaf, help="book an item on an invoice")
    book.add_argument("id", help="review item id, e.g. fints:2026112400021")
    book.add_argument("invoice", help="invoice number, e.g. RE1042")
    dismiss = review_commands.add_parser("dismiss", parents=leaf, help="close without booking")
    dismiss.add_argument("id", help="review item id")
    dismiss.add_argument("--reason", default=None, help="why (kept in the item's history)")

    letters = commands.add_parser("dead-letters", help="dead-letter queues")
    letters_commands = letters.add_subparsers(dest="action", required=True, metavar="ACTION")
    letters_commands.add_parser("list", parents=leaf, help="what the DLQs hold")
    redrive = letters_commands.add_parser("redrive", parents=leaf, help="move a DLQ back")
    redrive.add_argument(
        "queue",
        help="orders, deals, bank, products or refunds; scheduled: re-run failed scheduled runs "
        "for their business day",
    )
    return main


def request_for(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path under /admin, body) of the command."""
    command, action = args.command, getattr(args, "action", None)
    if command == "status":
        return "GET", "/status", None
    if command == "review" and action == "list":
        return "GET", "/review", None
    if command == "review" and action == "book":
        return (
            "POST",
            f"/review/{quote(args.id, safe=':@')}",
            {
                "action": "book",
                "invoice": args.invoice,
            },
        )
    if command == "review" and action == "dismiss":
        body: dict[str, Any] = {"action": "dismiss"}
        if args.reason is not None:
            body["reason"] = args.reason
        return "POST", f"/review/{quote(args.id, safe=':@')}", body
    if command == "dead-letters" and action == "list":
        return "GET", "/dead-letters", None
    if command == "dead-letters" and action == "redrive":
        return "POST", f"/dead-letters/{quote(args.queue, safe='')}/redrive", None
    raise ValueError(f"unknown command {command} {action}")


RENDERERS = {
    ("status", None): show_status,
    ("review", "list"): show_review,
    ("review", "book"): show_resolution,
    ("review", "dismiss"): show_resolution,
    ("dead-letters", "list"): show_dead_letters,
    ("dead-letters", "redrive"): show_redrive,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code (0 done, 1 refused by the API, 2 unreachable)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_UNREACHABLE
    if args.local and args.stack:
        print("autopilot: use either --local or --stack, not both", file=sys.stderr)
        return EXIT_UNREACHABLE
    method, path, body = request_for(args)
    try:
        if args.local:
            api = local_api(args.local)
        else:
            api = stack_api(args.stack, args.region, args.profile)
        answer = api.call(method, path, body)
    except Unreachable as exc:
        print(f"autopilot: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        if isinstance(answer.body, str):
            print(answer.body)
        else:
            print(json.dumps(answer.body, indent=2, ensure_ascii=False))
    if not answer.ok:
        show_error(answer)
        return EXIT_REFUSED
    if not args.json:
        if not isinstance(answer.body, dict):
            print(f"autopilot: unexpected answer: {str(answer.body)[:500]}", file=sys.stderr)
            return EXIT_REFUSED
        RENDERERS[(args.command, getattr(args, "action", None))](answer.body)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
