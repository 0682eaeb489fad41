"""Which shop a delivery belongs to: the deployment's configured shops, never a header alone.

Shopify's and WooCommerce's signatures cover the body only; the shop's name travels in an
unsigned header (``X-Shopify-Shop-Domain``, ``X-WC-Webhook-Source``). The shop identity goes
into the order reference, the ``customfield`` of invoices and clients and the idempotency
key, so it must not come from a header: one signed body sent with three different shop
headers would otherwise be three orders. The deployment therefore names its shops
(``SHOPIFY_SHOP_DOMAIN``, ``WOOCOMMERCE_SITE_URL``); a delivery is accepted only for one of
them, and the identity is the configured value, normalised here.

Normal forms:

- Shopify: the permanent ``<name>.myshopify.com`` domain, lower case, no trailing dot
  (a scheme or path given in the setting is dropped).
- WooCommerce: the site's host in lower case (``shop.example.de``); scheme, port and a
  WordPress sub-folder do not count (two shops in two folders of one host would be one
  shop: give them separate deployments). When matching a delivery, ``www.`` is ignored,
  so a site moving between ``www.`` and the bare domain stays the same shop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

MAX_IDENTITY_LENGTH = 255

_SHOPIFY_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,61}\.myshopify\.com")
_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})*")
_PATH = re.compile(r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*")


class UnknownShopError(ValueError):
    """A shop name that is not a well-formed Shopify domain or WooCommerce site."""


def _bounded(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_IDENTITY_LENGTH or not value.isascii():
        raise UnknownShopError(f"not a shop name: {text[:80]!r}")
    return value


def shopify_domain(text: str) -> str:
    """``Demo-Shop.myshopify.com.`` → ``demo-shop.myshopify.com``; UnknownShopError otherwise."""
    value = _bounded(text).lower()
    if "/" in value:
        value = _split(value).hostname or ""
    value = value.rstrip(".")
    if not _SHOPIFY_DOMAIN.fullmatch(value):
        raise UnknownShopError(f"not a *.myshopify.com domain: {text[:80]!r}")
    return value


def woocommerce_site(text: str) -> str:
    """``https://WWW.Shop.example.de/`` → ``www.shop.example.de``; UnknownShopError otherwise."""
    parts = _split(_bounded(text))
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.fullmatch(host) or not _PATH.fullmatch(parts.path.rstrip("/")):
        raise UnknownShopError(f"not a WooCommerce site URL: {text[:80]!r}")
    return host


def woocommerce_match_key(site: str) -> str:
    """The form two site names are compared in: without a leading ``www.``."""
    return site.removeprefix("www.")


def _split(value: str) -> SplitResult:
    try:
        parts = urlsplit(value if "//" in value else f"//{value}")
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UnknownShopError(f"not a URL: {value[:80]!r}") from exc
    return parts


def parse_list(text: str, normalise: Callable[[str], str]) -> tuple[str, ...]:
    """A comma-separated setting as normalised, de-duplicated names (order kept)."""
    names = [normalise(part) for part in text.split(",") if part.strip()]
    return tuple(dict.fromkeys(names))
