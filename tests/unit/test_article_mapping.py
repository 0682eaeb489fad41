"""Article mapping over plain values: title, net price, tax rate, key and fingerprint."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from article_sync.mapping import (
    ArticleRules,
    UnmappedProduct,
    article_spec,
    net_price,
    tax_rate,
)
from hypothesis import given
from hypothesis import strategies as st

from autopilot.money import to_cents
from autopilot.shop_products import ProductVariant, ShopProduct, sku_key

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def product(
    source: str = "shopify",
    *,
    variants: tuple[ProductVariant, ...] = (),
    product_type: str | None = None,
    tags: tuple[str, ...] = (),
    description: str | None = None,
) -> ShopProduct:
    return ShopProduct(
        source=source,  # type: ignore[arg-type]
        shop="demo-shop.myshopify.com",
        product_id="42",
        title="Kaffee Hausmischung",
        description=description,
        product_type=product_type,
        tags=tags,
        updated_at=NOW,
        variants=variants,
    )


def variant(
    sku: str | None = "KAF-HM-500",
    price: str = "15.90",
    title: str | None = "500 g",
    **extra: object,
) -> ProductVariant:
    return ProductVariant(variant_id="7", sku=sku, title=title, price=Decimal(price), **extra)  # type: ignore[arg-type]


RULES = ArticleRules(
    shopify_overrides={"type:bücher": Decimal(7), "tag:ermäßigt": Decimal(7)},
)


def test_a_variant_becomes_title_plus_variant_keyed_by_sku_with_the_net_price() -> None:
    spec = article_spec(product(description="<p>Kräftig &amp; mild</p>"), variant(), RULES)
    assert spec.key == "sku:KAF-HM-500"
    assert spec.title == "Kaffee Hausmischung – 500 g"
    assert spec.description == "Artikel-Nr. KAF-HM-500\nKräftig & mild"
    assert spec.tax_rate == Decimal(19)
    assert spec.net_price == Decimal("13.3613")
    assert spec.unit == "Stück"


def test_a_variant_without_sku_is_keyed_by_the_shops_variant_id() -> None:
    spec = article_spec(product(), variant(sku=" ", title=None), RULES)
    assert spec.key == "shopify:demo-shop.myshopify.com:variant:7"
    assert spec.title == "Kaffee Hausmischung"
    assert spec.sku is None


def test_orders_find_the_article_by_the_same_key() -> None:
    assert sku_key(" KAF-HM-500 ") == article_spec(product(), variant(), RULES).key


@pytest.mark.parametrize(
    ("source", "extra", "product_type", "tags", "rate"),
    [
        ("shopify", {}, None, (), Decimal(19)),
        ("shopify", {}, "Bücher", (), Decimal(7)),
        ("shopify", {}, None, ("Sale", "ermäßigt"), Decimal(7)),
        ("shopify", {"taxable": False}, None, (), Decimal(0)),
        ("woocommerce", {"tax_class": ""}, None, (), Decimal(19)),
        ("woocommerce", {"tax_class": "standard"}, None, (), Decimal(19)),
        ("woocommerce", {"tax_class": "reduced-rate"}, None, (), Decimal(7)),
        ("woocommerce", {"tax_class": "zero-rate"}, None, (), Decimal(0)),
        ("woocommerce", {"tax_class": "reduced-rate", "taxable": False}, None, (), Decimal(0)),
    ],
)
def test_tax_rate(
    source: str, extra: dict, product_type: str | None, tags: tuple[str, ...], rate: Decimal
) -> None:
    shop_product = product(source, product_type=product_type, tags=tags)
    assert tax_rate(shop_product, variant(**extra), RULES) == rate


def test_an_unknown_woocommerce_tax_class_is_refused_not_guessed() -> None:
    with pytest.raises(UnmappedProduct, match="luxury"):
        tax_rate(product("woocommerce"), variant(tax_class="luxury"), RULES)


def test_net_shop_prices_are_kept() -> None:
    assert net_price(Decimal("15.90"), Decimal(19), "net") == Decimal("15.90")


@given(
    st.decimals(min_value=Decimal(0), max_value=Decimal(1_000_000), places=2),
    st.sampled_from([Decimal(0), Decimal(5), Decimal(7), Decimal(10), Decimal(19), Decimal(20)]),
)
def test_the_net_price_gives_the_shops_gross_price_back_to_the_cent(
    gross: Decimal, rate: Decimal
) -> None:
    net = net_price(gross, rate, "gross")
    assert to_cents(net * (100 + rate) / 100) == gross


prices = st.decimals(min_value=Decimal(0), max_value=Decimal(9999), places=2)


@given(prices, prices)
def test_the_fingerprint_changes_exactly_when_something_billomat_holds_changes(
    a: Decimal, b: Decimal
) -> None:
    first = article_spec(product(), variant(price=str(a)), RULES)
    second = article_spec(product(), variant(price=str(b)), RULES)
    assert (first.fingerprint() == second.fingerprint()) == (first.net_price == second.net_price)


def test_stock_and_other_shop_fields_do_not_change_the_fingerprint() -> None:
    spec = article_spec(product(tags=("neu",)), variant(), RULES)
    again = article_spec(product(tags=("neu", "bestseller")), variant(), RULES)
    assert spec.fingerprint() == again.fingerprint()


def test_a_sku_longer_than_a_variant_allows_still_has_a_key() -> None:
    """HubSpot line items allow SKUs of 1,000 characters, shop variants 255: the order and
    deal workers look such a SKU up (it was a ValidationError that failed the deal)."""
    long_sku = "A" * 300
    key = sku_key(long_sku)
    assert key is not None
    assert key.startswith("sku:sha256:")
    assert key == sku_key(f" {long_sku} ")
    assert sku_key("TS-BIO") == "sku:TS-BIO"
