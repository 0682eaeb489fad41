"""The shop product: the one source-agnostic product every shop's product webhook (or catalogue
CSV row) becomes.

The intake (``functions/webhooks``) validates a Shopify or WooCommerce product body with that
shop's payload model, converts it into a :class:`ShopProduct` and queues it in an
``autopilot.messages.ShopProductMessage``; the catalogue import builds the same from the shops'
CSV exports. The article_sync worker maps every sellable variant to one Billomat article.
Nothing here knows a shop's payload, and nothing here decides tax rates or net/gross: that
mapping is configuration and lives with the worker.

- A Shopify product carries its variants (a product without options has one variant, whose
  title Shopify calls "Default Title": it is left out of the article title).
- A WooCommerce product is simple (one variant: itself), variable (the parent: not sellable,
  its variations arrive as products of type ``variation`` with ``parent_id``), or a variation.
- ``updated_at`` orders the deliveries of one product: an older one arriving late changes
  nothing. ``deleted`` marks a deletion (Shopify ``products/delete``, WooCommerce
  ``product.deleted`` or status ``trash``); a product that comes back after a deletion
  (``product.restored``, a new ``products/create``) is an ordinary upsert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ProductSource = Literal["shopify", "woocommerce"]

ShortText = Annotated[str, Field(max_length=255)]
LongText = Annotated[str, Field(max_length=5000)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]
MAX_VARIANTS = 2048
"""Shopify allows up to 2,048 variants per product."""
PRICE_LIMIT = Decimal("1e8")
SKU_KEY_LIMIT = 200


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("updated_at needs a time zone")
    return moment.astimezone(dt.UTC)


class ProductVariant(BaseModel):
    """One sellable variant: what one Billomat article stands for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variant_id: Id
    sku: ShortText | None = None
    title: ShortText | None = None
    """The variant's own part of the name ("500 g, gemahlen"); None for a product without
    options."""
    price: Decimal = Field(ge=0, lt=PRICE_LIMIT, max_digits=14, decimal_places=4)
    """The shop's price, on the shop's basis (gross in most German B2C shops)."""
    taxable: bool = True
    tax_class: ShortText | None = None
    """WooCommerce's tax class (``""``/``standard``, ``reduced-rate``, ``zero-rate``, …)."""

    @property
    def has_sku(self) -> bool:
        return bool(self.sku and self.sku.strip())


class ShopProduct(BaseModel):
    """A product as one shop knows it, with its sellable variants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: ProductSource
    shop: ShortText
    """The shop it comes from (``name.myshopify.com``, the WooCommerce site)."""
    product_id: Id
    title: ShortText
    description: LongText | None = None
    product_type: ShortText | None = None
    tags: tuple[ShortText, ...] = Field(default=(), max_length=250)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    updated_at: Annotated[dt.datetime, AfterValidator(_aware)]
    deleted: bool = False
    variants: tuple[ProductVariant, ...] = Field(default=(), max_length=MAX_VARIANTS)

    @property
    def reference(self) -> str:
        """Our stable key of the product: ``<source>:<shop>:product:<id>``."""
        return f"{self.source}:{self.shop}:product:{self.product_id}"

    def variant_key(self, variant: ProductVariant) -> str:
        """The key of the variant's article: its SKU, else the shop's variant id."""
        return variant_key(self.source, self.shop, variant)


def variant_key(source: str, shop: str, variant: ProductVariant) -> str:
    """``sku:<SKU>`` (SKUs are unique within a shop and name the article across shops'
    orders), else ``<source>:<shop>:variant:<id>``."""
    return sku_key(variant.sku) or f"{source}:{shop}:variant:{variant.variant_id}"


def sku_key(sku: str | None) -> str | None:
    """``sku:<SKU>``, the article key of a variant's or an order line's SKU (None without a
    SKU). Long SKUs are hashed to fit a key."""
    if not sku or not sku.strip():
        return None
    sku = sku.strip()
    if len(sku) > SKU_KEY_LIMIT:
        sku = "sha256:" + hashlib.sha256(sku.encode("utf-8")).hexdigest()
    return f"sku:{sku}"
