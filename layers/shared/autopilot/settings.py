"""Typed settings, parsed once from the environment.

Every function reads its configuration through one of these models, so a missing or
malformed variable fails at the first use with a message naming the variable instead of
deep inside a request. The variable names are the contract of architecture.md §3 and
template.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from autopilot.shop_identity import (
    UnknownShopError,
    parse_list,
    shopify_domain,
    woocommerce_site,
)


class ConfigurationError(RuntimeError):
    """Raised when the environment does not hold a usable configuration."""


class InvoiceTrigger(StrEnum):
    """When a shop order becomes an invoice."""

    PAID = "paid"
    CREATED = "created"


class EnvironmentSettings(BaseModel):
    """Base of every settings model: fields are read by their environment variable alias."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build from ``environ`` (default ``os.environ``); empty values count as unset."""
        source = os.environ if environ is None else environ
        values = {key: value for key, value in source.items() if value != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"]) or cls.__name__
                problems.append(f"{name}: {error['msg']}")
            raise ConfigurationError(
                f"{cls.__name__} is not configured: " + "; ".join(problems)
            ) from None


class BillomatSettings(EnvironmentSettings):
    """Where Billomat is and where its credentials are kept."""

    billomat_id: str | None = Field(default=None, alias="BILLOMAT_ID", pattern=r"^[a-z0-9-]+$")
    base_url_override: str | None = Field(default=None, alias="BILLOMAT_BASE_URL")
    secret_arn: str = Field(alias="BILLOMAT_SECRET_ARN")
    priority: Literal["orders", "bank", "schedules"] = Field(
        default="orders", alias="BILLOMAT_PRIORITY"
    )
    """Who goes first when functions compete for the account's quota: ``orders`` (default),
    ``bank``, ``schedules`` (see ``autopilot.billomat.rate_limit.RatePriority``)."""

    @model_validator(mode="after")
    def _needs_an_address(self) -> Self:
        if not self.billomat_id and not self.base_url_override:
            raise ValueError("set BILLOMAT_ID (your account subdomain) or BILLOMAT_BASE_URL")
        return self

    @property
    def base_url(self) -> str:
        """The API root, ending in ``/api/``: the override wins over the account id."""
        if self.base_url_override:
            return self.base_url_override.rstrip("/") + "/"
        return f"https://{self.billomat_id}.billomat.net/api/"


def _shop_list(normalise: Callable[[str], str]) -> BeforeValidator:
    def parse(value: object) -> object:
        if isinstance(value, str):
            try:
                return parse_list(value, normalise)
            except UnknownShopError as exc:
                raise ValueError(str(exc)) from None
        return value

    return BeforeValidator(parse)


ShopifyShops = Annotated[tuple[str, ...], _shop_list(shopify_domain)]
WooCommerceSites = Annotated[tuple[str, ...], _shop_list(woocommerce_site)]


class IntakeSettings(EnvironmentSettings):
    """What the internet-facing webhook intake needs (never the Billomat key)."""

    webhook_secrets_arn: str = Field(alias="WEBHOOK_SECRETS_ARN")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    deals_queue_url: str = Field(alias="DEALS_QUEUE_URL")
    bank_queue_url: str = Field(alias="BANK_QUEUE_URL")
    products_queue_url: str = Field(alias="PRODUCTS_QUEUE_URL")
    refunds_queue_url: str = Field(alias="REFUNDS_QUEUE_URL")
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    invoice_trigger: InvoiceTrigger = Field(default=InvoiceTrigger.PAID, alias="INVOICE_TRIGGER")
    shopify_shops: ShopifyShops = Field(default=(), alias="SHOPIFY_SHOP_DOMAIN")
    """The Shopify shops this deployment serves (``*.myshopify.com``); others get 401."""
    woocommerce_sites: WooCommerceSites = Field(default=(), alias="WOOCOMMERCE_SITE_URL")
    """The WooCommerce sites this deployment serves (normalised, see ``shop_identity``)."""
    vat_id_note_attributes: CommaList | None = Field(default=None, alias="VAT_ID_NOTE_ATTRIBUTES")
    """Shopify note attribute names that carry the buyer's VAT ID (comma-separated, matched
    ignoring case, spaces and punctuation); unset: ``autopilot.vat_rules.SHOPIFY_VAT_ID_NAMES``."""
    vat_id_meta_keys: CommaList | None = Field(default=None, alias="VAT_ID_META_KEYS")
    """WooCommerce order meta keys that carry the buyer's VAT ID, in priority order
    (comma-separated); unset: ``autopilot.vat_rules.WOOCOMMERCE_VAT_ID_KEYS``."""


DEFAULT_INVOICE_EMAIL_SUBJECT = (
    "Ihre Rechnung [Invoice.invoice_number] zur Bestellung {order_number}"
)
DEFAULT_INVOICE_EMAIL_BODY = (
    "Guten Tag,\n\n"
    "vielen Dank für Ihre Bestellung {order_number}. Im Anhang finden Sie Ihre Rechnung "
    "[Invoice.invoice_number].\n\n"
    "Mit freundlichen Grüßen"
)


class OrderInvoiceSettings(EnvironmentSettings):
    """What the order_invoice worker needs besides Billomat itself."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    orders_queue_url: str = Field(alias="ORDERS_QUEUE_URL")
    email_subject: str = Field(default=DEFAULT_INVOICE_EMAIL_SUBJECT, alias="INVOICE_EMAIL_SUBJECT")
    """Billomat placeholders like ``[Invoice.invoice_number]`` work; ``{order_number}`` is ours."""
    email_body: str = Field(default=DEFAULT_INVOICE_EMAIL_BODY, alias="INVOICE_EMAIL_BODY")
    accounting_cc: str | None = Field(default=None, alias="ACCOUNTING_CC_EMAIL")
    """Optional address that gets a copy of every invoice e-mail."""
    invoice_template_id: int | None = Field(default=None, alias="INVOICE_TEMPLATE_ID")
    seller_vat_id: str | None = Field(default=None, max_length=64, alias="SELLER_VAT_ID")
    """The seller's own VAT ID (German), printed in reverse charge notes; without it a reverse
    charge invoice is held for accounting."""
    small_business: bool = Field(default=False, alias="SMALL_BUSINESS")
    """A § 19 UStG small business: no VAT charged, every invoice gets the § 19 note."""
    uses_oss: bool = Field(default=False, alias="USES_OSS")
    """EU consumers are taxed at their country's rates (One-Stop-Shop); off: at German rates."""

    @model_validator(mode="after")
    def _vat_settings_fit(self) -> Self:
        # A malformed SELLER_VAT_ID or SMALL_BUSINESS with USES_OSS fails here, at the first
        # use, naming the variable (imported here: the other functions need none of it).
        from autopilot.vat_rules import VatContext

        VatContext(
            seller_vat_id=self.seller_vat_id,
            small_business=self.small_business,
            uses_oss=self.uses_oss,
        )
        return self


class RetrySettings(EnvironmentSettings):
    """How long an SQS worker keeps delaying a message Billomat cannot take (delayed_retry)."""

    retry_horizon_hours: float = Field(default=72.0, gt=0, alias="RETRY_HORIZON_HOURS")
    """From a message's first delay: past it, the message fails and goes to the DLQ."""


DEFAULT_OFFER_EMAIL_SUBJECT = "Ihr Angebot [Offer.offer_number]: {deal_name}"
DEFAULT_OFFER_EMAIL_BODY = (
    "Guten Tag,\n\n"
    "vielen Dank für Ihr Interesse. Im Anhang finden Sie unser Angebot [Offer.offer_number] "
    "zu {deal_name}.\n\n"
    "Mit freundlichen Grüßen"
)
DEFAULT_DEAL_INVOICE_EMAIL_SUBJECT = "Ihre Rechnung [Invoice.invoice_number]: {deal_name}"
DEFAULT_DEAL_INVOICE_EMAIL_BODY = (
    "Guten Tag,\n\n"
    "vielen Dank für Ihren Auftrag. Im Anhang finden Sie Ihre Rechnung "
    "[Invoice.invoice_number] zu {deal_name}.\n\n"
    "Mit freundlichen Grüßen"
)


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]


class DealInvoiceSettings(EnvironmentSettings):
    """What the deal_invoice worker needs besides Billomat and HubSpot themselves."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    deals_queue_url: str = Field(alias="DEALS_QUEUE_URL")
    deals_dead_letter_queue_url: str | None = Field(
        default=None, alias="DEALS_DEAD_LETTER_QUEUE_URL"
    )
    """Where a deal goes at once when HubSpot refuses the token (no retry loop)."""
    quote_stages: CommaList = Field(default=("contractsent",), alias="DEAL_QUOTE_STAGES")
    """Stages (ids or labels, comma-separated) in which the deal gets its offer."""
    tax_rate: Decimal = Field(default=Decimal(19), ge=0, le=100, alias="DEAL_TAX_RATE")
    prices: Literal["net", "gross"] = Field(default="net", alias="DEAL_PRICES")
    """Whether HubSpot's line-item prices are net (default) or include ``DEAL_TAX_RATE``."""
    offer_number_property: str = Field(
        default="billomat_offer_number", alias="HUBSPOT_OFFER_NUMBER_PROPERTY"
    )
    invoice_number_property: str = Field(
        default="billomat_invoice_number", alias="HUBSPOT_INVOICE_NUMBER_PROPERTY"
    )
    link_property: str = Field(default="billomat_link", alias="HUBSPOT_LINK_PROPERTY")
    """Deal properties written back (empty: not written); missing ones are skipped."""
    pipelines_cache_seconds: float = Field(
        default=3600, ge=0, alias="HUBSPOT_PIPELINES_CACHE_SECONDS"
    )
    offer_email_subject: str = Field(
        default=DEFAULT_OFFER_EMAIL_SUBJECT, alias="OFFER_EMAIL_SUBJECT"
    )
    offer_email_body: str = Field(default=DEFAULT_OFFER_EMAIL_BODY, alias="OFFER_EMAIL_BODY")
    invoice_email_subject: str = Field(
        default=DEFAULT_DEAL_INVOICE_EMAIL_SUBJECT, alias="DEAL_INVOICE_EMAIL_SUBJECT"
    )
    invoice_email_body: str = Field(
        default=DEFAULT_DEAL_INVOICE_EMAIL_BODY, alias="DEAL_INVOICE_EMAIL_BODY"
    )
    """Billomat placeholders (``[Offer.offer_number]``) work; ``{deal_name}`` is ours."""
    accounting_cc: str | None = Field(default=None, alias="ACCOUNTING_CC_EMAIL")
    offer_template_id: int | None = Field(default=None, alias="OFFER_TEMPLATE_ID")
    invoice_template_id: int | None = Field(default=None, alias="INVOICE_TEMPLATE_ID")


def _json_rates(value: object) -> object:
    """``{"reduced-rate": 7}`` from the environment's JSON text (numbers as Decimal)."""
    if isinstance(value, str):
        import json

        try:
            parsed = json.loads(value, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ValueError('expected a JSON object like {"reduced-rate": 7}')
        return parsed
    return value


TaxRates = Annotated[dict[str, Decimal], BeforeValidator(_json_rates)]


class ArticleSyncSettings(EnvironmentSettings):
    """What the article_sync worker (and the catalogue import) needs besides Billomat."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    products_queue_url: str = Field(alias="PRODUCTS_QUEUE_URL")
    shop_prices: Literal["gross", "net"] = Field(default="gross", alias="ARTICLE_SHOP_PRICES")
    """Whether the shops' prices include tax (German B2C shops: gross). Articles hold net."""
    shopify_default_tax_rate: Decimal = Field(
        default=Decimal(19), ge=0, le=100, alias="SHOPIFY_DEFAULT_TAX_RATE"
    )
    shopify_tax_overrides: TaxRates = Field(default_factory=dict, alias="SHOPIFY_TAX_OVERRIDES")
    """``{"type:Bücher": 7, "tag:ermäßigt": 7}``: by product type, then by tag."""
    woocommerce_tax_classes: TaxRates = Field(
        default_factory=lambda: {
            "standard": Decimal(19),
            "reduced-rate": Decimal(7),
            "zero-rate": Decimal(0),
        },
        alias="WOOCOMMERCE_TAX_CLASSES",
    )
    """WooCommerce tax class → rate (``""`` is ``standard``)."""
    article_unit: str | None = Field(default="Stück", max_length=100, alias="ARTICLE_UNIT")
