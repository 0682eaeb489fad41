"""A shop product's sellable variants become Billomat articles: written only when they change.

Per delivery (a webhook or a catalogue CSV row), under a per-product lock in the workflow
table so concurrent deliveries of one product take turns:

1. **Older deliveries change nothing.** The product record (``product#<reference>`` /
   ``variants``) and every article record keep the shop's ``updated_at`` of the last applied
   delivery; one that is older is acknowledged as ``stale``.
2. **Each variant** is mapped (``mapping.py``) and its fingerprint compared with the one
   recorded: equal → **no Billomat request** (Shopify sends ``products/update`` after every sale,
   for the stock). New → the article is created through the write-once step (our key in
   ``customfield``, so a lost answer is found, not duplicated). Changed → one ``PUT``.
3. **Gone** (the product deleted, or a variant no longer in it): an article no invoice or offer
   refers to is deleted; one in use is kept and marked discontinued ("[Eingestellt] " before its
   title), because documents refer to their articles. A product restored (or created again)
   later is an ordinary upsert: a deleted article is created anew, a discontinued one renamed back.

Tax ids and the unit id come from Billomat's ``/api/taxes`` and ``/api/units`` once per
container (a missing unit or tax rate is created once).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from autopilot.article_index import ARTICLE_SORT_KEY, ArticleRecord, article_pk
from autopilot.billomat import ArticleDraft, BillomatClient, BillomatNotFoundError
from autopilot.checkpoints import Checkpoint, CheckpointRecord
from autopilot.notifications import AccountingNotifier
from autopilot.shop_products import ShopProduct
from autopilot.workflow_state import WorkflowStore
from autopilot.write_once import create_once

from .mapping import (
    DISCONTINUED_PREFIX,
    ArticleRules,
    ArticleSpec,
    UnmappedProduct,
    article_spec,
)

log = logging.getLogger("autopilot.article_sync")

PRODUCT_SORT_KEY = "variants"
LOCK_STALE_AFTER_SECONDS = 300
Change = Literal["created", "updated", "unchanged", "stale", "deleted", "discontinued", "skipped"]


class ProductRecord(Checkpoint):
    """``product#<reference>`` / ``variants``: the article keys of the product's variants."""

    keys: tuple[str, ...] = ()
    shop_updated_at: dt.datetime | None = None
    deleted: bool = False


@dataclass
class SyncOutcome:
    """What one delivery did, per article key (small: the idempotency record's result)."""

    product: str
    status: str
    changes: dict[str, Change] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def count(self, change: Change) -> int:
        return sum(1 for value in self.changes.values() if value == change)

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"product": self.product, "status": self.status}
        changes: tuple[Change, ...] = (
            "created",
            "updated",
            "unchanged",
            "deleted",
            "discontinued",
            "stale",
        )
        for change in changes:
            if n := self.count(change):
                result[change] = n
        if self.skipped:
            result["skipped"] = self.skipped
        return result


class Catalogue:
    """Billomat's tax and unit ids, read once per container and created when missing."""

    def __init__(self, billomat: BillomatClient) -> None:
        self.billomat = billomat
        self._taxes: dict[Decimal, int] | None = None
        self._units: dict[str, int] | None = None

    def tax_id(self, rate: Decimal) -> int:
        if self._taxes is None:
            self._taxes = {tax.rate.normalize(): tax.id for tax in self.billomat.list_taxes()}
        key = rate.normalize()
        if key not in self._taxes:
            raise UnmappedProduct(
                f"In Billomat gibt es keinen Steuersatz {rate} % (Einstellungen › Steuersätze)."
            )
        return self._taxes[key]

    def unit_id(self, name: str | None) -> int | None:
        if not name:
            return None
        if self._units is None:
            self._units = {
                (unit.name or "").strip().casefold(): unit.id for unit in self.billomat.list_units()
            }
        key = name.strip().casefold()
        if key not in self._units:
            self._units[key] = self.billomat.create_unit(name.strip()).id
        return self._units[key]


class ArticleSync:
    """Runs one product delivery against Billomat and the workflow table."""

    def __init__(
        self,
        billomat: BillomatClient,
        store: WorkflowStore,
        notifier: AccountingNotifier | None,
        rules: ArticleRules,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.billomat = billomat
        self.store = store
        self.notifier = notifier
        self.rules = rules
        self.catalogue = catalogue or Catalogue(billomat)

    def run(self, product: ShopProduct) -> SyncOutcome:
        """Bring the product's articles to the delivery's state (safe to repeat)."""
        reference = product.reference
        with self.store.exclusive(
            f"product#{reference}", f"delivery:{uuid.uuid4()}", LOCK_STALE_AFTER_SECONDS
        ):
            record = CheckpointRecord(
                self.store, ProductRecord, f"product#{reference}", PRODUCT_SORT_KEY
            )
            known = record.load()
            outcome = SyncOutcome(reference, "synced")
            if _older(product.updated_at, known.shop_updated_at):
                outcome.status = "stale"
                return outcome
            keys: list[str] = []
            if not product.deleted:
                for variant in product.variants:
                    key = product.variant_key(variant)
                    try:
                        spec = article_spec(product, variant, self.rules)
                        outcome.changes[key] = self._upsert(product, variant.variant_id, spec)
                    except UnmappedProduct as problem:
                        outcome.skipped[key] = str(problem)
                    keys.append(key)
            for gone in [key for key in known.keys if key not in keys]:
                outcome.changes[gone] = self._retire(gone, product)
            record.save(keys=keys, shop_updated_at=product.updated_at, deleted=product.deleted)
            if product.deleted:
                outcome.status = "deleted"
            if outcome.skipped:
                self._report_skipped(product, outcome.skipped)
            return outcome

    # -- one article -------------------------------------------------------------------------
    def _record(self, key: str) -> CheckpointRecord[ArticleRecord]:
        return CheckpointRecord(self.store, ArticleRecord, article_pk(key), ARTICLE_SORT_KEY)

    def _upsert(self, product: ShopProduct, variant_id: str, spec: ArticleSpec) -> Change:
        record = self._record(spec.key)
        state = record.load()
        if _older(product.updated_at, state.shop_updated_at):
            return "stale"
        fingerprint = spec.fingerprint()
        live = state.article_id is not None and not state.deleted
        if live and state.fingerprint == fingerprint:
            return "unchanged"
        draft = self._draft(spec)
        if live:
            assert state.article_id is not None
            try:
                self.billomat.update_article(state.article_id, draft)
            except BillomatNotFoundError:
                # Deleted in Billomat by hand: create it anew below.
                log.warning("article %s (id %s) is gone from Billomat", spec.key, state.article_id)
                live = False
        change: Change = "updated"
        article_id = state.article_id
        if not live:
            article = create_once(
                record,
                "create_started",
                state.create_started,
                create=lambda: self.billomat.create_article(draft),
                find=lambda: self.billomat.find_articles_by_customfield(spec.key),
                what=f"article {spec.key}",
            )
            change, article_id = "created", article.id
        record.save(
            article_id=article_id,
            create_started=None,
            fingerprint=fingerprint,
            shop_updated_at=product.updated_at,
            product=product.reference,
            variant_id=variant_id,
            discontinued=False,
            deleted=False,
        )
        log.info("article %s %s (Billomat id %s)", spec.key, change, article_id)
        return change

    def _retire(self, key: str, product: ShopProduct) -> Change:
        """The variant is gone: delete its article if unused, else mark it discontinued."""
        record = self._record(key)
        state = record.load()
        if state.article_id is None or state.deleted or state.discontinued:
            return "unchanged"
        if state.product not in (None, product.reference):
            return "unchanged"  # the SKU lives on in another product now
        article_id = state.article_id
        if not self.billomat.article_in_use(article_id):
            with suppress(BillomatNotFoundError):  # an earlier attempt's delete went through
                self.billomat.delete_article(article_id)
            record.save(deleted=True, fingerprint=None, shop_updated_at=product.updated_at)
            log.info("article %s deleted (Billomat id %s, no document used it)", key, article_id)
            return "deleted"
        article = self.billomat.get_article(article_id)
        title = article.title or key
        if not title.startswith(DISCONTINUED_PREFIX):
            title = DISCONTINUED_PREFIX + title
        self.billomat.update_article(article_id, ArticleDraft(title=title[:255]))
        record.save(discontinued=True, fingerprint=None, shop_updated_at=product.updated_at)
        log.info("article %s kept and marked discontinued (documents use it)", key)
        return "discontinued"

    def _draft(self, spec: ArticleSpec) -> ArticleDraft:
        return ArticleDraft(
            title=spec.billomat_title,
            description=spec.description,
            sales_price=spec.net_price,
            currency_code=spec.currency,
            tax_id=self.catalogue.tax_id(spec.tax_rate),
            unit_id=self.catalogue.unit_id(spec.unit),
            customfield=spec.key,
        )

    def _report_skipped(self, product: ShopProduct, skipped: dict[str, str]) -> None:
        log.warning("product %s: variants skipped: %s", product.reference, skipped)
        if self.notifier is None:
            return
        self.notifier.notify(
            f"Artikel nicht übernommen: {product.title}",
            [f"{key}: {reason}" for key, reason in skipped.items()],
            {"product": product.reference},
        )


def _older(moment: dt.datetime, recorded: dt.datetime | None) -> bool:
    """True when ``moment`` is before the recorded shop time (equal is not older: a repeat)."""
    return recorded is not None and moment < recorded
