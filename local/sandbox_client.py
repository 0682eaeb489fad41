"""The layer's Billomat client wired to an in-process sandbox (tests and benchmarks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autopilot.billomat import BillomatClient

if TYPE_CHECKING:
    from local.billomat_sandbox import BillomatSandbox

SANDBOX_BASE_URL = "http://billomat.sandbox/api/"


def sandbox_client(sandbox: BillomatSandbox, api_key: str | None = None) -> BillomatClient:
    """A client that talks to ``sandbox`` through its transport and sleeps on its clock, so a
    rate-limit wait advances simulated time instead of real time."""
    from local.billomat_sandbox import DEV_API_KEY

    return BillomatClient(
        SANDBOX_BASE_URL,
        DEV_API_KEY if api_key is None else api_key,
        transport=sandbox.transport(),
        sleep=sandbox.clock.sleep,
        now=sandbox.clock.epoch,
    )
