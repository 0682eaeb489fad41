"""Property values of seeded records, checked like HubSpot's UI would (``ValueError`` if not)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .amounts import Number, as_property, line_item_amount, to_decimal
from .deals import stage_problem
from .pipelines import find_stage
from .wire import iso

Values = dict[str, str | None]


def _given(**values: str | None) -> Values:
    return {name: value for name, value in values.items() if value is not None}


def company_values(
    name: str,
    *,
    address: str | None,
    address2: str | None,
    zip: str | None,
    city: str | None,
    country: str | None,
    domain: str | None,
    phone: str | None,
) -> Values:
    """A company's properties (``country`` is free text, kept as typed)."""
    return _given(
        name=name,
        address=address,
        address2=address2,
        zip=zip,
        city=city,
        country=country,
        domain=domain,
        phone=phone,
    )


def contact_values(
    firstname: str, lastname: str, email: str, *, phone: str | None, company: str | None
) -> Values:
    """A contact's properties (``company`` is the free-text company name field)."""
    return _given(firstname=firstname, lastname=lastname, email=email, phone=phone, company=company)


def line_item_values(
    name: str,
    quantity: Number,
    price: Number,
    *,
    sku: str | None,
    discount_percentage: Number | None,
    discount: Number | None,
    description: str | None,
    tax_rate_group_id: str | None,
) -> Values:
    """A line item's properties, numbers as given, ``amount`` computed as HubSpot does."""
    amount = line_item_amount(
        to_decimal(quantity, "quantity"),
        to_decimal(price, "price"),
        None if discount is None else to_decimal(discount, "discount"),
        None
        if discount_percentage is None
        else to_decimal(discount_percentage, "discount_percentage"),
    )
    return _given(
        name=name,
        quantity=as_property(quantity, "quantity"),
        price=as_property(price, "price"),
        amount=amount,
        hs_sku=sku,
        hs_discount_percentage=None
        if discount_percentage is None
        else as_property(discount_percentage, "discount_percentage"),
        discount=None if discount is None else as_property(discount, "discount"),
        description=description,
        hs_tax_rate_group_id=tax_rate_group_id,
    )


def deal_values(
    name: str,
    *,
    amount: Number | None,
    stage: str,
    pipeline: str,
    currency: str | None,
    closedate: str | datetime | None,
    description: str | None,
    extra: Mapping[str, str | None],
    now: datetime,
) -> Values:
    """A deal's properties; the stage must belong to the pipeline."""
    entered = find_stage(pipeline, stage)
    if entered is None:
        raise ValueError(
            f"pipeline {pipeline!r}, stage {stage!r}: {stage_problem(pipeline, stage)}"
        )
    if closedate is None and entered.closed:
        closedate = now
    values = _given(
        dealname=name,
        amount=None if amount is None else as_property(amount, "amount"),
        dealstage=stage,
        pipeline=pipeline,
        deal_currency_code=currency,
        closedate=iso(closedate) if isinstance(closedate, datetime) else closedate,
        description=description,
    )
    values.update(extra)
    return values
