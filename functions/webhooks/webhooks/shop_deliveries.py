"""What every Shopify and WooCommerce route checks before it reads the body (orders, products).

- The shop is the configured one the unsigned header names (``autopilot.shop_identity``); a
  shop this deployment does not serve gets 401.
- The signature is checked with that shop's secret(s) on the raw body; a wrong or missing
  one gets 401.
- WooCommerce's unsigned ping (sent when a webhook is saved) is recognised so a route can
  answer it with exactly 200 before any of this.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from autopilot.shop_identity import (
    UnknownShopError,
    shopify_domain,
    woocommerce_match_key,
    woocommerce_site,
)
from autopilot.signatures import verify_base64_hmac_sha256

from .deliveries import RequestRejected, intake_settings, webhook_secrets


def require_shop_signature(
    source: str, shop: str, shops_served: int, body: bytes, signature: str | None
) -> None:
    """401 unless ``signature`` is the base64 HMAC-SHA256 of ``body`` under a secret of
    ``shop`` (``source`` is ``shopify`` or ``woocommerce``)."""
    secrets = webhook_secrets(source, shop, shops_served=shops_served)
    if not verify_base64_hmac_sha256(body, signature, secrets):
        raise RequestRejected(401, "invalid_signature", "signature could not be verified")


def _unknown_shop(header: str, setting: str) -> RequestRejected:
    return RequestRejected(
        401,
        "unknown_shop",
        f"{header} does not name a shop this deployment serves (setting {setting})",
    )


def shopify_shop(headers: dict[str, str]) -> tuple[str, int]:
    """The configured Shopify shop the delivery names, and how many shops are configured."""
    shops = intake_settings().shopify_shops
    try:
        shop = shopify_domain(headers.get("x-shopify-shop-domain") or "")
    except UnknownShopError:
        raise _unknown_shop("X-Shopify-Shop-Domain", "SHOPIFY_SHOP_DOMAIN") from None
    if shop not in shops:
        raise _unknown_shop("X-Shopify-Shop-Domain", "SHOPIFY_SHOP_DOMAIN")
    return shop, len(shops)


def woocommerce_shop(headers: dict[str, str]) -> tuple[str, int]:
    """The configured WooCommerce site the delivery names (``www.`` ignored), and how many
    sites are configured."""
    sites = intake_settings().woocommerce_sites
    try:
        key = woocommerce_match_key(woocommerce_site(headers.get("x-wc-webhook-source") or ""))
    except UnknownShopError:
        raise _unknown_shop("X-WC-Webhook-Source", "WOOCOMMERCE_SITE_URL") from None
    for site in sites:
        if woocommerce_match_key(site) == key:
            return site, len(sites)
    raise _unknown_shop("X-WC-Webhook-Source", "WOOCOMMERCE_SITE_URL")


def is_woocommerce_ping(headers: dict[str, str], body: bytes) -> bool:
    """WooCommerce's unsigned ping on saving a webhook: a form body with only webhook_id."""
    if headers.get("x-wc-webhook-signature") or len(body) > 200:
        return False
    try:
        fields = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return set(fields) == {"webhook_id"}
