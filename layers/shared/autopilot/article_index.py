"""Which Billomat article stands for which SKU: the article records in the workflow table.

The article_sync worker keeps one record per sellable variant (``article#<key>`` / ``article``,
:class:`ArticleRecord`): the article's id, a fingerprint of what was written, the shop's
``updated_at`` of the write, whether the product is gone. Invoicing workflows (orders, deals)
look their positions' SKUs up here with :func:`article_ids` — one DynamoDB batch read, never a
Billomat request — and put the ``article_id`` on the position while keeping their own title,
price and tax: the order is the truth, the article only links the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from autopilot.checkpoints import Checkpoint
from autopilot.shop_products import sku_key
from autopilot.workflow_state import WorkflowStore

log = logging.getLogger("autopilot.article_index")

ARTICLE_SORT_KEY = "article"


def article_pk(key: str) -> str:
    """The partition key of an article record (``key`` from ``variant_key``)."""
    return f"article#{key}"


class ArticleRecord(Checkpoint):
    """``article#<key>`` / ``article``: the article of one sellable variant."""

    article_id: int | None = None
    create_started: int | None = None
    """The article create was sent at this epoch second and its answer not yet recorded."""
    fingerprint: str | None = None
    """Of what Billomat holds (``ArticleSpec.fingerprint``): unchanged → no request."""
    shop_updated_at: dt.datetime | None = None
    """The shop's ``updated_at`` of the delivery last applied: older ones change nothing."""
    product: str | None = None
    variant_id: str | None = None
    discontinued: bool = False
    deleted: bool = False
    """The article was deleted in Billomat (no document used it); a restore creates it anew."""


def article_ids(store: WorkflowStore, skus: Iterable[str | None]) -> dict[str, int]:
    """SKU → Billomat article id for the SKUs that have a live article (one batch read)."""
    wanted = {sku: key for sku in skus if sku and (key := sku_key(sku))}
    if not wanted:
        return {}
    found = store.get_many((article_pk(key), ARTICLE_SORT_KEY) for key in wanted.values())
    ids: dict[str, int] = {}
    for sku, key in wanted.items():
        item = found.get((article_pk(key), ARTICLE_SORT_KEY))
        if item and item.get("article_id") is not None and not item.get("deleted"):
            ids[sku] = int(item["article_id"])
    return ids


def create_linked[R](create: Callable[[bool], R], linked: bool) -> R:
    """``create(linked)``: with ``linked`` the document's positions carry article ids. When
    Billomat refuses that (an article deleted in Billomat by hand since it was synced), the
    document is created again without the links — a missing catalogue link must never keep
    a document from being made."""
    from autopilot.billomat import BillomatValidationError

    if not linked:
        return create(False)
    try:
        return create(True)
    except BillomatValidationError as refusal:
        log.warning("Billomat refused the article links (%s); creating without them", refusal)
        return create(False)
