"""Finding or creating the Billomat client for a buyer, exactly once.

Order of lookup: our own record of the buyer (workflow table, no Billomat request), then
Billomat by exact e-mail (Billomat's filter is a substring match, so the client compares
exactly; for a company buyer also by exact name), else a new client carrying our reference
in ``customfield``. A short claim in the workflow table makes two orders of the same new
buyer that arrive together create one client: the second waits (its message is retried)
until the first has recorded the result.

Known limit: a buyer we created before whose e-mail changed since, and whose record in the
workflow table is gone, gets a second client (never a second invoice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from autopilot.billomat import BillomatClient, Client, ClientDraft
from autopilot.workflow_state import ClaimHeldElsewhere, WorkflowStore
from autopilot.write_once import WriteOutcome, write_once

log = logging.getLogger("autopilot.client_matching")

CLAIM_STALE_AFTER_SECONDS = 120
BUYER_RECORD_SORT_KEY = "billomat-client"


@dataclass(frozen=True)
class Buyer:
    """Who is buying, as far as finding their Billomat client goes."""

    reference: str | None
    """Our stable key of the buyer at the source (shop + customer id), if the source has one."""
    email: str | None
    draft: ClientDraft
    """What to create when Billomat does not know the buyer yet."""
    name: str | None = None
    """When set, a client found by e-mail must also have exactly this name (a company: the
    same contact person may buy for several companies)."""

    @property
    def record_key(self) -> str:
        """The workflow-table key of this buyer (reference first, else e-mail)."""
        if self.reference:
            return f"buyer#{self.reference}"
        if self.email:
            return f"buyer#email:{self.email.strip().lower()}"
        raise ValueError("a buyer needs a reference or an e-mail address")


def find_or_create_client(
    billomat: BillomatClient, store: WorkflowStore, buyer: Buyer, owner: str
) -> int:
    """The Billomat client id for ``buyer``; creates the client at most once.

    ``owner`` names the work item (e.g. the order reference) holding the claim while the
    client is looked up or created. Raises ``ClaimHeldElsewhere`` (retryable) while another
    work item is creating the same buyer's client.
    """
    key = buyer.record_key
    known = store.get(key, BUYER_RECORD_SORT_KEY)
    if known and known.get("result") is not None:
        return int(known["result"])
    claim = store.claim(key, BUYER_RECORD_SORT_KEY, owner, CLAIM_STALE_AFTER_SECONDS)
    if not claim.acquired:
        if claim.item.get("result") is not None:
            return int(claim.item["result"])
        raise ClaimHeldElsewhere(f"client for {key} is being created by {claim.item.get('owner')}")
    client = billomat.find_client_by_email(buyer.email, buyer.name) if buyer.email else None
    if client is None:
        client = _create_client_once(billomat, store, buyer, earlier_claim=known is not None)
    store.update(key, BUYER_RECORD_SORT_KEY, {"result": client.id})
    return client.id


def _create_client_once(
    billomat: BillomatClient, store: WorkflowStore, buyer: Buyer, earlier_claim: bool
) -> Client:
    """The write-once step of the client create; the claim taken above is its mark.

    A claim left by an earlier attempt means that attempt may have created the client: it is
    looked up by our reference first. A create Billomat certainly did not carry out releases
    the claim, so a concurrent order of the same buyer need not wait for it to go stale.
    """

    def find() -> Client | None:
        # Without a reference only the e-mail look-up could tell, and it found nothing.
        return billomat.find_client_by_customfield(buyer.reference) if buyer.reference else None

    def mark(started: bool) -> None:
        if not started:
            store.delete(buyer.record_key, BUYER_RECORD_SORT_KEY)

    written = write_once(
        started=earlier_claim,
        mark=mark,
        write=lambda: billomat.create_client(buyer.draft),
        find=find,
    )
    client = written.value
    assert client is not None  # a look-up is always given, so never UNKNOWN
    if written.outcome is WriteOutcome.WRITTEN:
        log.info("created Billomat client %s for %s", client.id, buyer.record_key)
    return client
