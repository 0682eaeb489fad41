"""article_sync worker Lambda: SQS batches of shop products → Billomat articles.

Wiring only: the shared SQS worker (:mod:`autopilot.sqs_worker`) runs
:class:`syncing.ArticleSync` for every queued :class:`~autopilot.messages.ShopProductMessage`.
Idempotency is keyed on the product and the shop's ``updated_at``: a redelivered message is
answered from its record, and a newer change of the product is new work.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from autopilot.settings import ArticleSyncSettings
from autopilot.sqs_worker import SqsWorker, WorkerConfig, Workflow

if TYPE_CHECKING:
    from autopilot.messages import ShopProductMessage

    from .syncing import ArticleSync


@cache
def settings() -> ArticleSyncSettings:
    """The worker's configuration, parsed once per container."""
    return ArticleSyncSettings.from_env()


@cache
def syncing() -> ArticleSync:
    """The article workflow with its Billomat client (tax and unit ids cached), table, notifier."""
    from autopilot.billomat_access import billomat_client
    from autopilot.notifications import accounting_notifier_for
    from autopilot.workflow_state import workflow_store_for

    from .mapping import ArticleRules
    from .syncing import ArticleSync

    return ArticleSync(
        billomat_client(),
        workflow_store_for(settings().workflow_table),
        accounting_notifier_for(settings().notifications_topic_arn),
        ArticleRules.from_settings(settings()),
    )


def product_message() -> type[ShopProductMessage]:
    """The products queue's message model (imported on the first batch)."""
    from autopilot.messages import ShopProductMessage

    return ShopProductMessage


class SyncArticles(Workflow["ShopProductMessage"]):
    """One product delivery → its variants' articles."""

    def handle(self, message: ShopProductMessage) -> dict[str, Any]:
        return syncing().run(message.product).as_dict()


def article_metrics(outcome: Mapping[str, Any]) -> dict[str, float]:
    """``articles_created`` / ``_updated`` / ``_unchanged`` / … per outcome."""
    counts = {
        f"articles_{change}": float(outcome[change])
        for change in ("created", "updated", "unchanged", "deleted", "discontinued", "stale")
        if outcome.get(change)
    }
    if outcome.get("skipped"):
        counts["articles_skipped"] = float(len(outcome["skipped"]))
    return counts


worker = SqsWorker(
    WorkerConfig(
        service="article_sync",
        metric_prefix="products",
        message_model=product_message,
        queue_url=lambda: settings().products_queue_url,
        idempotency_table=lambda: settings().idempotency_table,
        idempotency_key="[source, shop, product_id, updated_at, deleted]",
        payload=lambda message: message.product.model_dump(
            mode="json", include={"source", "shop", "product_id", "updated_at", "deleted"}
        ),
        idempotency_name="article_sync.app.sync_product",
        outcome_metrics=article_metrics,
    ),
    SyncArticles,
)
lambda_handler = worker.lambda_handler
