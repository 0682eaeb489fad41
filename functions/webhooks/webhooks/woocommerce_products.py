"""WooCommerce's product webhook: its payload (REST v3 product, reference/webhooks.md §4b) and the
ShopProduct it becomes.

By ``type``:

- ``simple`` (and any type this module does not know, e.g. a plugin's ``subscription``): one
  variant, the product itself (``variant_id`` = the product id, no variant title).
- ``variable`` (and ``variable-…`` types of plugins): the parent. Its title, description,
  category and tags are queued, but no sellable variant: its variations arrive as their own
  deliveries.
- ``variation`` (and ``…variation`` types): a ShopProduct **of its own** (``product_id`` =
  ``variant_id`` = the variation's id) with its one variant, titled product + variant: the
  variant title is the variation's attribute values (``attributes[].option``, "100 g, lose"),
  the product title its ``name`` without the " - 100 g, lose" WooCommerce appends (the
  parent's name). Not the parent's id: a ShopProduct lists *all* the sellable variants of its
  product (the worker retires the articles of variants no longer in it, and ignores a
  delivery older than the last one of the same product), but a variation's delivery knows
  only itself. As its own product, each variation's updates, disabling and deletion (whose
  body may be only ``{"id": …}``) reach exactly its article.
- ``grouped`` and ``external``: not sold by the shop itself: queued without variants.

By ``status``:

- ``publish``: on sale (a body without ``status`` counts as on sale too).
- ``draft``, ``pending``, ``private``, ``future`` and any other status: not on sale, queued
  without variants (a ``private`` variation is a disabled one).
- ``trash``: deleted, like the ``product.deleted`` topic.

A product or variation without a price (``price``, else ``regular_price``, both ``""``) cannot
be bought: queued without variants as well. ``price`` is the price the shop sells at now (the
sale price during a sale), like Shopify's variant price; it is on the shop's basis (whether
prices include tax is a shop setting, not in the payload). ``tax_status`` ``taxable`` means
taxable; ``shipping`` (only the shipping is taxed) and ``none`` mean not taxable. ``tax_class``
is kept as sent (``""`` is the standard class), except ``parent`` (a variation inheriting its
parent's class, normally resolved by WooCommerce), which becomes None.

**Deletions** (``product.deleted``, or ``status`` ``trash``): a ShopProduct with
``deleted=True``, no variants, for the id in the body, whatever its type. ``updated_at`` of a
trashed product is its ``date_modified_gmt`` (trashing modifies it); of any other deletion the
time it was received, since such a body carries at most the product's last change before the
deletion. Trashing a variable product does not delete its variations' articles: their
variations are separate products, and WooCommerce sends nothing for them.

``updated_at`` is ``date_modified_gmt`` (else ``date_created_gmt``) as UTC; a body that is not
a deletion needs one of them (400 naming ``date_modified_gmt``). The description is the
``short_description`` (else the ``description``) as bounded plain text; the product type is
the name of the first category; ``currency`` stays None (the body names none).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from autopilot.shop_products import ProductVariant, ShopProduct

from .order_payloads import ShopId, ShopPayload, Timestamp, first_text
from .product_payloads import (
    OptionalPrice,
    ProductId,
    ProductPayloadError,
    Sku,
    bounded,
    gmt,
    html_text,
    tag_names,
)

ON_SALE_STATUSES = frozenset({"publish"})
NOT_TAXABLE = frozenset({"none", "shipping"})
NOT_SOLD_TYPES = frozenset({"grouped", "external"})
DELETED_TITLE = "(gelöscht)"
VARIATION_TITLE_SEPARATORS = (" - ", " – ", ", ")

ProductKind = Literal["simple", "parent", "variation", "not_sold"]


class WooTerm(ShopPayload):
    """A category or tag of the product."""

    id: ShopId | None = None
    name: str | None = None
    slug: str | None = None


class WooAttribute(ShopPayload):
    """An attribute: a variation names its value (``option``), a product its values."""

    id: ShopId | None = None
    name: str | None = None
    option: str | None = None
    options: list[str | None] = Field(default_factory=list)


class WooCommerceProductPayload(ShopPayload):
    """The body of WooCommerce's ``product.*`` webhook (REST v3 product or variation).

    Everything but ``id`` is optional: ``product.deleted`` may send only the id.
    """

    id: ProductId
    name: str | None = None
    type: str | None = None
    status: str | None = None
    sku: Sku | None = None
    price: OptionalPrice = None
    regular_price: OptionalPrice = None
    tax_status: str | None = None
    tax_class: str | None = None
    description: str | None = None
    short_description: str | None = None
    categories: list[WooTerm] = Field(default_factory=list)
    tags: list[WooTerm] = Field(default_factory=list)
    attributes: list[WooAttribute] = Field(default_factory=list)
    date_created_gmt: Timestamp = None
    date_modified_gmt: Timestamp = None


def _lower(text: str | None) -> str:
    return (text or "").strip().lower()


def product_kind(payload: WooCommerceProductPayload) -> ProductKind:
    """What the product is for the article sync (see the module docstring)."""
    kind = _lower(payload.type)
    if kind.endswith("variation"):
        return "variation"
    if kind.startswith("variable"):
        return "parent"
    if kind in NOT_SOLD_TYPES:
        return "not_sold"
    return "simple"


def is_deletion(payload: WooCommerceProductPayload, topic: str) -> bool:
    """``product.deleted``, or a product moved to the trash."""
    return topic == "product.deleted" or _lower(payload.status) == "trash"


def not_on_sale(payload: WooCommerceProductPayload) -> str | None:
    """Why the product or variation cannot be bought now, or None when it can."""
    status = _lower(payload.status)
    if status and status not in ON_SALE_STATUSES:
        return f"status {status[:40]}"
    if payload.price is None and payload.regular_price is None:
        return "no price"
    return None


def change_time(payload: WooCommerceProductPayload, topic: str) -> dt.datetime | None:
    """The time of the change the body reports, or None when the body does not tell it."""
    if is_deletion(payload, topic):
        return gmt(payload.date_modified_gmt) if _lower(payload.status) == "trash" else None
    return gmt(payload.date_modified_gmt) or gmt(payload.date_created_gmt)


def _tax_class(tax_class: str | None) -> str | None:
    if tax_class is None or tax_class.strip().lower() == "parent":
        return None
    return bounded(tax_class) or ""


def _first_category(payload: WooCommerceProductPayload) -> str | None:
    names = (bounded(category.name) for category in payload.categories)
    return next((name for name in names if name), None)


def _variant(payload: WooCommerceProductPayload, title: str | None) -> ProductVariant:
    price = payload.price if payload.price is not None else payload.regular_price
    if price is None:  # callers check not_on_sale first
        raise ProductPayloadError("price", "the product has no price")
    return ProductVariant(
        variant_id=payload.id,
        sku=first_text(payload.sku) or None,
        title=title,
        price=price,
        taxable=_lower(payload.tax_status) not in NOT_TAXABLE,
        tax_class=_tax_class(payload.tax_class),
    )


def variation_titles(payload: WooCommerceProductPayload) -> tuple[str | None, str | None]:
    """(product title, variant title) of a variation; see the module docstring."""
    options = [first_text(attribute.option) for attribute in payload.attributes]
    variant_title = ", ".join(option for option in options if option) or None
    title = first_text(payload.name)
    if title and variant_title:
        for separator in VARIATION_TITLE_SEPARATORS:
            suffix = separator + variant_title
            if title.endswith(suffix) and len(title) > len(suffix):
                title = title[: -len(suffix)].rstrip()
                break
    return bounded(title), bounded(variant_title)


def shop_product_from_woocommerce(
    payload: WooCommerceProductPayload, site: str, topic: str
) -> ShopProduct:
    """The ShopProduct of a WooCommerce product body from ``site`` that is not a deletion."""
    updated_at = change_time(payload, topic)
    if updated_at is None:
        raise ProductPayloadError("date_modified_gmt", "Field required")
    kind = product_kind(payload)
    title, variant_title = bounded(payload.name), None
    if kind == "variation":
        title, variant_title = variation_titles(payload)
    sellable = kind in {"simple", "variation"} and not_on_sale(payload) is None
    return ShopProduct(
        source="woocommerce",
        shop=site,
        product_id=payload.id,
        title=title or f"Produkt {payload.id}",
        description=html_text(payload.short_description) or html_text(payload.description),
        product_type=_first_category(payload),
        tags=tag_names(tag.name for tag in payload.tags),
        updated_at=updated_at,
        variants=(_variant(payload, variant_title),) if sellable else (),
    )


def deleted_woocommerce_product(
    payload: WooCommerceProductPayload,
    site: str,
    topic: str,
    *,
    received_at: dt.datetime | None = None,
) -> ShopProduct:
    """The ShopProduct of a deletion (see the module docstring): deleted, no variants."""
    return ShopProduct(
        source="woocommerce",
        shop=site,
        product_id=payload.id,
        title=bounded(payload.name) or DELETED_TITLE,
        updated_at=change_time(payload, topic) or received_at or dt.datetime.now(dt.UTC),
        deleted=True,
    )
