"""Shop product webhooks: Shopify and WooCommerce product bodies become one ShopProduct."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from webhooks.deliveries import validation_problems
from webhooks.product_payloads import (
    DESCRIPTION_LIMIT,
    MAX_TAGS,
    SHORT_TEXT_LIMIT,
    ProductPayloadError,
    bounded,
    html_text,
    tag_names,
)
from webhooks.shopify_products import (
    ShopifyProductDeletion,
    ShopifyProductPayload,
    deleted_shopify_product,
    shop_product_from_shopify,
)
from webhooks.woocommerce_products import (
    WooCommerceProductPayload,
    deleted_woocommerce_product,
    is_deletion,
    product_kind,
    shop_product_from_woocommerce,
)

from autopilot.messages import ShopProductMessage, message_body, parse_message
from autopilot.shop_products import ShopProduct, sku_key

ROOT = Path(__file__).resolve().parents[2]
SHOP = "demo-shop.myshopify.com"
SITE = "shop.example.de"
RECEIVED = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def sample_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((ROOT / "events" / name).read_text("utf-8"))["body"]
    return body


SHOPIFY_COFFEE = sample_body("shopify/product-create-variants.json")
SHOPIFY_STOCK_ONLY = sample_body("shopify/product-update-stock-only.json")
SHOPIFY_TSHIRT = sample_body("shopify/product-create-single.json")
WOO_SIMPLE = sample_body("woocommerce/product-simple.json")
WOO_VARIATION = sample_body("woocommerce/product-variation.json")
WOO_DELETED = sample_body("woocommerce/product-deleted.json")


def shopify(body: dict[str, Any]) -> ShopProduct:
    return shop_product_from_shopify(ShopifyProductPayload.model_validate(body), SHOP)


def woo(body: dict[str, Any], topic: str = "product.updated") -> ShopProduct:
    payload = WooCommerceProductPayload.model_validate(body)
    if is_deletion(payload, topic):
        return deleted_woocommerce_product(payload, SITE, topic, received_at=RECEIVED)
    return shop_product_from_woocommerce(payload, SITE, topic)


def changed(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    result = copy.deepcopy(body)
    result.update(fields)
    return result


def bad_fields(model: type[Any], body: Any) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {problem["field"] for problem in validation_problems(caught.value)}


# --------------------------------------------------------------------------------------------
# Shopify
# --------------------------------------------------------------------------------------------


def test_shopify_product_with_two_variants_becomes_two_sellable_variants() -> None:
    product = shopify(SHOPIFY_COFFEE)
    assert product.reference == f"shopify:{SHOP}:product:8123456789101"
    assert product.title == "Kaffee Hausmischung"
    assert product.product_type == "Kaffee"
    assert product.tags == ("Bio", "Fairtrade", "Kaffee")
    assert product.updated_at == dt.datetime(2025, 1, 10, 8, 0, tzinfo=dt.UTC)
    assert product.currency is None
    assert not product.deleted
    assert [(v.variant_id, v.sku, v.title, v.price, v.taxable) for v in product.variants] == [
        ("44123456789101", "KAF-HM-250", "250 g", Decimal("8.90"), True),
        ("44123456789102", "KAF-HM-500", "500 g", Decimal("15.90"), True),
    ]
    assert [product.variant_key(v) for v in product.variants] == [
        "sku:KAF-HM-250",
        "sku:KAF-HM-500",
    ]


def test_shopify_description_is_plain_text() -> None:
    assert shopify(SHOPIFY_COFFEE).description == (
        "Unsere Hausmischung: mild geröstet, nussig & schokoladig.\n\n"
        "- 100 % Arabica\n- ganze Bohne"
    )


def test_stock_only_update_converts_to_the_same_product_with_a_later_time() -> None:
    before, after = shopify(SHOPIFY_COFFEE), shopify(SHOPIFY_STOCK_ONLY)
    assert after.updated_at > before.updated_at
    assert after.model_dump(exclude={"updated_at"}) == before.model_dump(exclude={"updated_at"})


def test_default_title_variant_has_no_variant_title() -> None:
    product = shopify(SHOPIFY_TSHIRT)
    [variant] = product.variants
    assert variant.title is None
    assert product.variant_key(variant) == sku_key("TS-BIO")


def test_shopify_sample_shares_a_sku_with_an_order_sample() -> None:
    order_skus = {
        line["sku"]
        for path in (ROOT / "events" / "shopify").glob("order-*.json")
        for line in json.loads(path.read_text("utf-8"))["body"].get("line_items", [])
    }
    product_skus = {
        variant.sku
        for body in (SHOPIFY_COFFEE, SHOPIFY_TSHIRT)
        for variant in shopify(body).variants
    }
    assert "TS-BIO" in order_skus & product_skus


@pytest.mark.parametrize("status", ["draft", "archived", "DRAFT"])
def test_shopify_product_not_on_sale_has_no_variants(status: str) -> None:
    product = shopify(changed(SHOPIFY_COFFEE, status=status))
    assert product.variants == ()
    assert not product.deleted


@pytest.mark.parametrize("status", ["active", "unlisted", None])
def test_shopify_product_on_sale_keeps_its_variants(status: str | None) -> None:
    assert len(shopify(changed(SHOPIFY_COFFEE, status=status)).variants) == 2


def test_shopify_deletion_is_a_deleted_product_as_of_receipt() -> None:
    payload = ShopifyProductDeletion.model_validate({"id": 8123456789101})
    product = deleted_shopify_product(payload, SHOP, received_at=RECEIVED)
    assert product.deleted
    assert product.title == "(gelöscht)"
    assert product.variants == ()
    assert product.updated_at == RECEIVED
    assert product.reference == f"shopify:{SHOP}:product:8123456789101"


def test_shopify_untaxable_variant_and_missing_flags() -> None:
    body = copy.deepcopy(SHOPIFY_COFFEE)
    body["variants"][0]["taxable"] = False
    del body["variants"][1]["taxable"]
    body["variants"][1]["sku"] = ""
    first, second = shopify(body).variants
    assert first.taxable is False
    assert second.taxable is True
    assert second.sku is None
    assert shopify(body).variant_key(second) == f"shopify:{SHOP}:variant:44123456789102"


def test_shopify_tags_as_a_list_or_with_blanks_and_repeats() -> None:
    assert shopify(changed(SHOPIFY_COFFEE, tags=" Bio, ,Bio,  Kaffee ")).tags == ("Bio", "Kaffee")
    assert shopify(changed(SHOPIFY_COFFEE, tags=["Bio", None, ""])).tags == ("Bio",)
    assert shopify(changed(SHOPIFY_COFFEE, tags="")).tags == ()


def test_shopify_texts_are_fitted_not_refused() -> None:
    product = shopify(changed(SHOPIFY_COFFEE, title="Kaffee " * 100, product_type="x" * 300))
    assert len(product.title) <= SHORT_TEXT_LIMIT
    assert product.title.endswith("Kaffee…")
    assert product.product_type is not None
    assert len(product.product_type) == SHORT_TEXT_LIMIT


def test_shopify_blank_title_gets_a_stand_in() -> None:
    assert shopify(changed(SHOPIFY_COFFEE, title=" ")).title == "Produkt 8123456789101"


def test_shopify_price_with_many_places_is_rounded_to_four() -> None:
    body = copy.deepcopy(SHOPIFY_COFFEE)
    body["variants"][0]["price"] = "8.123456"
    body["variants"][1]["price"] = 15
    first, second = shopify(body).variants
    assert first.price == Decimal("8.1235")
    assert second.price == Decimal(15)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["variants"][0].update(price="-1.00"), "variants.0.price"),
        (lambda b: b["variants"][0].update(price="acht"), "variants.0.price"),
        (lambda b: b["variants"][0].update(price="100000000"), "variants.0.price"),
        (lambda b: b["variants"][0].update(price="NaN"), "variants.0.price"),
        (lambda b: b["variants"][0].update(price=None), "variants.0.price"),
        (lambda b: b["variants"][1].update(sku="S" * 256), "variants.1.sku"),
        (lambda b: b["variants"][1].update(id=1.5), "variants.1.id"),
        (lambda b: b["variants"][1].update(id="a b"), "variants.1.id"),
        (lambda b: b.update(id=8.1e12), "id"),
        (lambda b: b.update(variants=[]), "variants"),
        (lambda b: b.pop("variants"), "variants"),
        (lambda b: b.pop("updated_at"), "updated_at"),
        (lambda b: b.update(updated_at="2025-01-10T09:00:00"), "updated_at"),
        (lambda b: b.update(updated_at="9999-12-31T23:59:59+00:00"), "updated_at"),
        (lambda b: b.update(tags={"a": 1}), "tags.str"),
    ],
)
def test_malformed_shopify_product_names_the_field(change: Any, field: str) -> None:
    body = copy.deepcopy(SHOPIFY_COFFEE)
    change(body)
    fields = bad_fields(ShopifyProductPayload, body)
    assert any(name == field or name.startswith(field + ".") for name in fields), fields


def test_shopify_empty_updated_at_is_refused_by_the_converter() -> None:
    payload = ShopifyProductPayload.model_validate(changed(SHOPIFY_COFFEE, updated_at=""))
    with pytest.raises(ProductPayloadError) as caught:
        shop_product_from_shopify(payload, SHOP)
    assert caught.value.field == "updated_at"


# --------------------------------------------------------------------------------------------
# WooCommerce
# --------------------------------------------------------------------------------------------


def test_woocommerce_simple_product_is_its_own_variant() -> None:
    product = woo(WOO_SIMPLE, "product.created")
    assert product.reference == f"woocommerce:{SITE}:product:301"
    assert product.title == "Kaffeebecher Steingut"
    assert product.description == "Steingut-Becher, 300 ml"
    assert product.product_type == "Zubehör"
    assert product.tags == ("Geschenkidee",)
    assert product.updated_at == dt.datetime(2025, 1, 12, 8, 15, tzinfo=dt.UTC)
    [variant] = product.variants
    assert (variant.variant_id, variant.sku, variant.title) == ("301", "BECHER-01", None)
    assert (variant.price, variant.taxable, variant.tax_class) == (Decimal("12.50"), True, "")


def test_woocommerce_variation_is_a_product_of_its_own_titled_product_and_variant() -> None:
    product = woo(WOO_VARIATION)
    assert product.reference == f"woocommerce:{SITE}:product:214"
    assert product.title == "Grüner Tee"
    [variant] = product.variants
    assert (variant.variant_id, variant.sku, variant.title) == ("214", "TEE-GRUEN-100", "100 g")
    assert (variant.price, variant.tax_class) == (Decimal("6.90"), "reduced-rate")
    assert product.variant_key(variant) == "sku:TEE-GRUEN-100"


def test_woocommerce_variation_with_two_attributes() -> None:
    body = changed(
        WOO_VARIATION,
        name="Grüner Tee - 100 g, lose",
        attributes=[{"name": "Menge", "option": "100 g"}, {"name": "Form", "option": "lose"}],
        sku="",
    )
    product = woo(body)
    assert product.title == "Grüner Tee"
    [variant] = product.variants
    assert variant.title == "100 g, lose"
    assert product.variant_key(variant) == f"woocommerce:{SITE}:variant:214"


def test_woocommerce_variation_whose_name_lacks_its_attributes_keeps_the_name() -> None:
    body = changed(
        WOO_VARIATION,
        name="Grüner Tee",
        attributes=[{"name": "Menge", "option": "100 g"}, {"name": "Form", "option": ""}],
    )
    product = woo(body)
    assert (product.title, product.variants[0].title) == ("Grüner Tee", "100 g")


def test_woocommerce_variation_without_attribute_values_has_no_variant_title() -> None:
    product = woo(changed(WOO_VARIATION, attributes=[]))
    assert (product.title, product.variants[0].title) == ("Grüner Tee - 100 g", None)


@pytest.mark.parametrize("status", ["private", "draft"])
def test_disabled_woocommerce_variation_is_queued_without_its_variant(status: str) -> None:
    product = woo(changed(WOO_VARIATION, status=status))
    assert product.product_id == "214"
    assert product.variants == ()
    assert not product.deleted


def test_woocommerce_variable_product_is_the_parent_without_variants() -> None:
    body = changed(
        WOO_SIMPLE,
        id=210,
        name="Grüner Tee",
        type="variable",
        sku="TEE-GRUEN",
        price="6.90",
        variations=[214, 215],
        attributes=[{"name": "Menge", "options": ["100 g", "250 g"], "variation": True}],
    )
    payload = WooCommerceProductPayload.model_validate(body)
    assert product_kind(payload) == "parent"
    product = woo(body)
    assert (product.product_id, product.title, product.variants) == ("210", "Grüner Tee", ())
    assert product.description == "Steingut-Becher, 300 ml"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("simple", "simple"),
        (None, "simple"),
        ("subscription", "simple"),
        ("variable", "parent"),
        ("variable-subscription", "parent"),
        ("variation", "variation"),
        ("subscription_variation", "variation"),
        ("grouped", "not_sold"),
        ("external", "not_sold"),
    ],
)
def test_woocommerce_product_kinds(kind: str | None, expected: str) -> None:
    payload = WooCommerceProductPayload.model_validate(changed(WOO_SIMPLE, type=kind))
    assert product_kind(payload) == expected
    sellable = expected in {"simple", "variation"}
    assert len(woo(changed(WOO_SIMPLE, type=kind)).variants) == sellable


@pytest.mark.parametrize("status", ["draft", "pending", "private", "future", "auto-draft"])
def test_woocommerce_product_not_published_is_not_sellable(status: str) -> None:
    product = woo(changed(WOO_SIMPLE, status=status))
    assert product.variants == ()
    assert not product.deleted


def test_woocommerce_product_in_the_trash_is_deleted_as_of_trashing() -> None:
    body = changed(WOO_SIMPLE, status="trash", date_modified_gmt="2025-01-20T07:00:00")
    product = woo(body, "product.updated")
    assert product.deleted
    assert product.variants == ()
    assert product.title == "Kaffeebecher Steingut"
    assert product.updated_at == dt.datetime(2025, 1, 20, 7, 0, tzinfo=dt.UTC)


def test_woocommerce_deletion_with_only_the_id_is_deleted_as_of_receipt() -> None:
    product = woo(WOO_DELETED, "product.deleted")
    assert product.reference == f"woocommerce:{SITE}:product:250"
    assert product.deleted
    assert product.title == "(gelöscht)"
    assert product.updated_at == RECEIVED


def test_woocommerce_deletion_with_a_full_body_is_still_as_of_receipt() -> None:
    """Its date_modified_gmt is the last change before the deletion, not the deletion."""
    product = woo(WOO_SIMPLE, "product.deleted")
    assert product.deleted
    assert product.updated_at == RECEIVED


def test_woocommerce_restored_product_is_an_ordinary_upsert() -> None:
    product = woo(WOO_SIMPLE, "product.restored")
    assert not product.deleted
    assert len(product.variants) == 1


@pytest.mark.parametrize(
    ("price", "regular_price", "expected"),
    [
        ("8.00", "10.00", Decimal("8.00")),  # on sale: the price the shop sells at now
        ("", "9.99", Decimal("9.99")),
        (12.5, "", Decimal("12.5")),
        ("0", "", Decimal("0")),
    ],
)
def test_woocommerce_price(price: Any, regular_price: str, expected: Decimal) -> None:
    product = woo(changed(WOO_SIMPLE, price=price, regular_price=regular_price))
    assert product.variants[0].price == expected


def test_woocommerce_product_without_a_price_is_not_sellable() -> None:
    assert woo(changed(WOO_SIMPLE, price="", regular_price="")).variants == ()
    assert woo(changed(WOO_VARIATION, price=None, regular_price=None)).variants == ()


@pytest.mark.parametrize(
    ("tax_status", "taxable"),
    [("taxable", True), ("shipping", False), ("none", False), (None, True), ("", True)],
)
def test_woocommerce_tax_status(tax_status: str | None, taxable: bool) -> None:
    assert woo(changed(WOO_SIMPLE, tax_status=tax_status)).variants[0].taxable is taxable


@pytest.mark.parametrize(
    ("tax_class", "expected"),
    [("", ""), ("reduced-rate", "reduced-rate"), ("zero-rate", "zero-rate"), ("parent", None)],
)
def test_woocommerce_tax_class(tax_class: str, expected: str | None) -> None:
    assert woo(changed(WOO_VARIATION, tax_class=tax_class)).variants[0].tax_class == expected


def test_woocommerce_times_are_utc_and_created_stands_in_for_modified() -> None:
    assert woo(changed(WOO_SIMPLE, date_modified_gmt=None)).updated_at == dt.datetime(
        2025, 1, 12, 8, 15, tzinfo=dt.UTC
    )
    offset = woo(changed(WOO_SIMPLE, date_modified_gmt="2025-01-12T10:15:00+02:00"))
    assert offset.updated_at == dt.datetime(2025, 1, 12, 8, 15, tzinfo=dt.UTC)


def test_woocommerce_update_without_any_time_names_date_modified() -> None:
    payload = WooCommerceProductPayload.model_validate(
        changed(WOO_SIMPLE, date_modified_gmt="", date_created_gmt=None)
    )
    with pytest.raises(ProductPayloadError) as caught:
        shop_product_from_woocommerce(payload, SITE, "product.updated")
    assert caught.value.field == "date_modified_gmt"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "-5"}, "price"),
        ({"regular_price": "zwölf"}, "regular_price"),
        ({"sku": "S" * 256}, "sku"),
        ({"id": None}, "id"),
        ({"id": ""}, "id"),
        ({"date_modified_gmt": "2025-02-30T00:00:00"}, "date_modified_gmt"),
        ({"categories": "Zubehör"}, "categories"),
        ({"attributes": [{"option": ["a"]}]}, "attributes.0.option"),
        ({"tags": [{"name": {"x": 1}}]}, "tags.0.name"),
    ],
)
def test_malformed_woocommerce_product_names_the_field(change: dict[str, Any], field: str) -> None:
    fields = bad_fields(WooCommerceProductPayload, changed(WOO_SIMPLE, **change))
    assert any(name == field or name.startswith(field + ".") for name in fields), fields


def test_woocommerce_deletion_needs_only_the_id() -> None:
    assert bad_fields(WooCommerceProductPayload, {}) == {"id"}


# --------------------------------------------------------------------------------------------
# Every conversion is a message the worker can read
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "product",
    [
        shopify(SHOPIFY_COFFEE),
        shopify(SHOPIFY_TSHIRT),
        woo(WOO_SIMPLE),
        woo(WOO_VARIATION),
        woo(WOO_DELETED, "product.deleted"),
    ],
    ids=["shopify-variants", "shopify-single", "woo-simple", "woo-variation", "woo-deleted"],
)
def test_converted_products_round_trip_as_queue_messages(product: ShopProduct) -> None:
    message = ShopProductMessage(topic="products/update", product=product)
    assert parse_message(message_body(message)) == message


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
skus = st.one_of(
    st.none(),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40
    ).filter(str.strip),
)
variant_titles = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=300
)
ids = st.integers(min_value=1, max_value=2**63 - 1)


@st.composite
def shopify_bodies(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=20))
    variant_ids = draw(st.lists(ids, min_size=count, max_size=count, unique=True))
    variants = [
        {
            "id": variant_id,
            "title": draw(variant_titles),
            "sku": draw(skus),
            "price": draw(st.one_of(prices.map(str), prices)),
            "taxable": draw(st.sampled_from([True, False, None])),
        }
        for variant_id in variant_ids
    ]
    return {
        "id": draw(ids),
        "title": draw(variant_titles),
        "body_html": draw(st.one_of(st.none(), st.text(max_size=500))),
        "tags": draw(st.text(max_size=300)),
        "status": draw(st.sampled_from(["active", "unlisted", None])),
        "updated_at": "2025-01-10T09:00:00+01:00",
        "variants": variants,
    }


@settings(max_examples=200, deadline=None)
@given(body=shopify_bodies())
def test_every_shopify_variant_survives_with_its_price_and_sku(body: dict[str, Any]) -> None:
    product = shopify(body)
    assert len(product.variants) == len(body["variants"])
    for sent, variant in zip(body["variants"], product.variants, strict=True):
        assert variant.variant_id == str(sent["id"])
        assert variant.price == Decimal(str(sent["price"]))
        assert variant.sku == (sent["sku"].strip() if sent["sku"] else None)
        assert variant.taxable is (sent["taxable"] is not False)
        assert variant.title is None or len(variant.title) <= SHORT_TEXT_LIMIT
    assert len(product.title) <= SHORT_TEXT_LIMIT
    message = ShopProductMessage(topic="products/update", product=product)
    assert parse_message(message_body(message)) == message


@settings(max_examples=200, deadline=None)
@given(
    product_id=ids,
    price=prices,
    sku=skus,
    kind=st.sampled_from(["simple", "variation"]),
    options=st.lists(st.text(max_size=30), max_size=3),
    tax_class=st.sampled_from(["", "reduced-rate", "zero-rate", "parent", None]),
)
def test_every_sellable_woocommerce_product_keeps_its_price(
    product_id: int,
    price: Decimal,
    sku: str | None,
    kind: str,
    options: list[str],
    tax_class: str | None,
) -> None:
    body = {
        "id": product_id,
        "name": "Tee",
        "type": kind,
        "status": "publish",
        "sku": sku,
        "price": str(price),
        "regular_price": str(price),
        "tax_class": tax_class,
        "parent_id": 210 if kind == "variation" else 0,
        "attributes": [{"name": "Attribut", "option": option} for option in options],
        "date_modified_gmt": "2025-01-14T15:20:00",
    }
    product = woo(body)
    [variant] = product.variants
    assert product.product_id == variant.variant_id == str(product_id)
    assert variant.price == price
    assert variant.sku == (sku.strip() if sku else None)


@given(text=st.text(max_size=600), limit=st.integers(min_value=2, max_value=400))
def test_bounded_text_fits_its_limit(text: str, limit: int) -> None:
    result = bounded(text, limit)
    assert result is None or 0 < len(result) <= limit
    if result is not None and len(text.strip()) <= limit and text.isprintable():
        assert result == text.strip()


@given(tags=st.lists(st.one_of(st.none(), st.text(max_size=400)), max_size=400))
def test_tags_are_unique_bounded_and_at_most_250(tags: list[str | None]) -> None:
    result = tag_names(tags)
    assert len(result) == len(set(result)) <= MAX_TAGS
    assert all(0 < len(tag) <= SHORT_TEXT_LIMIT for tag in result)


words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)


@given(paragraphs=st.lists(st.lists(words, min_size=1, max_size=8), min_size=1, max_size=6))
def test_plain_text_in_paragraphs_survives_html_stripping(paragraphs: list[list[str]]) -> None:
    html = "".join(f"<p class='x'>{' '.join(p)}</p>" for p in paragraphs)
    expected = "\n\n".join(" ".join(p) for p in paragraphs)
    assert html_text(html, limit=10_000) == expected


@given(html=st.text(max_size=3000))
def test_html_text_is_bounded_plain_text_for_any_input(html: str) -> None:
    result = html_text(html, limit=500)
    assert result is None or 0 < len(result) <= 500
    assert result is None or not any(ord(c) < 32 and c not in "\n\t" for c in result)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Kräftig &amp; mild</p>", "Kräftig & mild"),
        ("Zeile 1<br>Zeile 2<br/>Zeile 3", "Zeile 1\nZeile 2\nZeile 3"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
        ("<script>alert(1)</script><STYLE>p{}</style>Text", "Text"),
        ("<!-- Kommentar -->Text<!-- offen", "Text"),
        ("a < b &gt; c", "a < b > c"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("Text&nbsp;&nbsp; mit   Lücken", "Text mit Lücken"),
        ("<p></p><div> </div>", None),
        ("", None),
        ("<a href='x'", "<a href='x'"),
    ],
)
def test_html_text_examples(html: str, text: str | None) -> None:
    assert html_text(html) == text


def test_long_description_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = html_text("<p>" + "Wort " * 1000 + "</p>")
    assert text is not None
    assert len(text) <= DESCRIPTION_LIMIT
    assert text.endswith("Wort…")


@pytest.mark.parametrize(
    "html",
    [
        "<a " * 6600,
        '<a b="' * 3300,
        "<!--" * 5000,
        "<" * 20000,
        "</" * 10000,
        "<script>" * 2500,
        "<p>" * 6600,
        "&#" * 10000,
    ],
)
def test_hostile_html_is_stripped_in_linear_time(html: str) -> None:
    started = time.perf_counter()
    html_text(html)
    assert time.perf_counter() - started < 0.2
