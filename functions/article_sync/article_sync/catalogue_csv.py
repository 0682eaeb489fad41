"""A shop's own product CSV export → :class:`ShopProduct`\\ s, for the catalogue import.

Pure and streaming: :func:`read_catalogue` reads the file row by row (``csv`` module) and yields
each product as soon as it is complete, or a :class:`RowProblem` ("row 7: …") for a row it
cannot use. A row problem never stops the file, and a product with any bad row is skipped as a
whole: importing it without that variant would retire the variant's article. Only a file that is
not the format at all (columns missing, not UTF-8, not a shop name) is a :class:`CatalogueError`.
Rows are counted like a spreadsheet shows them: the header is row 1.

The products are what the product webhooks make of the same product (the text rules of
``webhooks.product_payloads`` are used as they are: the same title, variant title and
description give the same article fingerprint), so the article mapping and the
write-only-on-change rule of the article_sync worker apply unchanged.

**Shopify** (*Products › Export*, "CSV for Excel, Numbers, or other spreadsheet programs" or the
plain CSV): one row per variant; the rows of one product share its ``Handle`` and follow each
other, and its first row holds ``Title``, ``Body (HTML)``, ``Type``, ``Tags`` and ``Status``. A
row with only image columns (no option value, SKU or price) is an image, not a variant. The
variant's title is its option values joined by " / " like Shopify's own ("500 g / gemahlen";
"Default Title" of a product without options is no title). ``Status`` ``draft`` or ``archived``:
not on sale, the product comes without variants (as from the webhook). ``Variant Taxable``
``FALSE``: 0 %.

The export holds **no numeric ids**: the product id is the handle. Articles are keyed by SKU,
so a product's articles are the same whether the CSV or a webhook brings them. A variant
**without SKU** is keyed by its variant id, here the handle plus its option values
(``kaffee-hausmischung.500-g``); Shopify's webhooks key it by Shopify's numeric variant id, so
such a variant would get a second article from its first webhook: give variants SKUs before
importing. For the same reason a ``products/delete`` webhook finds the articles of a product
that was only ever imported (never updated through a webhook) under another product id and
leaves them alone.

**WooCommerce** (*Products › Export*; English or German column names): one row per product
and per variation, each its own :class:`ShopProduct` with the row's ``ID``, exactly as the
webhook delivers them. ``Type`` ``simple`` (also ``simple, virtual`` and the like, and types this
module does not know) has one variant, the product itself; ``variable`` is the parent, without a
sellable variant; a ``variation`` has its one variant, the product title is its ``Name``
without the " - 100 g" WooCommerce appends, the variant title its attribute values joined by
", ". Variations are read after the last row, since ``Parent`` (``id:123`` or the parent's
SKU) may come later; the parent gives the variation's ``Tax class`` ``parent`` and an empty
``Tax status`` (a variation with class ``parent`` whose parent is not in the file is skipped).
``grouped`` and ``external`` products are not sold by the shop: no variants. ``Published`` 1 is
on sale; 0 (private, a disabled variation) and -1 (draft) are not, nor is a product without a
price. The price is the sale price while a sale runs (its dates, when given, are checked
against ``today``), else the regular price. ``Tax status`` ``none`` or ``shipping``: 0 %.
Prices may have a decimal comma ("12,50").

**updated_at**: CSV rows carry no change time. Every product gets :data:`CATALOGUE_UPDATED_AT`
(2000-01-01T00:00:00Z): any webhook delivery is newer and wins over the import (an import
after it changes nothing and is reported as stale), while importing the same file again is
not older than the last import: it is carried out and writes only what changed.

**Checks across the file**: a SKU (more exactly an article key) used by two products would make
them fight over one article; the later product is skipped. A handle whose rows do not follow
each other, an ID given twice: skipped, with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import ValidationError

from autopilot.money import parse_amount
from autopilot.shop_identity import UnknownShopError, shopify_domain, woocommerce_site
from autopilot.shop_products import (
    MAX_VARIANTS,
    PRICE_LIMIT,
    ProductSource,
    ProductVariant,
    ShopProduct,
)

CATALOGUE_UPDATED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""The ``updated_at`` of every imported product (see the module docstring)."""

CatalogueFormat = ProductSource
FORMATS: tuple[CatalogueFormat, ...] = ("shopify", "woocommerce")

MAX_ROWS_PER_PRODUCT = 10_000
"""Rows of one Shopify handle (variants and images) held before the product is given up."""
MAX_HELD_ROWS = 200_000
"""WooCommerce variable products and variations held (for each other) until the end."""
MAX_ROW_CELLS = 1_000
"""Cells of a row that are read (an export has about 60)."""
ID_LIMIT = 64
_ID = re.compile(r"[0-9A-Za-z_.:-]{1,64}")
PRICE_PLACES = Decimal("0.0001")


class CatalogueError(ValueError):
    """The file as a whole cannot be read as the format (the message says why)."""


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be used, and why; the product it belongs to is skipped."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


type CatalogueEntry = ShopProduct | RowProblem


def shop_identity(source: CatalogueFormat, shop: str) -> str:
    """The shop's identity as the webhooks have it (``name.myshopify.com``, the site's host)."""
    try:
        return shopify_domain(shop) if source == "shopify" else woocommerce_site(shop)
    except UnknownShopError as exc:
        raise CatalogueError(str(exc)) from None


def read_catalogue(
    lines: Iterable[str],
    source: CatalogueFormat,
    shop: str,
    *,
    today: dt.date | None = None,
) -> Iterator[CatalogueEntry]:
    """The products (and row problems) of a CSV export, in file order as far as possible.

    ``lines``: the file opened with ``encoding="utf-8-sig", newline=""``. ``today`` decides
    whether a WooCommerce sale with dates runs; None: a sale price counts whenever it is set.
    Raises :class:`CatalogueError` for a file that is not the format (before any product when
    the header is wrong; an encoding error where it is found).
    """
    identity = shop_identity(source, shop)
    rows = _Rows(lines, SHOPIFY_COLUMNS if source == "shopify" else WOOCOMMERCE_COLUMNS)
    keys = _KeyRegistry()
    if source == "shopify":
        yield from _shopify(rows, identity, keys)
    else:
        yield from _woocommerce(rows, identity, keys, today)


# --------------------------------------------------------------------------------------------
# Rows and columns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The columns a format needs: our name → the header names it may have (any case)."""

    format: str
    names: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    numbered: re.Pattern[str]
    """Numbered columns (``Option1 Value``, ``Attribute 2 value(s)``): group 1 is the number."""


SHOPIFY_COLUMNS = Columns(
    format="Shopify product CSV",
    names={
        "handle": ("Handle",),
        "title": ("Title",),
        "body": ("Body (HTML)",),
        "type": ("Type",),
        "tags": ("Tags",),
        "status": ("Status",),
        "sku": ("Variant SKU",),
        "price": ("Variant Price",),
        "taxable": ("Variant Taxable",),
    },
    required=("handle", "title", "price"),
    numbered=re.compile(r"option\s*([1-3])\s*value"),
)

WOOCOMMERCE_COLUMNS = Columns(
    format="WooCommerce product CSV",
    names={
        "id": ("ID",),
        "type": ("Type", "Typ"),
        "sku": ("SKU", "Artikelnummer"),
        "name": ("Name",),
        "published": ("Published", "Veröffentlicht"),
        "short_description": ("Short description", "Kurzbeschreibung"),
        "description": ("Description", "Beschreibung"),
        "sale_starts": ("Date sale price starts", "Datum, an dem Angebotspreis beginnt"),
        "sale_ends": ("Date sale price ends", "Datum, an dem Angebotspreis endet"),
        "tax_status": ("Tax status", "Steuerstatus"),
        "tax_class": ("Tax class", "Steuerklasse"),
        "sale_price": ("Sale price", "Angebotspreis"),
        "regular_price": ("Regular price", "Regulärer Preis"),
        "categories": ("Categories", "Kategorien"),
        "tags": ("Tags", "Schlagwörter"),
        "parent": ("Parent", "Übergeordnetes Produkt"),
    },
    required=("id", "type", "name", "regular_price"),
    numbered=re.compile(r"(?:attribute|attribut)\s*(\d{1,2})\s*(?:value\(s\)|wert\(e\))"),
)


@dataclass(frozen=True)
class Row:
    """One data row: its spreadsheet number and its cells by our column names."""

    number: int
    cells: Mapping[str, str]
    numbered: tuple[str, ...] = ()
    """The numbered columns' values in order (option or attribute values)."""

    def get(self, name: str) -> str:
        return self.cells.get(name, "").strip()


def _header_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


class _Rows:
    """The data rows of the file; unreadable ones as problems."""

    def __init__(self, lines: Iterable[str], columns: Columns) -> None:
        self.columns = columns
        self._reader = csv.reader(iter(lines), strict=True)
        self._number = 0
        self._positions: dict[str, int] = {}
        self._numbered: list[int] = []
        self._read_header()

    def _next(self) -> list[str] | None:
        """The next record (None at the end); csv errors pass, a decoding error is fatal."""
        self._number += 1
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            raise CatalogueError(
                "the file is not UTF-8 (export it again from the shop, or save it as "
                "'CSV UTF-8' in a spreadsheet)"
            ) from None

    def _read_header(self) -> None:
        while True:
            try:
                header = self._next()
            except csv.Error as exc:
                raise CatalogueError(f"not a CSV file: {exc}") from None
            if header is None:
                raise CatalogueError("the file is empty")
            if any(cell.strip() for cell in header):
                break
        keys = [_header_key(cell) for cell in header[:MAX_ROW_CELLS]]
        for name, aliases in self.columns.names.items():
            for alias in aliases:
                if _header_key(alias) in keys:
                    self._positions[name] = keys.index(_header_key(alias))
                    break
        numbered: dict[int, int] = {}
        for position, key in enumerate(keys):
            match = self.columns.numbered.fullmatch(key)
            if match:
                numbered.setdefault(int(match.group(1)), position)
        self._numbered = [numbered[number] for number in sorted(numbered)]
        missing = [
            self.columns.names[name][0]
            for name in self.columns.required
            if name not in self._positions
        ]
        if missing:
            raise CatalogueError(
                f"not a {self.columns.format}: no column {', '.join(missing)} in the header"
            )

    def __iter__(self) -> Iterator[Row | RowProblem]:
        while True:
            try:
                record = self._next()
            except csv.Error as exc:
                yield RowProblem(self._number, f"not readable as CSV ({exc})")
                continue
            if record is None:
                return
            if not any(cell.strip() for cell in record[:MAX_ROW_CELLS]):
                continue  # a blank row
            cells = {
                name: record[position]
                for name, position in self._positions.items()
                if position < len(record)
            }
            numbered = tuple(
                record[position].strip() if position < len(record) else ""
                for position in self._numbered
            )
            yield Row(self._number, cells, numbered)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

# The texts follow the webhook intake's rules (``webhooks.product_payloads``), so a product
# gives the same article whether a webhook or the CSV brings it. They are imported on use: the
# import runs from a checkout with every function on the path, while the article_sync Lambda
# package (which holds this module without running it) has no webhooks package.


def bounded(text: str | None) -> str | None:
    """A title, type or tag cleaned and cut to 255 characters with "…" (as the webhooks do)."""
    from webhooks.product_payloads import bounded as webhook_bounded

    return webhook_bounded(text)


def html_text(text: str | None) -> str | None:
    """A product description as bounded plain text (as the webhooks make it)."""
    from webhooks.product_payloads import html_text as webhook_html_text

    return webhook_html_text(text)


def tag_names(names: Iterable[str | None]) -> tuple[str, ...]:
    """Tags without blanks and repeats, each fitted to 255 characters (as the webhooks do)."""
    from webhooks.product_payloads import tag_names as webhook_tag_names

    return webhook_tag_names(names)


class _BadRow(ValueError):
    """A row the product cannot be built from (the message is the reason)."""


def parse_price(text: str, column: str) -> Decimal:
    """A shop's price: ``12.50``, ``12,50``, ``1.234,50`` or ``1,234.50``; >= 0, < 10^8,
    more than four places rounded half up (as the webhooks do)."""
    value = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in value and "." in value:
        thousands = "." if value.rfind(",") > value.rfind(".") else ","
        value = value.replace(thousands, "")
    value = value.replace(",", ".")
    try:
        price = parse_amount(value)
    except ValueError:
        raise _BadRow(f"{column} {_quoted(text)} is not a price") from None
    if price < 0:
        raise _BadRow(f"{column} {_quoted(text)} is negative")
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        price = price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    if price >= PRICE_LIMIT:
        raise _BadRow(f"{column} {_quoted(text)} is too large")
    return price.copy_abs() if price == 0 else price


def _quoted(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _identifier(text: str, what: str) -> str:
    """A shop id as it is, or a digest when it does not fit an id (``[0-9A-Za-z_.:-]{1,64}``)."""
    if _ID.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return f"{what}-{digest}"


def _slug(values: Iterable[str]) -> str:
    """Option values as an id part: "500 g / Gemahlen" → ``500-g-gemahlen``."""
    text = "-".join(values).replace("ß", "ss")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _sku(text: str) -> str | None:
    sku = text.strip()
    if len(sku) > 255:
        raise _BadRow(f"SKU {_quoted(sku)} is longer than 255 characters")
    return sku or None


_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def _split_list(text: str) -> list[str]:
    """WooCommerce's comma-separated lists (a comma inside a name is written ``\\,``)."""
    return [part.replace("\\,", ",").strip() for part in _UNESCAPED_COMMA.split(text)]


def _product(**fields: object) -> ShopProduct:
    try:
        return ShopProduct.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _BadRow(f"the product is not valid ({where}: {first['msg']})") from None


class _KeyRegistry:
    """Article keys already taken by an earlier product of the file (SKUs, variant ids)."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[str, int]] = {}

    def clash(self, product: ShopProduct, rows: Mapping[str, int]) -> RowProblem | None:
        """A problem when one of the product's keys belongs to another product (or comes twice
        in it); otherwise the keys are the product's from now on."""
        seen: dict[str, str] = {}
        for variant in product.variants:
            key = product.variant_key(variant)
            row = rows.get(variant.variant_id, 0)
            owner = self._owners.get(key)
            label = variant.sku or variant.variant_id
            if key in seen:
                return RowProblem(row, f"SKU {label!r} appears twice in this product")
            if owner is not None and owner[0] != product.product_id:
                return RowProblem(
                    row,
                    f"SKU {label!r} already belongs to the product in row {owner[1]}: "
                    "one SKU, one article",
                )
            seen[key] = variant.variant_id
        first_row = min(rows.values(), default=0)
        for key in seen:
            self._owners.setdefault(key, (product.product_id, first_row))
        return None


def _skipped(problems: list[RowProblem], name: str) -> Iterator[RowProblem]:
    for problem in problems:
        yield RowProblem(problem.row, f"{problem.reason} (product {name} skipped)")


def _emit(
    product: ShopProduct, rows: Mapping[str, int], first_row: int, keys: _KeyRegistry
) -> Iterator[CatalogueEntry]:
    clash = keys.clash(product, rows)
    if clash is not None:
        yield RowProblem(clash.row or first_row, f"{clash.reason} (product skipped)")
    else:
        yield product


# --------------------------------------------------------------------------------------------
# Shopify
# --------------------------------------------------------------------------------------------

SHOPIFY_NOT_ON_SALE = frozenset({"draft", "archived"})
SHOPIFY_DEFAULT_VARIANT_TITLE = "Default Title"
SHOPIFY_FALSE = frozenset({"false", "no", "0", "nein"})


@dataclass
class _ShopifyGroup:
    handle: str
    first_row: int
    rows: list[Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def add(self, row: Row) -> None:
        if len(self.rows) >= MAX_ROWS_PER_PRODUCT:
            self.problems.append(
                RowProblem(row.number, f"more than {MAX_ROWS_PER_PRODUCT} rows for one handle")
            )
            return
        self.rows.append(row)


def _shopify(rows: _Rows, shop: str, keys: _KeyRegistry) -> Iterator[CatalogueEntry]:
    group: _ShopifyGroup | None = None
    finished: dict[str, int] = {}
    for row in rows:
        if isinstance(row, RowProblem):
            if group is None:
                yield row
            else:  # it may have been one of this product's variants
                group.problems.append(row)
            continue
        handle = row.get("handle")
        if not handle:
            problem = RowProblem(row.number, "no Handle")
            if group is None:
                yield problem
            else:
                group.problems.append(problem)
            continue
        if group is None or handle != group.handle:
            if group is not None:
                finished.setdefault(group.handle, group.first_row)
                yield from _shopify_product(group, shop, keys)
            group = _ShopifyGroup(handle, row.number)
            if handle in finished:
                group.problems.append(
                    RowProblem(
                        row.number,
                        f"more rows of handle {handle!r} after other products (its first row "
                        f"is {finished[handle]}); a product's rows must follow each other",
                    )
                )
        group.add(row)
    if group is not None:
        yield from _shopify_product(group, shop, keys)


def _is_shopify_variant(row: Row) -> bool:
    return any(row.numbered) or bool(row.get("sku")) or bool(row.get("price"))


def _shopify_product(
    group: _ShopifyGroup, shop: str, keys: _KeyRegistry
) -> Iterator[CatalogueEntry]:
    first = group.rows[0] if group.rows else None
    problems = list(group.problems)
    if first is None:
        yield from _skipped(problems, repr(group.handle))
        return
    product_id = _identifier(group.handle, "handle")
    on_sale = first.get("status").lower() not in SHOPIFY_NOT_ON_SALE
    variants: list[ProductVariant] = []
    rows_of: dict[str, int] = {}
    options: dict[tuple[str, ...], int] = {}
    if on_sale:
        for row in group.rows:
            if not _is_shopify_variant(row):
                continue  # an image row
            values = tuple(value for value in row.numbered if value)
            try:
                if values in options:
                    raise _BadRow(f"the same options as row {options[values]}")
                variant = _shopify_variant(row, product_id, values, rows_of)
            except _BadRow as bad:
                problems.append(RowProblem(row.number, str(bad)))
                continue
            options[values] = row.number
            variants.append(variant)
            rows_of[variant.variant_id] = row.number
        if not variants and not problems:
            problems.append(RowProblem(first.number, "no variant row (no price)"))
        if len(variants) > MAX_VARIANTS:
            problems.append(RowProblem(first.number, f"more than {MAX_VARIANTS} variants"))
    if problems:
        yield from _skipped(sorted(problems, key=lambda p: p.row), repr(group.handle))
        return
    try:
        product = _shopify_shop_product(first, shop, product_id, variants)
    except _BadRow as bad:
        yield from _skipped([RowProblem(first.number, str(bad))], repr(group.handle))
        return
    yield from _emit(product, rows_of, first.number, keys)


def _shopify_shop_product(
    first: Row, shop: str, product_id: str, variants: list[ProductVariant]
) -> ShopProduct:
    tags = tag_names(first.get("tags").split(","))
    return _product(
        source="shopify",
        shop=shop,
        product_id=product_id,
        title=bounded(first.get("title")) or f"Produkt {product_id}",
        description=html_text(first.cells.get("body")),
        product_type=bounded(first.get("type")),
        tags=tags,
        updated_at=CATALOGUE_UPDATED_AT,
        variants=tuple(variants),
    )


def _shopify_variant(
    row: Row, product_id: str, values: tuple[str, ...], taken: Mapping[str, int]
) -> ProductVariant:
    price_text = row.get("price")
    if not price_text:
        raise _BadRow("a variant without Variant Price")
    price = parse_price(price_text, "Variant Price")
    title = bounded(" / ".join(values))
    if title == SHOPIFY_DEFAULT_VARIANT_TITLE:
        title = None
    slug = _slug(values) if title else ""
    variant_id = f"{product_id}.{slug}" if slug else product_id
    if len(variant_id) > ID_LIMIT or variant_id in taken:  # too long, or "500 g" and "500-g"
        digest = hashlib.sha256("\x1f".join([product_id, *values]).encode()).hexdigest()[:16]
        variant_id = f"{product_id[: ID_LIMIT - 17]}.{digest}"
    return ProductVariant(
        variant_id=variant_id,
        sku=_sku(row.get("sku")),
        title=title,
        price=price,
        taxable=row.get("taxable").lower() not in SHOPIFY_FALSE,
    )


# --------------------------------------------------------------------------------------------
# WooCommerce
# --------------------------------------------------------------------------------------------

WOO_NOT_TAXABLE = frozenset({"none", "shipping"})
WOO_NOT_SOLD = frozenset({"grouped", "external"})
WOO_PUBLISHED = frozenset({"", "1", "publish"})
VARIATION_TITLE_SEPARATORS = (" - ", " – ", ", ")
"""What WooCommerce puts between a variation's product name and its attribute values."""

WooKind = Literal["simple", "parent", "variation", "not_sold"]


def woocommerce_kind(text: str) -> WooKind:
    """``simple, virtual`` → simple; ``variable`` → parent; ``variation``; grouped/external."""
    tokens = {token.strip().lower() for token in text.split(",") if token.strip()}
    if any(token.endswith("variation") for token in tokens):
        return "variation"
    if any(token.startswith("variable") for token in tokens):
        return "parent"
    if tokens & WOO_NOT_SOLD:
        return "not_sold"
    return "simple"


def _woocommerce(
    rows: _Rows, shop: str, keys: _KeyRegistry, today: dt.date | None
) -> Iterator[CatalogueEntry]:
    parents: dict[str, Row] = {}
    parent_by_sku: dict[str, str] = {}
    variations: list[Row] = []
    ids: dict[str, int] = {}
    for row in rows:
        if isinstance(row, RowProblem):
            yield row
            continue
        raw_id = row.get("id")
        if not raw_id:
            yield RowProblem(row.number, "no ID (export the products from WooCommerce)")
            continue
        if not _ID.fullmatch(raw_id):
            yield RowProblem(row.number, f"ID {_quoted(raw_id)} is not a WooCommerce id")
            continue
        if raw_id in ids:
            yield RowProblem(row.number, f"ID {raw_id} is also in row {ids[raw_id]}")
            continue
        ids[raw_id] = row.number
        kind = woocommerce_kind(row.get("type"))
        if kind in ("parent", "variation") and len(parents) + len(variations) >= MAX_HELD_ROWS:
            yield RowProblem(row.number, f"more than {MAX_HELD_ROWS} variable product rows")
            continue
        if kind == "variation":  # after the last row: its parent may come later
            variations.append(row)
            continue
        if kind == "parent":
            parents[raw_id] = row
            if row.get("sku"):
                parent_by_sku.setdefault(row.get("sku"), raw_id)
        try:
            product = _woo_single(row, shop, kind, today)
        except _BadRow as bad:
            yield RowProblem(row.number, f"{bad} (product {_woo_name(row)} skipped)")
            continue
        yield from _emit(product, {raw_id: row.number}, row.number, keys)
    for row in variations:
        reference = row.get("parent")
        parent_id = reference.removeprefix("id:").strip() if reference.startswith("id:") else None
        parent = parents.get(parent_id or parent_by_sku.get(reference, ""))
        try:
            product = _woo_variation(row, parent, shop, today)
        except _BadRow as bad:
            yield RowProblem(row.number, f"{bad} (product {_woo_name(row)} skipped)")
            continue
        yield from _emit(product, {row.get("id"): row.number}, row.number, keys)


def _woo_name(row: Row) -> str:
    return f"{row.get('id')} {row.get('name')!r}" if row.get("name") else row.get("id")


def _woo_on_sale(row: Row) -> bool:
    return row.get("published").lower() in WOO_PUBLISHED


def _sale_date(text: str, column: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise _BadRow(f"{column} {_quoted(text)} is not a date") from None


def _woo_price(row: Row, today: dt.date | None) -> Decimal | None:
    """The price the product sells at now (the sale price during a sale), None without one."""
    regular_text, sale_text = row.get("regular_price"), row.get("sale_price")
    regular = parse_price(regular_text, "Regular price") if regular_text else None
    sale = parse_price(sale_text, "Sale price") if sale_text else None
    starts = _sale_date(row.get("sale_starts"), "Date sale price starts")
    ends = _sale_date(row.get("sale_ends"), "Date sale price ends")
    not_yet = today is not None and starts is not None and today < starts
    over = today is not None and ends is not None and today > ends
    if not_yet or over:
        sale = None
    return sale if sale is not None else regular


def _woo_variant(
    row: Row,
    today: dt.date | None,
    *,
    title: str | None,
    parent_tax_status: str = "",
    parent_tax_class: str = "",
) -> ProductVariant | None:
    """The sellable variant of a simple product or variation; None when it is not on sale."""
    price = _woo_price(row, today)
    if not _woo_on_sale(row) or price is None:
        return None
    tax_status = (row.get("tax_status") or parent_tax_status).lower()
    tax_class = row.get("tax_class")
    if tax_class.lower() == "parent":
        tax_class = parent_tax_class
    return ProductVariant(
        variant_id=row.get("id"),
        sku=_sku(row.get("sku")),
        title=title,
        price=price,
        taxable=tax_status not in WOO_NOT_TAXABLE,
        tax_class=bounded(tax_class) or "",
    )


def _first_category(text: str) -> str | None:
    """The first category's own name: ``Kaffee > Bohnen, Zubehör`` → ``Bohnen``."""
    categories = [part for part in _split_list(text) if part]
    if not categories:
        return None
    return bounded(categories[0].split(">")[-1])


def _woo_product(
    row: Row, shop: str, title: str | None, variant: ProductVariant | None
) -> ShopProduct:
    return _product(
        source="woocommerce",
        shop=shop,
        product_id=row.get("id"),
        title=title or f"Produkt {row.get('id')}",
        description=html_text(row.cells.get("short_description"))
        or html_text(row.cells.get("description")),
        product_type=_first_category(row.get("categories")),
        tags=tag_names(_split_list(row.get("tags"))),
        updated_at=CATALOGUE_UPDATED_AT,
        variants=(variant,) if variant else (),
    )


def _woo_single(row: Row, shop: str, kind: WooKind, today: dt.date | None) -> ShopProduct:
    """A simple product (its one variant), or a variable, grouped or external one (none)."""
    variant = _woo_variant(row, today, title=None) if kind == "simple" else None
    return _woo_product(row, shop, bounded(row.get("name")), variant)


def _woo_variation(row: Row, parent: Row | None, shop: str, today: dt.date | None) -> ShopProduct:
    """A variation as a product of its own, titled like the webhook titles it."""
    variant_title = bounded(", ".join(value for value in row.numbered if value))
    title = bounded(row.get("name")) or (bounded(parent.get("name")) if parent else None)
    if title and variant_title:
        for separator in VARIATION_TITLE_SEPARATORS:
            suffix = separator + variant_title
            if title.endswith(suffix) and len(title) > len(suffix):
                title = title[: -len(suffix)].rstrip()
                break
    if row.get("tax_class").lower() == "parent" and parent is None:
        named = f"Parent {_quoted(row.get('parent'))}" if row.get("parent") else "no Parent"
        raise _BadRow(
            f"Tax class 'parent', but its parent is not in the file ({named}; export the "
            "variable product together with its variations)"
        )
    variant = _woo_variant(
        row,
        today,
        title=variant_title,
        parent_tax_status=parent.get("tax_status") if parent else "",
        parent_tax_class=parent.get("tax_class") if parent else "",
    )
    return _woo_product(row, shop, title, variant)
