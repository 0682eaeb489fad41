"""The VAT decision of a shop order's invoice (issue #12): what the invoice says, or why it waits.

Pure wiring of :func:`autopilot.vat_rules.decide` to a :class:`~autopilot.shop_orders.ShopOrder`:

- the seller's :class:`~autopilot.vat_rules.VatContext` comes from ``SELLER_VAT_ID``,
  ``SMALL_BUSINESS`` and ``USES_OSS`` (checked when the settings are read);
- the buyer is the billing country, the VAT ID and the shop's reverse charge exemption the
  intake found; a named company makes the buyer a business (that only words a hold's reason);
- what the order charged is the tax rate of every invoice position (items, discounts,
  shipping, fees — the lines that are on the invoice) and the order's ``total_tax``.

The invoice keeps the shop's rates whatever the case: the decision only checks them. Its note
is appended to whatever note the invoice already carries (:func:`note_with`), so the seller's
own closing text (Billomat fills ``note`` from its settings) is kept.
"""

from __future__ import annotations

from autopilot.settings import OrderInvoiceSettings
from autopilot.shop_orders import ShopOrder
from autopilot.vat_rules import VatContext, VatDecision, decide

from .pricing import PricedInvoice


def vat_context(settings: OrderInvoiceSettings) -> VatContext:
    """The seller's VAT settings (validated already by :class:`OrderInvoiceSettings`)."""
    return VatContext(
        seller_vat_id=settings.seller_vat_id,
        small_business=settings.small_business,
        uses_oss=settings.uses_oss,
    )


def vat_decision(order: ShopOrder, priced: PricedInvoice, context: VatContext) -> VatDecision:
    """The VAT decision for ``order``'s invoice with the positions ``priced``."""
    customer = order.customer
    return decide(
        context,
        customer.country_code,
        customer.vat_id,
        [position.tax_rate for position in priced.positions],
        order.total_tax,
        is_business=bool(customer.company),
        reverse_charge_exemption=customer.reverse_charge_exemption,
    )


def note_with(existing: str | None, vat_note: str) -> str:
    """``existing`` (Billomat's default closing text, say) followed by ``vat_note`` after a
    blank line; ``existing`` unchanged when it already holds the note (a retried step)."""
    text = (existing or "").rstrip()
    if vat_note in text:
        return text
    return f"{text}\n\n{vat_note}" if text else vat_note
