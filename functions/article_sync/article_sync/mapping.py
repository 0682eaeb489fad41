"""How a shop's sellable variant becomes a Billomat article (pure rules over plain values).

- **One article per sellable variant**, keyed by SKU (``sku:<SKU>``), by the shop's variant id
  when the SKU is empty (``autopilot.shop_products.variant_key``). Billomat numbers the article
  itself (``ART…``): a SKU like ``KAF-HM-500`` is no article number. The key is the article's
  ``customfield`` (filterable), and the SKU is shown in its description ("Artikel-Nr. …").
- **Title**: product plus variant ("Kaffee Hausmischung – 500 g"); a product without options
  is just its title.
- **Price**: the article holds one net ``sales_price``. Shop prices are gross or net per
  ``ARTICLE_SHOP_PRICES`` (German B2C shops price gross): a gross price is divided by 1 + rate and
  kept to four decimals, so net × (1 + rate) rounds back to the shop's gross price to the cent.
- **Tax rate**: WooCommerce maps its tax class (``WOOCOMMERCE_TAX_CLASSES``; default standard
  19, reduced-rate 7, zero-rate 0); Shopify has a default rate (``SHOPIFY_DEFAULT_TAX_RATE``)
  with overrides by product type, then by tag (``SHOPIFY_TAX_OVERRIDES``:
  ``{"type:Bücher": 7, "tag:ermäßigt": 7}``). A variant the shop does not tax gets 0 %. An
  unknown WooCommerce tax class is refused (:class:`UnmappedProduct`), never guessed.
- **Unit** from ``ARTICLE_UNIT`` (default "Stück").

:meth:`ArticleSpec.fingerprint` covers exactly what Billomat holds of the article; a shop
update that leaves it unchanged (stock, sales counters, anything else) writes nothing.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from autopilot.money import HUNDRED, normalize_rate
from autopilot.settings import ArticleSyncSettings
from autopilot.shop_products import ProductVariant, ShopProduct

NET_PLACES = Decimal("0.0001")
TITLE_LIMIT = 255
DESCRIPTION_LIMIT = 2000
DISCONTINUED_PREFIX = "[Eingestellt] "
"""Put before the title of an article whose product is gone but which documents still use."""


class UnmappedProduct(ValueError):
    """The variant cannot become an article as configured; the message says why (German)."""


@dataclass(frozen=True)
class ArticleRules:
    """The configured mapping (from :class:`ArticleSyncSettings`)."""

    shop_prices: Literal["gross", "net"] = "gross"
    shopify_default_rate: Decimal = Decimal(19)
    shopify_overrides: Mapping[str, Decimal] = field(default_factory=dict)
    woocommerce_classes: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "standard": Decimal(19),
            "reduced-rate": Decimal(7),
            "zero-rate": Decimal(0),
        }
    )
    unit: str | None = "Stück"

    def __post_init__(self) -> None:
        # Keys are matched case-insensitively ("type:Bücher" and "type:bücher" are one).
        for name in ("shopify_overrides", "woocommerce_classes"):
            table = getattr(self, name)
            object.__setattr__(self, name, {k.strip().casefold(): v for k, v in table.items()})

    @classmethod
    def from_settings(cls, settings: ArticleSyncSettings) -> ArticleRules:
        return cls(
            shop_prices=settings.shop_prices,
            shopify_default_rate=settings.shopify_default_tax_rate,
            shopify_overrides=settings.shopify_tax_overrides,
            woocommerce_classes=settings.woocommerce_tax_classes,
            unit=settings.article_unit or None,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArticleRules:
        """The rules from the mapping variables alone (``ARTICLE_SHOP_PRICES``,
        ``SHOPIFY_DEFAULT_TAX_RATE``, ``SHOPIFY_TAX_OVERRIDES``, ``WOOCOMMERCE_TAX_CLASSES``,
        ``ARTICLE_UNIT``): the catalogue import runs outside the worker and has no queue, table
        or topic of its own. A malformed value is a ``ConfigurationError`` naming it."""
        source = os.environ if environ is None else environ
        unused = {
            str(info.alias): "-"
            for info in ArticleSyncSettings.model_fields.values()
            if info.is_required() and info.alias
        }
        return cls.from_settings(ArticleSyncSettings.from_env({**unused, **source}))


@dataclass(frozen=True)
class ArticleSpec:
    """What Billomat should hold for one variant."""

    key: str
    sku: str | None
    title: str
    description: str | None
    net_price: Decimal
    tax_rate: Decimal
    unit: str | None
    currency: str | None
    discontinued: bool = False

    def fingerprint(self) -> str:
        """A digest of every field Billomat holds: equal digests, nothing to write."""
        data = {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    @property
    def billomat_title(self) -> str:
        title = DISCONTINUED_PREFIX + self.title if self.discontinued else self.title
        return _bounded(title, TITLE_LIMIT)


def tax_rate(product: ShopProduct, variant: ProductVariant, rules: ArticleRules) -> Decimal:
    """The variant's tax rate in percent (see the module docstring)."""
    if not variant.taxable:
        return Decimal(0)
    if product.source == "woocommerce":
        tax_class = (variant.tax_class or "").strip().casefold() or "standard"
        rate = rules.woocommerce_classes.get(tax_class)
        if rate is None:
            known = ", ".join(sorted(rules.woocommerce_classes)) or "keine"
            raise UnmappedProduct(
                f"Steuerklasse {variant.tax_class!r} ist keinem Steuersatz zugeordnet "
                f"(bekannt: {known}; Einstellung WOOCOMMERCE_TAX_CLASSES)."
            )
        return normalize_rate(rate)
    if product.product_type:
        override = rules.shopify_overrides.get(f"type:{product.product_type.strip().casefold()}")
        if override is not None:
            return normalize_rate(override)
    for tag in product.tags:
        override = rules.shopify_overrides.get(f"tag:{tag.strip().casefold()}")
        if override is not None:
            return normalize_rate(override)
    return normalize_rate(rules.shopify_default_rate)


def net_price(price: Decimal, rate: Decimal, shop_prices: Literal["gross", "net"]) -> Decimal:
    """The article's net price: a gross price divided by 1 + rate, to four decimals."""
    if shop_prices == "net":
        return price
    return (price * HUNDRED / (HUNDRED + rate)).quantize(NET_PLACES, rounding=ROUND_HALF_UP)


def article_spec(product: ShopProduct, variant: ProductVariant, rules: ArticleRules) -> ArticleSpec:
    """The article for one sellable variant."""
    rate = tax_rate(product, variant, rules)
    title = product.title.strip()
    if variant.title and variant.title.strip():
        title = f"{title} – {variant.title.strip()}"
    sku = variant.sku.strip() if variant.has_sku and variant.sku else None
    parts = [f"Artikel-Nr. {sku}" if sku else None, _plain_text(product.description)]
    description = "\n".join(part for part in parts if part) or None
    return ArticleSpec(
        key=product.variant_key(variant),
        sku=sku,
        title=_bounded(title, TITLE_LIMIT),
        description=_bounded(description, DESCRIPTION_LIMIT) if description else None,
        net_price=net_price(variant.price, rate, rules.shop_prices),
        tax_rate=rate,
        unit=rules.unit,
        currency=product.currency,
    )


_TAGS = re.compile(r"<[^>]*>")


def _plain_text(text: str | None) -> str | None:
    if not text:
        return None
    plain = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
    return plain or None


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
