"""What the Shopify and WooCommerce product payloads share: bounded ids, prices and times, and
the text a product's fields become (plain-text description, bounded titles, tags).

Every id, price and time of a product payload is read through one of these types, so a hostile
but correctly signed body gets a 400 naming the field instead of an exception in the worker.
Texts are not refused for their length: a shop may allow a longer title than an article
holds, so titles and tags are cut to fit (with "…"), and HTML descriptions become bounded
plain text. A SKU is never cut (it is the article's key): a SKU longer than 255 characters
is refused. The shop-specific models are in :mod:`.shopify_products` and
:mod:`.woocommerce_products`; what they become is ``autopilot.shop_products.ShopProduct``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from autopilot.money import parse_amount
from autopilot.shop_products import PRICE_LIMIT

from .order_payloads import ShopId, Timestamp, first_text

SHORT_TEXT_LIMIT = 255
"""Titles, variant titles, product types and tags of a ShopProduct."""
DESCRIPTION_LIMIT = 2000
"""The plain-text description kept of a product (Billomat shows it on the article)."""
MAX_TAGS = 250
PRICE_PLACES = Decimal("0.0001")


class ProductPayloadError(ValueError):
    """A product payload that fits the shop's schema but cannot become a ShopProduct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------

ProductId = Annotated[ShopId, Field(pattern=r"^[0-9A-Za-z_.:-]+$")]
"""A product or variant id: a JSON integer (kept exact as text) or an id-like string."""


def _price(value: object) -> Decimal:
    """A shop's price: non-negative, below 10^8, at most 4 places (more are rounded half up)."""
    price = parse_amount(value)  # type: ignore[arg-type]  # refuses other types itself
    if price < 0:
        raise ValueError("a price must not be negative")
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        price = price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    elif isinstance(exponent, int) and exponent > 0:
        price = price.quantize(Decimal(1))
    if price >= PRICE_LIMIT:
        raise ValueError(f"a price must be below {PRICE_LIMIT:,f}")
    return price.copy_abs() if price == 0 else price


def _price_or_none(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _price(value)


def _with_offset(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("a time needs a time zone offset")
    return moment


Price = Annotated[Decimal, BeforeValidator(_price)]
OptionalPrice = Annotated[Decimal | None, BeforeValidator(_price_or_none)]
"""WooCommerce writes ``""`` for a price that is not set."""
ZonedTimestamp = Annotated[Timestamp, AfterValidator(_with_offset)]
"""A time with its offset (Shopify's ``updated_at``); a time without one is refused."""
Sku = Annotated[str, Field(max_length=SHORT_TEXT_LIMIT)]


def gmt(moment: dt.datetime | None) -> dt.datetime | None:
    """WooCommerce's ``*_gmt`` times are UTC without an offset; one with an offset is kept."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def bounded(text: str | None, limit: int = SHORT_TEXT_LIMIT) -> str | None:
    """``text`` cleaned (see ``first_text``) and cut to ``limit`` characters with "…"."""
    clean = first_text(text) or None  # only control characters: nothing left
    if clean is None or len(clean) <= limit:
        return clean
    cut = clean[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + "…"


def tag_names(names: Iterable[str | None]) -> tuple[str, ...]:
    """Tags without blanks and repeats (order kept), each fitted to 255 characters, at most 250."""
    tags: dict[str, None] = {}
    for name in names:
        tag = bounded(name)
        if tag:
            tags.setdefault(tag)
        if len(tags) == MAX_TAGS:
            break
    return tuple(tags)


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = frozenset(
    {"head", "iframe", "noscript", "object", "script", "style", "svg", "template", "title"}
)
_HIDDEN_ENDS = {name: re.compile(f"</{name}", re.IGNORECASE) for name in _HIDDEN_TAGS}
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)|<[!?/]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _visible_parts(html: str) -> list[str]:
    """The text of ``html`` between its tags, with a break for each block tag.

    One pass from left to right, each character looked at a bounded number of times (the
    standard library's HTMLParser takes seconds on 20,000 characters of ``<a <a <a``). A
    ``<`` that does not start a tag is text; a tag without its ``>`` makes the rest text; an
    unclosed comment or hidden element (script, style, …) hides the rest.
    """
    parts: list[str] = []
    position, end = 0, len(html)
    while position < end:
        start = html.find("<", position)
        if start < 0:
            parts.append(html[position:])
            break
        parts.append(html[position:start])
        if html.startswith("<!--", start):
            close = html.find("-->", start + 4)
            position = end if close < 0 else close + 3
            continue
        tag = _TAG_START.match(html, start)
        if tag is None:
            parts.append("<")
            position = start + 1
            continue
        close = html.find(">", tag.end())
        if close < 0:
            parts.append(html[start:])
            break
        position = close + 1
        closing, name = tag.group(1) == "/", (tag.group(2) or "").lower()
        if name in _HIDDEN_TAGS and not closing and not html.startswith("/>", close - 1):
            hidden_end = _HIDDEN_ENDS[name].search(html, position)
            close = -1 if hidden_end is None else html.find(">", hidden_end.end())
            position = end if close < 0 else close + 1
        elif name in _CELL_TAGS:
            parts.append(" ")
        elif name == "li":
            parts.append("" if closing else "\n- ")  # list items on consecutive lines
        elif name in _BLOCK_TAGS:
            parts.append("\n")
    return parts


def html_text(html: str | None, limit: int = DESCRIPTION_LIMIT) -> str | None:
    """The visible text of a product description as plain text, at most ``limit`` characters.

    Tags are dropped (the content of script, style and the like with them), entities decoded,
    blocks and ``<br>`` become line breaks, list items start with "- ", runs of spaces become
    one and at most one blank line separates paragraphs. None when nothing visible is left.
    """
    if html is None or not html.strip():
        return None
    text = unescape("".join(_visible_parts(html)))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = first_text(text) or ""  # control characters become spaces
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return bounded(text, limit)
