"""Local-mode settings: the environment overrides of architecture.md §3 and their dev defaults.

The defaults are documented fake values for the embedded sandboxes; they are not secrets.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEV_WEBHOOK_SECRETS = {
    "SHOPIFY_WEBHOOK_SECRET": "dev-shopify-webhook-secret",
    "WOOCOMMERCE_WEBHOOK_SECRET": "dev-woocommerce-webhook-secret",
    "HUBSPOT_CLIENT_SECRET": "dev-hubspot-client-secret",
    "BANK_WEBHOOK_SECRET": "dev-bank-webhook-secret",
    "QONTO_WEBHOOK_SECRET": "dev-qonto-webhook-secret",
}
DEV_HUBSPOT_ACCESS_TOKEN = "dev-hubspot-access-token"
# The sandbox's API key (local/billomat_sandbox/credentials.py), also for a sandbox started
# on its own and named by a loopback BILLOMAT_BASE_URL.
DEV_BILLOMAT_API_KEY = "sandbox-dev-api-key"
# The shops of the sample events in events/: a delivery from any other shop gets 401.
DEV_SHOPIFY_SHOP_DOMAIN = "demo-shop.myshopify.com"
DEV_WOOCOMMERCE_SITE_URL = "https://shop.example.de/"
# The seller's VAT ID printed in reverse charge notes: a format-valid fake German VAT ID
# (DE + 9 digits), not a real registration and unlike the sample customers' VAT IDs.
DEV_SELLER_VAT_ID = "DE999999999"
# Local mode uses OSS unless SMALL_BUSINESS is on (the two exclude each other): the sample
# shop charges Austrian consumers Austria's rates (events/shopify/order-paid-at-b2c-oss.json),
# which is only right for a seller registered for OSS. Deployed, USES_OSS defaults to false.
DEV_USES_OSS = "true"
DEFAULT_PORT = 3000
DEFAULT_REPORT_DIR = Path(__file__).resolve().parents[1] / "out" / "reports"


# environment variable -> its key in the stack's webhook-secrets JSON (template.yaml)
WEBHOOK_SECRET_KEYS = {
    "SHOPIFY_WEBHOOK_SECRET": "shopify",
    "WOOCOMMERCE_WEBHOOK_SECRET": "woocommerce",
    "HUBSPOT_CLIENT_SECRET": "hubspot_client_secret",
    "BANK_WEBHOOK_SECRET": "bank",
    "QONTO_WEBHOOK_SECRET": "qonto",
}


def webhook_secrets_json(secrets: Mapping[str, str]) -> dict[str, str]:
    """The webhook-secrets secret's JSON object for secrets named like the env variables."""
    return {key: secrets[name] for name, key in WEBHOOK_SECRET_KEYS.items()}


@dataclass(frozen=True)
class LocalSettings:
    """What `make serve` reads from the environment."""

    port: int
    billomat_base_url: str | None
    billomat_api_key: str
    """``BILLOMAT_API_KEY``; the sandbox's key unless BILLOMAT_BASE_URL names a remote host."""
    hubspot_base_url: str | None
    hubspot_access_token: str
    webhook_secrets: Mapping[str, str]
    public_base_url: str
    invoice_trigger: str
    shopify_shop_domain: str
    woocommerce_site_url: str
    report_dir: str
    seller_vat_id: str = DEV_SELLER_VAT_ID
    small_business: str = "false"
    uses_oss: str = DEV_USES_OSS
    """``SELLER_VAT_ID``, ``SMALL_BUSINESS``, ``USES_OSS`` as given (the worker checks them)."""

    def workflow_environment(self) -> dict[str, str]:
        """The functions' settings among these, as the template's variables name them."""
        return {
            "INVOICE_TRIGGER": self.invoice_trigger,
            "SHOPIFY_SHOP_DOMAIN": self.shopify_shop_domain,
            "WOOCOMMERCE_SITE_URL": self.woocommerce_site_url,
            "SELLER_VAT_ID": self.seller_vat_id,
            "SMALL_BUSINESS": self.small_business,
            "USES_OSS": self.uses_oss,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalSettings:
        env = os.environ if environ is None else environ
        raw_port = env.get("PORT") or str(DEFAULT_PORT)
        if not raw_port.isdigit() or not 0 <= int(raw_port) <= 65535:
            raise SystemExit(f"PORT must be a port number, got {raw_port!r}")
        port = int(raw_port)
        secrets = {name: env.get(name) or default for name, default in DEV_WEBHOOK_SECRETS.items()}
        small_business = env.get("SMALL_BUSINESS") or "false"
        billomat_base_url = env.get("BILLOMAT_BASE_URL") or None
        return cls(
            port=port,
            billomat_base_url=billomat_base_url,
            billomat_api_key=_billomat_api_key(billomat_base_url, env.get("BILLOMAT_API_KEY")),
            hubspot_base_url=env.get("HUBSPOT_BASE_URL") or None,
            hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN") or DEV_HUBSPOT_ACCESS_TOKEN,
            webhook_secrets=secrets,
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/"),
            invoice_trigger=env.get("INVOICE_TRIGGER") or "paid",
            shopify_shop_domain=env.get("SHOPIFY_SHOP_DOMAIN") or DEV_SHOPIFY_SHOP_DOMAIN,
            woocommerce_site_url=env.get("WOOCOMMERCE_SITE_URL") or DEV_WOOCOMMERCE_SITE_URL,
            report_dir=env.get("REPORT_LOCAL_DIR") or str(DEFAULT_REPORT_DIR),
            seller_vat_id=env.get("SELLER_VAT_ID") or DEV_SELLER_VAT_ID,
            small_business=small_business,
            uses_oss=env.get("USES_OSS") or ("false" if _is_on(small_business) else DEV_USES_OSS),
        )


def _billomat_api_key(base_url: str | None, api_key: str | None) -> str:
    """The key sent to Billomat: ``BILLOMAT_API_KEY``, else the sandbox's (embedded, or a
    sandbox on this machine). A remote Billomat without a key is refused at start-up: every
    queued order would otherwise fail on the empty key, again at each redelivery."""
    if api_key:
        return api_key
    if base_url is None or _is_loopback(base_url):
        return DEV_BILLOMAT_API_KEY
    raise SystemExit(
        f"BILLOMAT_BASE_URL points at {urlsplit(base_url).hostname or base_url!r}, not at this"
        " machine: set BILLOMAT_API_KEY to that account's API key (the sandbox's key"
        f" {DEV_BILLOMAT_API_KEY!r} is the default only for a loopback URL)"
    )


def _is_loopback(url: str) -> bool:
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_on(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "y"}
