"""The queue messages, one typed model per kind: the intake builds them, the workers parse them.

Every message the stack puts on an SQS queue is one of :data:`QueueMessage`, told apart by
``kind``. A worker reads a record's body with :func:`parse_message` (or Powertools' batch
processor over :class:`QueueRecord`); a body that is not one of these kinds, or not the kind
its queue expects, fails its record and ends in the dead-letter queue.

``retry`` is what :mod:`autopilot.delayed_retry` carries from one delay to the next;
``delayed_attempts`` is its form before that module (messages still in flight after an
upgrade). Neither is the intake's business.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Json, TypeAdapter

from autopilot.bank_transactions import BankTransaction
from autopilot.shop_orders import ShopOrder
from autopilot.shop_products import ShopProduct
from autopilot.shop_refunds import ShopCancellation, ShopRefund


class Message(BaseModel):
    """What every queue message has besides its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retry: dict[str, Any] | None = None
    """Delayed-retry state (``autopilot.delayed_retry``); absent on a first delivery."""
    delayed_attempts: int | None = Field(default=None, ge=0)
    """The delayed-retry count of messages queued before ``retry`` existed."""

    @property
    def correlation_id(self) -> str:
        """The business reference logs and retries name the message by."""
        raise NotImplementedError

    def as_body(self) -> dict[str, Any]:
        """The JSON body as queued (``None`` fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ShopOrderMessage(Message):
    """A shop order to invoice (orders queue)."""

    kind: Literal["shop_order"] = "shop_order"
    topic: str | None = Field(default=None, max_length=64)
    """The shop's webhook topic the order came with (``orders/paid``, ``order.updated``, …)."""
    order: ShopOrder

    @property
    def correlation_id(self) -> str:
        return self.order.reference


class BankTransactionMessage(Message):
    """A bank transaction to book (bank queue), from a webhook or a camt.053 import."""

    kind: Literal["bank_transaction"] = "bank_transaction"
    transaction: BankTransaction
    origin: str | None = Field(default=None, max_length=1024)
    """The statement file an imported transaction came from."""

    @property
    def correlation_id(self) -> str:
        return self.transaction.reference


class ShopProductMessage(Message):
    """A shop product created, changed, deleted or restored (products queue)."""

    kind: Literal["shop_product"] = "shop_product"
    topic: str | None = Field(default=None, max_length=64)
    """The shop's webhook topic (``products/update``, ``product.deleted``, …) or ``import``."""
    product: ShopProduct

    @property
    def correlation_id(self) -> str:
        return self.product.reference


class ShopRefundMessage(Message):
    """A shop refund to turn into a credit note (refunds queue)."""

    kind: Literal["shop_refund"] = "shop_refund"
    topic: str | None = Field(default=None, max_length=64)
    refund: ShopRefund

    @property
    def correlation_id(self) -> str:
        return self.refund.reference


class ShopCancellationMessage(Message):
    """A cancelled shop order whose unpaid invoice is to be cancelled (refunds queue)."""

    kind: Literal["shop_cancellation"] = "shop_cancellation"
    topic: str | None = Field(default=None, max_length=64)
    cancellation: ShopCancellation

    @property
    def correlation_id(self) -> str:
        return self.cancellation.reference


RefundQueueMessage = Annotated[
    ShopRefundMessage | ShopCancellationMessage, Field(discriminator="kind")
]
"""What the refunds queue carries."""


HUBSPOT_ID_LIMIT = 2**63 - 1
"""HubSpot's portal, object and event ids are 64-bit integers."""


class DealMessage(Message):
    """A HubSpot deal whose stage changed (deals queue).

    Only the deal is named: the worker reads its current state from the CRM, because
    HubSpot's events arrive late and out of order. ``event_id`` and ``occurred_at`` are those
    of the newest event of the delivery that named the deal (for logs and idempotency).
    """

    kind: Literal["hubspot_deal"] = "hubspot_deal"
    portal_id: int = Field(ge=1, le=HUBSPOT_ID_LIMIT)
    deal_id: int = Field(ge=1, le=HUBSPOT_ID_LIMIT)
    event_id: int = Field(ge=0, le=HUBSPOT_ID_LIMIT)
    occurred_at: int = Field(ge=0, le=HUBSPOT_ID_LIMIT)
    """Epoch milliseconds of that event."""

    @property
    def correlation_id(self) -> str:
        return deal_reference(self.portal_id, self.deal_id)


def deal_reference(portal_id: int, deal_id: int) -> str:
    """Our reference of one HubSpot deal (``hubspot:<portal>:deal:<id>``), kept in Billomat."""
    return f"hubspot:{portal_id}:deal:{deal_id}"


QueueMessage = Annotated[
    ShopOrderMessage
    | BankTransactionMessage
    | DealMessage
    | ShopProductMessage
    | ShopRefundMessage
    | ShopCancellationMessage,
    Field(discriminator="kind"),
]
"""Any message on any of the stack's queues."""

_ADAPTER: TypeAdapter[QueueMessage] = TypeAdapter(QueueMessage)


def parse_message(
    body: str | bytes,
) -> (
    ShopOrderMessage
    | BankTransactionMessage
    | DealMessage
    | ShopProductMessage
    | ShopRefundMessage
    | ShopCancellationMessage
):
    """The message in a record body; raises ``pydantic.ValidationError`` for anything else."""
    return _ADAPTER.validate_json(body)


def message_body(message: Message) -> str:
    """The compact JSON a message is queued as."""
    return json.dumps(message.as_body(), separators=(",", ":"))


class QueueRecord[M](BaseModel):
    """The part of an SQS record a worker reads: its id, receive count and typed body."""

    messageId: str
    body: Json[M]
    attributes: dict[str, str] = {}

    @property
    def receive_count(self) -> int | None:
        """How often SQS has delivered the message (``ApproximateReceiveCount``)."""
        count = self.attributes.get("ApproximateReceiveCount")
        return int(count) if count and count.isdigit() else None
