"""Shopify's product webhook: its payload (REST Admin product, reference/webhooks.md §4b) and the
ShopProduct it becomes.

- ``products/create`` / ``products/update``: the product with all its variants. Every variant
  is sellable and becomes one ProductVariant with its ``price`` (on the shop's basis: gross
  when the shop's prices include tax), ``sku`` and ``taxable``; Shopify products carry no tax
  rate. A variant titled "Default Title" is the only variant of a product without options:
  its title is None, so the article is named after the product alone.
- A product with ``status`` ``draft`` or ``archived`` is not on sale: it is queued without
  variants (``active``, ``unlisted``, and a body without ``status`` are on sale).
- ``products/update`` also fires for every stock change (each sale). Such a delivery is queued
  like any other; the worker writes to Billomat only when something an article holds changed.
- ``products/delete`` carries only ``{"id": …}``: a ShopProduct with ``deleted=True``, the title
  "(gelöscht)", no variants and ``updated_at`` = when it was received (Shopify sends none).
- The description is ``body_html`` as bounded plain text; ``tags`` (one comma-separated
  string, or a list) become the tag tuple; ``product_type`` is kept. The product body names no
  currency: ``currency`` stays None.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from autopilot.shop_products import MAX_VARIANTS, ProductVariant, ShopProduct

from .order_payloads import ShopPayload, first_text
from .product_payloads import (
    Price,
    ProductId,
    ProductPayloadError,
    Sku,
    ZonedTimestamp,
    bounded,
    html_text,
    tag_names,
)

DEFAULT_VARIANT_TITLE = "Default Title"
NOT_ON_SALE = frozenset({"draft", "archived"})
DELETED_TITLE = "(gelöscht)"


class ShopifyVariant(ShopPayload):
    """One variant: what one article stands for."""

    id: ProductId
    title: str | None = None
    sku: Sku | None = None
    price: Price
    taxable: bool | None = None


class ShopifyProductPayload(ShopPayload):
    """The body of Shopify's ``products/create`` / ``products/update`` webhook."""

    id: ProductId
    title: str | None = None
    body_html: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    tags: str | list[str | None] | None = None
    status: str | None = None
    updated_at: ZonedTimestamp
    variants: list[ShopifyVariant] = Field(min_length=1, max_length=MAX_VARIANTS)


class ShopifyProductDeletion(ShopPayload):
    """The body of Shopify's ``products/delete`` webhook: only the id."""

    id: ProductId


def _variant(variant: ShopifyVariant) -> ProductVariant:
    title = bounded(variant.title)
    return ProductVariant(
        variant_id=variant.id,
        sku=first_text(variant.sku) or None,
        title=None if title == DEFAULT_VARIANT_TITLE else title,
        price=variant.price,
        taxable=variant.taxable is not False,
    )


def _tags(tags: str | list[str | None] | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    return tag_names(tags.split(",") if isinstance(tags, str) else tags)


def shop_product_from_shopify(payload: ShopifyProductPayload, shop_domain: str) -> ShopProduct:
    """The ShopProduct of a ``products/create`` or ``products/update`` body from ``shop_domain``."""
    if payload.updated_at is None:
        raise ProductPayloadError("updated_at", "Field required")
    on_sale = (payload.status or "").strip().lower() not in NOT_ON_SALE
    return ShopProduct(
        source="shopify",
        shop=shop_domain,
        product_id=payload.id,
        title=bounded(payload.title) or f"Produkt {payload.id}",
        description=html_text(payload.body_html),
        product_type=bounded(payload.product_type),
        tags=_tags(payload.tags),
        updated_at=payload.updated_at,
        variants=tuple(_variant(variant) for variant in payload.variants) if on_sale else (),
    )


def deleted_shopify_product(
    payload: ShopifyProductDeletion, shop_domain: str, *, received_at: dt.datetime | None = None
) -> ShopProduct:
    """The ShopProduct of a ``products/delete`` body: deleted, as of ``received_at`` (now)."""
    return ShopProduct(
        source="shopify",
        shop=shop_domain,
        product_id=payload.id,
        title=DELETED_TITLE,
        updated_at=received_at or dt.datetime.now(dt.UTC),
        deleted=True,
    )
