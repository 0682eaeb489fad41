"""Shop CSV exports → ShopProducts: both formats, variants, parents, bad rows (never a crash)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from article_sync.catalogue_csv import (
    CATALOGUE_UPDATED_AT,
    CatalogueEntry,
    CatalogueError,
    RowProblem,
    parse_price,
    read_catalogue,
    woocommerce_kind,
)
from article_sync.mapping import ArticleRules, article_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from autopilot.shop_products import ShopProduct

ROOT = Path(__file__).resolve().parents[2]
SHOPIFY_SAMPLE = ROOT / "events" / "catalogue" / "shopify-products.csv"
WOO_SAMPLE = ROOT / "events" / "catalogue" / "woocommerce-products.csv"
SHOPIFY_SHOP = "demo-shop.myshopify.com"
WOO_SHOP = "https://shop.example.de/"

SHOPIFY_HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Type",
    "Tags",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Variant SKU",
    "Variant Price",
    "Variant Taxable",
    "Image Src",
    "Status",
]
WOO_HEADER = [
    "ID",
    "Type",
    "SKU",
    "Name",
    "Published",
    "Short description",
    "Description",
    "Date sale price starts",
    "Date sale price ends",
    "Tax status",
    "Tax class",
    "Sale price",
    "Regular price",
    "Categories",
    "Tags",
    "Parent",
    "Attribute 1 name",
    "Attribute 1 value(s)",
]


def csv_text(header: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in header})
    return out.getvalue()


def read(text: str, source: str = "shopify", **kwargs: object) -> list[CatalogueEntry]:
    shop = SHOPIFY_SHOP if source == "shopify" else WOO_SHOP
    return list(read_catalogue(io.StringIO(text, newline=""), source, shop, **kwargs))  # type: ignore[arg-type]


def read_file(path: Path, source: str, **kwargs: object) -> list[CatalogueEntry]:
    shop = SHOPIFY_SHOP if source == "shopify" else WOO_SHOP
    with path.open(encoding="utf-8-sig", newline="") as lines:
        return list(read_catalogue(lines, source, shop, **kwargs))  # type: ignore[arg-type]


def products(entries: Iterable[CatalogueEntry]) -> dict[str, ShopProduct]:
    return {e.product_id: e for e in entries if isinstance(e, ShopProduct)}


def problems(entries: Iterable[CatalogueEntry]) -> list[str]:
    return [str(e) for e in entries if isinstance(e, RowProblem)]


def shopify_row(handle: str, **cells: str) -> dict[str, str]:
    names = {
        "title": "Title",
        "body": "Body (HTML)",
        "type": "Type",
        "tags": "Tags",
        "o1": "Option1 Value",
        "o2": "Option2 Value",
        "sku": "Variant SKU",
        "price": "Variant Price",
        "taxable": "Variant Taxable",
        "image": "Image Src",
        "status": "Status",
    }
    return {"Handle": handle, **{names[key]: value for key, value in cells.items()}}


# -- the sample exports in events/catalogue --------------------------------------------------


def test_the_shopify_sample_gives_its_products_variants_and_one_skipped_row() -> None:
    entries = read_file(SHOPIFY_SAMPLE, "shopify")
    found = products(entries)
    assert list(found) == [
        "kaffee-hausmischung",
        "espresso-crema",
        "kaffeefilter-papier-102",
        "geschenkgutschein",
        "das-kaffee-kochbuch",
        "handfilter-keramik",
        "wintermischung",
    ]
    coffee = found["kaffee-hausmischung"]
    assert coffee.reference == "shopify:demo-shop.myshopify.com:product:kaffee-hausmischung"
    assert [(v.sku, v.title, v.price) for v in coffee.variants] == [
        ("KAF-HM-250", "250 g", Decimal("8.90")),
        ("KAF-HM-500", "500 g", Decimal("15.90")),
    ]
    assert coffee.tags == ("Bio", "Fairtrade", "Kaffee")
    assert coffee.product_type == "Kaffee"
    assert coffee.updated_at == CATALOGUE_UPDATED_AT
    assert coffee.description is not None
    assert coffee.description.startswith("Unsere Hausmischung:")
    espresso = found["espresso-crema"]
    assert [v.title for v in espresso.variants] == [
        "250 g / ganze Bohne",
        "250 g / gemahlen",
        "1 kg / ganze Bohne",
    ]
    assert found["kaffeefilter-papier-102"].variants[0].title is None  # "Default Title"
    assert len(found["handfilter-keramik"].variants) == 2  # the image rows are no variants
    voucher = found["geschenkgutschein"]
    assert [(v.variant_id, v.sku, v.taxable) for v in voucher.variants] == [
        ("geschenkgutschein.25", None, False),
        ("geschenkgutschein.50", None, False),
    ]
    assert voucher.variant_key(voucher.variants[0]) == (
        "shopify:demo-shop.myshopify.com:variant:geschenkgutschein.25"
    )
    assert found["wintermischung"].variants == ()  # a draft is not on sale
    # the espresso's description spans two lines: rows are counted like a spreadsheet shows them
    assert problems(entries) == [
        "row 17: Variant Price 'neunundvierzig' is not a price "
        "(product 'milchaufschaeumer' skipped)"
    ]


def test_the_woocommerce_sample_gives_products_and_variations_and_two_skipped_rows() -> None:
    entries = read_file(WOO_SAMPLE, "woocommerce", today=dt.date(2026, 11, 25))
    found = products(entries)
    assert set(found) == {
        *("301", "210", "230", "220", "240", "280", "250", "260"),
        *("214", "215", "221", "222"),  # the variations: products of their own, as webhooks
    }
    assert all(p.shop == "shop.example.de" for p in found.values())
    assert found["210"].variants == ()  # the variable parent: not sellable itself
    assert found["210"].title == "Grüner Tee"
    tea = [found["214"], found["215"]]
    assert [p.title for p in tea] == ["Grüner Tee", "Grüner Tee"]  # " - 100 g" taken off
    assert [
        (v.variant_id, v.sku, v.title, v.price, v.tax_class) for p in tea for v in p.variants
    ] == [
        ("214", "TEE-GRUEN-100", "100 g", Decimal("6.90"), "reduced-rate"),  # "parent" resolved
        ("215", "TEE-GRUEN-250", "250 g", Decimal("14.90"), "reduced-rate"),
    ]
    # variations naming their parent by its SKU; one of them disabled
    assert [(v.sku, v.price) for v in found["221"].variants] == [
        ("TEE-FRUCHT-100", Decimal("4.90"))
    ]
    assert found["222"].variants == ()
    assert found["230"].variants[0].price == Decimal("19.90")  # the sale price
    assert found["240"].variants[0].sku is None
    assert found["280"].variants[0].taxable is False  # tax status none
    assert found["250"].variants == ()  # draft
    assert found["260"].variants == ()  # external
    assert found["301"].product_type == "Zubehör"
    assert problems(entries) == [
        "row 14: Regular price '12.5O' is not a price "
        "(product 270 'Milchkännchen Edelstahl' skipped)",
        "row 15: Tax class 'parent', but its parent is not in the file (Parent 'id:290'; export "
        "the variable product together with its variations) "
        "(product 291 'Trinkschokolade - 250 g' skipped)",
    ]


def test_the_csv_gives_the_same_articles_as_the_webhook_samples() -> None:
    from webhooks.shopify_products import ShopifyProductPayload, shop_product_from_shopify
    from webhooks.woocommerce_products import (
        WooCommerceProductPayload,
        shop_product_from_woocommerce,
    )

    rules = ArticleRules()
    from_csv = {}
    for path, source in ((SHOPIFY_SAMPLE, "shopify"), (WOO_SAMPLE, "woocommerce")):
        for product in products(read_file(path, source)).values():
            for variant in product.variants:
                spec = article_spec(product, variant, rules)
                from_csv[spec.key] = spec.fingerprint()
    events = ROOT / "events"
    body = json.loads((events / "shopify/product-create-variants.json").read_text())["body"]
    webhook = [shop_product_from_shopify(ShopifyProductPayload.model_validate(body), SHOPIFY_SHOP)]
    for name in ("product-simple.json", "product-variation.json"):
        body = json.loads((events / "woocommerce" / name).read_text())["body"]
        payload = WooCommerceProductPayload.model_validate(body)
        webhook.append(shop_product_from_woocommerce(payload, "shop.example.de", "product.updated"))
    compared = 0
    for product in webhook:
        for variant in product.variants:
            spec = article_spec(product, variant, rules)
            assert from_csv[spec.key] == spec.fingerprint(), spec.key
            compared += 1
    assert compared == 4  # KAF-HM-250, KAF-HM-500, BECHER-01, TEE-GRUEN-100


# -- Shopify ---------------------------------------------------------------------------------


def test_a_shopify_variant_without_sku_gets_handle_and_options_as_its_id() -> None:
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row("tshirt", title="T-Shirt", o1="Größe L", o2="Grün", price="20"),
            shopify_row("tshirt", o1="Größe M", o2="Grün", price="20"),
            shopify_row("mug", title="Becher", o1="Default Title", price="9"),
        ],
    )
    found = products(read(text))
    assert [v.variant_id for v in found["tshirt"].variants] == [
        "tshirt.grosse-l-grun",
        "tshirt.grosse-m-grun",
    ]
    assert found["mug"].variants[0].variant_id == "mug"


def test_a_long_handle_and_long_options_still_make_ids_that_fit() -> None:
    handle = "h" * 80
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row(handle, title="Lang", o1="x" * 70, price="1"),
            shopify_row(handle, o1="y" * 70, price="1"),
        ],
    )
    (product,) = products(read(text)).values()
    assert len(product.product_id) <= 64
    ids = [v.variant_id for v in product.variants]
    assert len(set(ids)) == 2
    assert all(len(i) <= 64 for i in ids)


def test_the_same_options_twice_skip_the_product() -> None:
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row("tee", title="Tee", o1="100 g", price="5"),
            shopify_row("tee", o1="100 g", price="6"),
        ],
    )
    entries = read(text)
    assert products(entries) == {}
    assert problems(entries) == ["row 3: the same options as row 2 (product 'tee' skipped)"]


def test_a_sku_of_an_earlier_product_skips_the_later_product() -> None:
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row("a", title="A", sku="SKU-1", price="5"),
            shopify_row("b", title="B", sku="SKU-2", price="5"),
            shopify_row("b", o1="groß", sku="SKU-1", price="6"),
        ],
    )
    entries = read(text)
    assert list(products(entries)) == ["a"]
    assert problems(entries) == [
        "row 4: SKU 'SKU-1' already belongs to the product in row 2: one SKU, one article "
        "(product skipped)"
    ]


def test_rows_of_a_handle_after_other_products_are_skipped() -> None:
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row("a", title="A", sku="A-1", price="5"),
            shopify_row("b", title="B", sku="B-1", price="5"),
            shopify_row("a", o1="groß", sku="A-2", price="6"),
        ],
    )
    entries = read(text)
    assert list(products(entries)) == ["a", "b"]
    assert len(problems(entries)) == 1
    assert problems(entries)[0].startswith("row 4: more rows of handle 'a' after other products")


def test_any_bad_row_skips_its_whole_product_and_only_it() -> None:
    text = csv_text(
        SHOPIFY_HEADER,
        [
            shopify_row("a", title="A", o1="klein", sku="A-1", price="5"),
            shopify_row("a", o1="groß", sku="A-2", price="-1"),
            shopify_row("b", title="B", sku="B-1", price="1.234,50"),
            shopify_row("c", title="C", sku="C-1", price=""),
            shopify_row("", title="ohne Handle", price="3"),
        ],
    )
    entries = read(text)
    assert list(products(entries)) == ["b"]
    assert products(entries)["b"].variants[0].price == Decimal("1234.50")
    assert problems(entries) == [
        "row 3: Variant Price '-1' is negative (product 'a' skipped)",
        "row 5: a variant without Variant Price (product 'c' skipped)",
        # a row without handle may have been one of the product's variants: it is skipped too
        "row 6: no Handle (product 'c' skipped)",
    ]


def test_an_unreadable_row_is_a_problem_and_the_file_goes_on() -> None:
    header = ",".join(SHOPIFY_HEADER)
    text = f'{header}\na,A,,,,,,,,A-1,5,,,\nb,"B"x,,,,,,,,B-1,5,,,\nc,C,,,,,,,,C-1,5,,,\n'
    entries = read(text)
    assert list(products(entries)) == ["c"]  # a is skipped with b's unreadable row
    assert problems(entries)[0].startswith("row 3: not readable as CSV")


# -- WooCommerce -----------------------------------------------------------------------------


def test_german_column_names_and_a_parent_by_sku() -> None:
    text = (
        "ID,Typ,Artikelnummer,Name,Veröffentlicht,Steuerstatus,Steuerklasse,Angebotspreis,"
        "Regulärer Preis,Übergeordnetes Produkt,Attribut 1 Name,Attribut 1 Wert(e)\n"
        "10,variable,HONIG,Honig,1,taxable,reduced-rate,,,,,\n"
        '11,variation,HONIG-250,Honig - 250 g,1,,parent,,"5,90",HONIG,Menge,250 g\n'
        '12,simple,GLAS,Glas,1,taxable,,,"2,00",,,\n'
    )
    found = products(read(text, "woocommerce"))
    assert found["10"].variants == ()
    assert found["11"].title == "Honig"
    honey = found["11"].variants[0]
    assert (honey.sku, honey.title, honey.price, honey.tax_class, honey.taxable) == (
        "HONIG-250",
        "250 g",
        Decimal("5.90"),
        "reduced-rate",
        True,
    )
    assert found["12"].variants[0].price == Decimal("2.00")


@pytest.mark.parametrize(
    ("today", "price"),
    [
        (dt.date(2026, 12, 1), "7.90"),  # in the sale
        (dt.date(2026, 12, 31), "7.90"),  # its last day
        (dt.date(2026, 11, 30), "9.90"),  # before
        (dt.date(2027, 1, 1), "9.90"),  # after
        (None, "7.90"),  # no date to check against: the sale price counts
    ],
)
def test_a_sale_price_counts_while_the_sale_runs(today: dt.date | None, price: str) -> None:
    text = csv_text(
        WOO_HEADER,
        [
            {
                "ID": "5",
                "Type": "simple",
                "Name": "Tee",
                "Regular price": "9.90",
                "Sale price": "7.90",
                "Date sale price starts": "2026-12-01 00:00:00",
                "Date sale price ends": "2026-12-31",
            }
        ],
    )
    (product,) = products(read(text, "woocommerce", today=today)).values()
    assert product.variants[0].price == Decimal(price)


def test_woocommerce_rows_that_cannot_be_products() -> None:
    text = csv_text(
        WOO_HEADER,
        [
            {"ID": "", "Type": "simple", "Name": "ohne ID", "Regular price": "1"},
            {"ID": "7 8", "Type": "simple", "Name": "Leerzeichen", "Regular price": "1"},
            {"ID": "9", "Type": "simple", "Name": "ok", "Regular price": "1"},
            {"ID": "9", "Type": "simple", "Name": "doppelt", "Regular price": "1"},
            {"ID": "20", "Type": "variable", "Name": "Eltern"},
            {"ID": "21", "Type": "variation", "Parent": "id:20", "Regular price": "x"},
            {"ID": "22", "Type": "variation", "Parent": "id:20", "Regular price": "2"},
            {"ID": "30", "Type": "simple", "Name": "Datum", "Regular price": "1"}
            | {"Sale price": "1", "Date sale price starts": "bald"},
        ],
    )
    entries = read(text, "woocommerce", today=dt.date(2026, 1, 1))
    assert list(products(entries)) == ["9", "20", "22"]
    assert problems(entries) == [
        "row 2: no ID (export the products from WooCommerce)",
        "row 3: ID '7 8' is not a WooCommerce id",
        "row 5: ID 9 is also in row 4",
        "row 9: Date sale price starts 'bald' is not a date (product 30 'Datum' skipped)",
        "row 7: Regular price 'x' is not a price (product 21 skipped)",
    ]


def test_a_variation_is_titled_from_its_own_name_without_its_parent() -> None:
    text = csv_text(
        WOO_HEADER,
        [
            {"ID": "21", "Type": "variation", "Name": "Kakao – 250 g, lose", "Parent": "id:20"}
            | {"Regular price": "2", "Attribute 1 value(s)": "250 g, lose"},
            {"ID": "22", "Type": "variation", "Parent": "id:20", "Regular price": "2"}
            | {"Published": "0"},
        ],
    )
    found = products(read(text, "woocommerce"))
    assert (found["21"].title, found["21"].variants[0].title) == ("Kakao", "250 g, lose")
    assert found["22"].title == "Produkt 22"
    assert found["22"].variants == ()  # a disabled variation


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("simple", "simple"),
        ("simple, virtual", "simple"),
        ("subscription", "simple"),
        ("variable", "parent"),
        ("variable-subscription", "parent"),
        ("variation", "variation"),
        ("subscription_variation", "variation"),
        ("grouped", "not_sold"),
        ("external", "not_sold"),
    ],
)
def test_woocommerce_types(text: str, kind: str) -> None:
    assert woocommerce_kind(text) == kind


# -- the file as a whole ---------------------------------------------------------------------


def test_a_file_of_the_other_format_is_refused_before_any_product() -> None:
    with (
        SHOPIFY_SAMPLE.open(encoding="utf-8-sig", newline="") as lines,
        pytest.raises(CatalogueError, match="not a WooCommerce product CSV: no column ID"),
    ):
        list(read_catalogue(lines, "woocommerce", WOO_SHOP))


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("\n\n", "the file is empty"), ('"Handle\n', "not a CSV file")],
)
def test_empty_and_broken_files(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        read(text)


def test_a_file_that_is_not_utf8_is_refused_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = csv_text(SHOPIFY_HEADER, [shopify_row("a", title="Größe", price="1")])
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(CatalogueError, match="the file is not UTF-8"):
        read_file(path, "shopify")


def test_a_shop_that_is_not_a_shop_name_is_refused() -> None:
    with pytest.raises(CatalogueError, match=r"myshopify\.com"):
        list(read_catalogue(io.StringIO("Handle\n"), "shopify", "example.com"))


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("12.50", "12.50"),
        ("12,50", "12.50"),
        ("1.234,50", "1234.50"),
        ("1,234.50", "1234.50"),
        (" 7 ", "7"),
        ("0.123456", "0.1235"),
        ("0", "0"),
    ],
)
def test_prices(text: str, price: str) -> None:
    assert parse_price(text, "Variant Price") == Decimal(price)


# -- properties ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["shopify", "woocommerce"]),
    st.lists(st.text(st.characters(codec="utf-8"), max_size=40), max_size=8),
)
def test_no_file_crashes_the_reader(source: str, lines: list[str]) -> None:
    header = ",".join(SHOPIFY_HEADER if source == "shopify" else WOO_HEADER)
    text = header + "\n" + "\n".join(lines)
    for entry in read(text, source):
        assert isinstance(entry, ShopProduct | RowProblem)


SKU = st.from_regex(r"[A-Z]{2,4}-[0-9]{1,4}", fullmatch=True)
PRICE = st.decimals(min_value=0, max_value=99999, places=2)
OPTION = st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=20).filter(
    lambda text: text.strip() and text.strip() != "Default Title"
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.tuples(OPTION, PRICE), min_size=1, max_size=4)),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_every_shopify_variant_keeps_its_sku_price_and_options(
    catalogue: list[tuple[list[tuple[str, Decimal]]]], data: st.DataObject
) -> None:
    skus = data.draw(
        st.lists(SKU, min_size=sum(len(v) for (v,) in catalogue), unique=True, max_size=24)
    )
    rows, expected, sku_iter = [], {}, iter(skus)
    for number, (variants,) in enumerate(catalogue):
        handle = f"produkt-{number}"
        seen: set[str] = set()
        kept = []
        for option, price in variants:
            if option.strip() in seen:
                continue
            seen.add(option.strip())
            sku = next(sku_iter)
            first = not kept
            rows.append(
                shopify_row(handle, title=f"Produkt {number}" if first else "")
                | {"Option1 Value": option, "Variant SKU": sku, "Variant Price": str(price)}
            )
            kept.append((sku, option.strip(), price))
        expected[handle] = kept
    found = products(read(csv_text(SHOPIFY_HEADER, rows)))
    assert {
        handle: [(v.sku, v.title, v.price) for v in product.variants]
        for handle, product in found.items()
    } == expected


def test_the_import_reads_the_mapping_settings_without_the_workers_other_settings() -> None:
    from autopilot.settings import ConfigurationError

    assert ArticleRules.from_env({}) == ArticleRules()
    rules = ArticleRules.from_env(
        {"ARTICLE_SHOP_PRICES": "net", "SHOPIFY_TAX_OVERRIDES": '{"type:Bücher": 7}'}
    )
    assert rules.shop_prices == "net"
    assert rules.shopify_overrides == {"type:bücher": Decimal(7)}
    with pytest.raises(ConfigurationError, match="ARTICLE_SHOP_PRICES"):
        ArticleRules.from_env({"ARTICLE_SHOP_PRICES": "brutto"})
