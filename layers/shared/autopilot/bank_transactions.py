"""Bank transactions: the one `bank-transaction/v1` model every bank input becomes.

The bank_payment worker consumes only this model (reference/webhooks.md §4.5). Each input is an
adapter: :func:`from_bank_json` reads our own documented JSON
(``POST /webhooks/bank/transactions``), :func:`from_qonto` reads Qonto's ``v1/transactions``
webhook, and ``autopilot.camt053`` reads camt.053 statements. :meth:`BankTransaction.as_message`
gives the schema's JSON back, so the queue message is the documented format.

Rules of the schema: ``amount`` is a positive decimal string with at most two decimals and
``direction`` says credit or debit; dates are ISO dates; ``(source, transaction_id)`` identifies a
transaction for ever (it is the exactly-once key of the payment booking); IBANs are stored without
spaces in upper case; an end-to-end id of ``NOTPROVIDED`` means none. One transfer may come
through several channels with different ids; :func:`transfer_keys` recognises it across them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from autopilot.business_time import berlin_date
from autopilot.money import parse_amount, to_cents

SCHEMA: Literal["bank-transaction/v1"] = "bank-transaction/v1"
MAX_AMOUNT = Decimal("1000000000")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_IBAN_FILLER = re.compile(r"[\s-]")
"""What people put between an IBAN's characters for readability (``DE89 3704-0044 …``)."""
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class Direction(StrEnum):
    """Money in (credit) or out (debit) of our account."""

    CREDIT = "credit"
    DEBIT = "debit"


class TransactionStatus(StrEnum):
    """Whether the bank has booked the transaction; only booked credits become payments."""

    BOOKED = "booked"
    PENDING = "pending"
    REJECTED = "rejected"


class QontoEventIgnored(ValueError):
    """A well-formed Qonto delivery that is not about a transaction (another event type)."""


def compact_iban(value: str) -> str:
    """``value`` the way IBANs are stored and compared: no spaces or hyphens, upper case.

    No shape check: for text that may hold an IBAN among other characters, or an IBAN typed
    into another system; :func:`normalize_iban` is this plus the check.
    """
    return _IBAN_FILLER.sub("", value).upper()


def normalize_iban(value: str) -> str:
    """An IBAN without spaces, in upper case; ValueError when it does not look like one."""
    compact = compact_iban(value)
    if not _IBAN_SHAPE.match(compact):
        raise ValueError(f"{value!r} is not an IBAN")
    return compact


def iban_checksum_ok(iban: str) -> bool:
    """True when ``iban`` (compact, upper case) passes the ISO 13616 mod-97 check."""
    if not _IBAN_SHAPE.match(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def _optional_text(value: object) -> object:
    """Trimmed text; blank becomes None; control characters (line breaks) become spaces."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected text")
    text = " ".join(_CONTROL_CHARACTERS.sub(" ", value).split())
    return text or None


def _at_most(limit: int) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return value

    return AfterValidator(check)


def _optional_iban(value: object) -> object:
    cleaned = _optional_text(value)
    return None if cleaned is None else normalize_iban(str(cleaned))


def _end_to_end_id(value: object) -> object:
    cleaned = _optional_text(value)
    if cleaned is None or str(cleaned).upper() == "NOTPROVIDED":
        return None
    return cleaned


def _amount(value: object) -> Decimal:
    if not isinstance(value, str | int | float | Decimal) or isinstance(value, bool):
        raise ValueError('expected a decimal string such as "123.89"')
    amount = parse_amount(value)
    if amount != to_cents(amount):
        raise ValueError("an amount has at most two decimals")
    if amount <= 0:
        raise ValueError("amount must be greater than 0 (the direction says credit or debit)")
    if amount >= MAX_AMOUNT:
        raise ValueError("amount is implausibly large")
    return to_cents(amount)


def _currency(value: object) -> object:
    if isinstance(value, str):
        value = value.strip().upper()
    return value


def _identifier(value: str) -> str:
    if value != value.strip() or _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain surrounding spaces or control characters")
    return value


def _plausible_date(value: dt.date) -> dt.date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"a date must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


PlausibleDate = Annotated[dt.date, AfterValidator(_plausible_date)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
OptionalIban = Annotated[str | None, BeforeValidator(_optional_iban)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Currency = Annotated[str, BeforeValidator(_currency), Field(pattern=r"^[A-Z]{3}$")]
Identifier = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_identifier)]


class Counterparty(BaseModel):
    """The other side of the transfer: for a credit, the payer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Annotated[OptionalText, _at_most(200)] = None
    iban: OptionalIban = None
    bic: OptionalText = None


class BankTransaction(BaseModel):
    """One bank transaction in the `bank-transaction/v1` schema (reference/webhooks.md §4.5)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    schema_name: Literal["bank-transaction/v1"] = Field(default=SCHEMA, alias="schema")
    source: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
    """Where it came from: ``qonto``, ``camt053``, or the sender's own name (``fints``, …)."""
    transaction_id: Identifier
    """Unique and stable per source; with ``source`` the exactly-once key."""
    account_iban: OptionalIban = None
    """Our account the money moved on."""
    status: TransactionStatus
    direction: Direction
    amount: Amount
    currency: Currency
    booking_date: PlausibleDate
    value_date: PlausibleDate | None = None
    counterparty: Counterparty = Field(default_factory=Counterparty)
    remittance_information: Annotated[OptionalText, _at_most(2000)] = None
    """The free remittance text (Verwendungszweck)."""
    end_to_end_id: Annotated[str | None, BeforeValidator(_end_to_end_id)] = None
    creditor_reference: OptionalText = None
    """Structured creditor reference (ISO 11649 ``RF…``), when the payer used one."""
    mandate_id: OptionalText = None
    bank_reference: OptionalText = None
    """The bank's own reference (camt ``AcctSvcrRef``, Qonto ``transaction_id``)."""
    raw_ref: OptionalText = None

    @property
    def reference(self) -> str:
        """``<source>:<transaction_id>``: how logs, checkpoints and Billomat comments name it."""
        return f"{self.source}:{self.transaction_id}"

    @property
    def is_booked_credit(self) -> bool:
        """Only booked incoming money can pay an invoice."""
        return self.direction is Direction.CREDIT and self.status is TransactionStatus.BOOKED

    def as_message(self) -> dict[str, Any]:
        """The schema's JSON (``schema`` key included), as queued for the worker."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def transfer_keys(self) -> tuple[str, ...]:
        """The cross-channel identities of the transfer (see :func:`transfer_keys`)."""
        return transfer_keys(self)


# --------------------------------------------------------------------------------------------
# One transfer, several channels
# --------------------------------------------------------------------------------------------

# What banks and banking software write when there is no reference (MT940 NONREF, SEPA
# NOTPROVIDED): never an identity.
_PLACEHOLDER_REFERENCES = frozenset({"NOTPROVIDED", "NONREF", "NOREF", "NONE", "NA", "N/A", "-"})
_LONGEST_READABLE_KEY = 200


def normalize_reference(value: str | None) -> str | None:
    """A bank or end-to-end reference as compared across channels: upper case, without
    whitespace; None when blank or a placeholder such as ``NOTPROVIDED`` or ``NONREF``."""
    if value is None:
        return None
    compact = "".join(value.split()).upper()
    if not compact or compact in _PLACEHOLDER_REFERENCES:
        return None
    return compact


def _reference_names_a_batch(transaction: BankTransaction) -> bool:
    """camt.053 gives the n-th transaction of a batch entry (Sammelgutschrift) without its own
    ``AcctSvcrRef`` the id ``<account>:<entry reference>:<n>`` and the entry's reference: that
    reference names the whole batch, not this transfer."""
    reference = transaction.bank_reference
    if transaction.source != "camt053" or reference is None:
        return False
    head, _, tail = transaction.transaction_id.rpartition(":")
    return tail.isdigit() and head.endswith(f":{reference}")


def transfer_keys(transaction: BankTransaction) -> tuple[str, ...]:
    """The keys under which one transfer is recognised whichever channel delivers it (a banking
    tool's webhook, Qonto, the evening's camt.053), sorted; empty when it carries no identity
    (then nothing is deduplicated across channels and it is booked as before).

    Identities, each qualified by amount in cents and currency (one transfer has one amount
    in every channel, so two transfers that differ there are never taken for one):

    - the **bank reference** (``ref|<REF>|<cents>|<CUR>``); not for a camt.053 batch member,
      whose reference is the batch's (:func:`_reference_names_a_batch`);
    - the **end-to-end id** with the value date, else the booking date
      (``e2e|<E2E>|<cents>|<CUR>|<date>``).

    References are compared in upper case without whitespace; placeholders (``NOTPROVIDED``,
    ``NONREF``) are no reference. A bank reference is unique only per account, and Qonto does not
    name our account (``account_iban`` None): so each identity is given without the account, and
    with ``<IBAN>|`` in front when the account is known. An arrival without account (Qonto) meets
    the statement of its account through the key without account; two arrivals that both name
    their account and name different ones are never one transfer
    (:func:`may_be_one_transfer`), and they still meet their own twins through the key with the
    account. Keys longer than 200 characters are replaced by their SHA-256.
    """
    cents = int(transaction.amount * 100)
    qualifier = f"{cents}|{transaction.currency}"
    identities = []
    reference = normalize_reference(transaction.bank_reference)
    if reference is not None and not _reference_names_a_batch(transaction):
        identities.append(f"ref|{reference}|{qualifier}")
    end_to_end = normalize_reference(transaction.end_to_end_id)
    if end_to_end is not None:
        day = transaction.value_date or transaction.booking_date
        identities.append(f"e2e|{end_to_end}|{qualifier}|{day.isoformat()}")
    keys = set(identities)
    if transaction.account_iban is not None:
        keys.update(f"{transaction.account_iban}|{identity}" for identity in identities)
    return tuple(sorted(_bounded(key) for key in keys))


def _bounded(key: str) -> str:
    if len(key) <= _LONGEST_READABLE_KEY:
        return key
    return "sha256|" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def may_be_one_transfer(account_iban: str | None, other_account_iban: str | None) -> bool:
    """False only when both arrivals name our account and the accounts differ: a transfer is
    credited to one account. An arrival that names none (Qonto) may be any account's."""
    return account_iban is None or other_account_iban is None or account_iban == other_account_iban


def from_bank_json(data: Any) -> BankTransaction:
    """Our own `bank-transaction/v1` JSON; raises ``pydantic.ValidationError`` naming bad fields."""
    if isinstance(data, Mapping) and "schema" not in data:
        # A missing schema is refused like a wrong one (the Literal check names the field).
        data = {**data, "schema": None}
    return BankTransaction.model_validate(data)


# --------------------------------------------------------------------------------------------
# Qonto (reference/webhooks.md §4.2)
# --------------------------------------------------------------------------------------------

QONTO_TRANSACTION_EVENT = "v1/transactions"
_QONTO_STATUS = {
    "completed": TransactionStatus.BOOKED,
    "pending": TransactionStatus.PENDING,
    "declined": TransactionStatus.REJECTED,
    "reversed": TransactionStatus.REJECTED,
}


def _qonto_settlement_day(data: Mapping[str, Any]) -> dt.date:
    """The Berlin day of Qonto's ``settled_at`` (else ``emitted_at``).

    Qonto writes its timestamps in UTC, so one without an offset is read as UTC, not as the
    Berlin wall time a naive datetime means elsewhere (``autopilot.business_time``).
    """
    text = data.get("settled_at") or data.get("emitted_at")
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise ValueError("data.settled_at: a transaction needs a settlement time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return berlin_date(moment)
    except OverflowError:  # 9999-12-31T23:59-23:59 lies past the calendar's end in Berlin
        raise ValueError("data.settled_at: the settlement time is out of range") from None


def _qonto_payer_iban(transfer: Mapping[str, Any]) -> str | None:
    """The payer IBAN when Qonto gives one (format ``iban``, or a value that is a valid IBAN)."""
    number = transfer.get("counterparty_account_number")
    if not isinstance(number, str) or not number:
        return None
    try:
        iban = normalize_iban(number)
    except ValueError:
        return None
    declared = str(transfer.get("counterparty_account_number_format") or "").lower()
    return iban if declared == "iban" or iban_checksum_ok(iban) else None


# Where our field names come from in a Qonto event (for error messages).
_QONTO_FIELDS = {
    "transaction_id": "data.id",
    "amount": "data.amount",
    "currency": "data.currency",
    "direction": "data.side",
    "booking_date": "data.settled_at",
    "counterparty": "data.label",
    "remittance_information": "data.reference",
    "bank_reference": "data.transaction_id",
}


def from_qonto(event: Any) -> BankTransaction:
    """A Qonto ``v1/transactions`` event as a bank transaction.

    Raises ``QontoEventIgnored`` for other event types and ``ValueError`` naming the Qonto
    field for a malformed one. Qonto's ``data.id`` (a UUID) is the transaction id, its
    ``transaction_id`` the bank reference; the booking date is ``settled_at`` in Berlin time.
    (Plain checks instead of pydantic models for the envelope: the intake must start fast.)
    """
    if not isinstance(event, Mapping):
        raise ValueError("body: a Qonto event is a JSON object")
    kind = event.get("type")
    if kind != QONTO_TRANSACTION_EVENT:
        if isinstance(kind, str):
            raise QontoEventIgnored(f"event type {kind} is not a transaction")
        raise ValueError("type: missing")
    data = event.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("data: missing")
    settled_on = _qonto_settlement_day(data)
    amount = data.get("amount")
    cents = data.get("amount_cents")
    if isinstance(cents, int) and not isinstance(cents, bool):
        amount = Decimal(cents) / 100
    given = data.get("transfer")
    transfer: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    status = _QONTO_STATUS.get(str(data.get("status") or "").lower(), TransactionStatus.PENDING)
    fields = {
        "source": "qonto",
        "transaction_id": data.get("id"),
        "status": status,
        "direction": data.get("side"),
        "amount": amount,
        "currency": data.get("currency"),
        "booking_date": settled_on,
        "value_date": settled_on,
        "counterparty": {
            "name": data.get("clean_counterparty_name") or data.get("label"),
            "iban": _qonto_payer_iban(transfer),
            "bic": transfer.get("counterparty_bank_identifier"),
        },
        "remittance_information": data.get("reference"),
        "bank_reference": data.get("transaction_id"),
    }
    try:
        return BankTransaction.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(
                f"{_QONTO_FIELDS.get(str(problem['loc'][0]), 'data')}: {problem['msg']}"
                for problem in exc.errors(include_url=False)
            )
        ) from None
