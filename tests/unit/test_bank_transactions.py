"""The bank-transaction/v1 model and its adapters (our JSON, Qonto)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from autopilot.bank_transactions import (
    BankTransaction,
    Direction,
    QontoEventIgnored,
    TransactionStatus,
    compact_iban,
    from_bank_json,
    from_qonto,
    iban_checksum_ok,
    may_be_one_transfer,
    normalize_iban,
    normalize_reference,
    transfer_keys,
)

# reference/webhooks.md §4.5
SCHEMA_EXAMPLE: dict[str, Any] = {
    "schema": "bank-transaction/v1",
    "source": "qonto",
    "account_iban": "DE02120300000000202051",
    "transaction_id": "muster-gmbh-1234",
    "status": "booked",
    "direction": "credit",
    "amount": "123.89",
    "currency": "EUR",
    "booking_date": "2025-01-20",
    "value_date": "2025-01-20",
    "counterparty": {
        "name": "Muster GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    },
    "remittance_information": "Rechnung RE-2025-0012 vom 15.01.2025",
    "end_to_end_id": "RE-2025-0012",
    "creditor_reference": None,
    "mandate_id": None,
    "bank_reference": "2025012012345678",
    "raw_ref": "s3://bucket/original-payload",
}

# reference/webhooks.md §4.2
QONTO_FIXTURE: dict[str, Any] = {
    "id": "3f0c7c1e-0000-4000-8000-000000000001",
    "subscription_id": "3f0c7c1e-0000-4000-8000-000000000002",
    "organization_id": "3f0c7c1e-0000-4000-8000-000000000003",
    "type": "v1/transactions",
    "created_at": "2025-01-20T08:15:00Z",
    "data": {
        "event": "created",
        "id": "3f0c7c1e-0000-4000-8000-000000000004",
        "transaction_id": "muster-gmbh-1234",
        "amount": 123.89,
        "currency": "EUR",
        "side": "credit",
        "operation_type": "transfer",
        "status": "completed",
        "label": "Muster GmbH",
        "clean_counterparty_name": "Muster GmbH",
        "reference": "RE-2025-0012 Kd-Nr 4711",
        "settled_at": "2025-01-20T08:14:00Z",
        "emitted_at": "2025-01-20T08:14:00Z",
        "bank_account_id": "3f0c7c1e-0000-4000-8000-000000000005",
        "transfer": {
            "counterparty_account_number": "DE89370400440532013000",
            "counterparty_account_number_format": "iban",
            "counterparty_bank_identifier": "COBADEFFXXX",
            "counterparty_bank_identifier_format": "bic",
        },
    },
}


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**SCHEMA_EXAMPLE, **changes}


def problem_fields(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in problem["loc"]) for problem in error.errors()}


# -- our own JSON --------------------------------------------------------------------------


def test_schema_example_becomes_a_booked_credit() -> None:
    transaction = from_bank_json(SCHEMA_EXAMPLE)
    assert transaction.reference == "qonto:muster-gmbh-1234"
    assert transaction.amount == Decimal("123.89")
    assert transaction.direction is Direction.CREDIT
    assert transaction.status is TransactionStatus.BOOKED
    assert transaction.is_booked_credit
    assert transaction.booking_date == dt.date(2025, 1, 20)
    assert transaction.counterparty.iban == "DE89370400440532013000"
    assert transaction.end_to_end_id == "RE-2025-0012"


def test_message_is_the_documented_json_again() -> None:
    message = from_bank_json(SCHEMA_EXAMPLE).as_message()
    assert message == SCHEMA_EXAMPLE
    assert from_bank_json(message) == from_bank_json(SCHEMA_EXAMPLE)


@pytest.mark.parametrize("value", ["NOTPROVIDED", "notprovided", " NOTPROVIDED ", "", None])
def test_end_to_end_id_notprovided_means_none(value: str | None) -> None:
    assert from_bank_json(with_changes(end_to_end_id=value)).end_to_end_id is None


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("119", "119.00"), ("119.5", "119.50"), (119, "119.00"), (Decimal("0.01"), "0.01")],
)
def test_amount_is_kept_as_cents(amount: Any, expected: str) -> None:
    transaction = from_bank_json(with_changes(amount=amount))
    assert transaction.as_message()["amount"] == expected


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1.234", "12,50", "abc", True, None])
def test_amount_must_be_positive_cents(amount: Any) -> None:
    with pytest.raises(ValidationError) as error:
        from_bank_json(with_changes(amount=amount))
    assert "amount" in problem_fields(error.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("direction", "in"),
        ("status", "done"),
        ("currency", "EURO"),
        ("booking_date", "20.01.2025"),
        ("transaction_id", ""),
        ("transaction_id", " tx-1"),
        ("source", "Qonto Bank"),
        ("account_iban", "not an iban"),
    ],
)
def test_bad_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        from_bank_json(with_changes(**{field: value}))
    assert field in problem_fields(error.value)


def test_schema_must_be_declared() -> None:
    data = dict(SCHEMA_EXAMPLE)
    del data["schema"]
    with pytest.raises(ValidationError) as missing:
        from_bank_json(data)
    assert "schema" in problem_fields(missing.value)
    with pytest.raises(ValidationError):
        from_bank_json(with_changes(schema="bank-transaction/v2"))


def test_ibans_and_currency_are_normalised() -> None:
    transaction = from_bank_json(
        with_changes(
            currency="eur",
            counterparty={"name": " Muster  GmbH ", "iban": "de89 3704 0044 0532 0130 00"},
        )
    )
    assert transaction.currency == "EUR"
    assert transaction.counterparty.iban == "DE89370400440532013000"
    assert transaction.counterparty.name == "Muster GmbH"


def test_line_breaks_in_the_remittance_become_spaces() -> None:
    transaction = from_bank_json(with_changes(remittance_information="Rechnung\nRE 1042\r\n"))
    assert transaction.remittance_information == "Rechnung RE 1042"


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert from_bank_json(with_changes(category="sales")).amount == Decimal("123.89")


@given(
    cents=st.integers(min_value=1, max_value=10**11 - 1),
    transaction_id=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
    ),
)
def test_any_valid_transaction_survives_the_queue(cents: int, transaction_id: str) -> None:
    amount = Decimal(cents) / 100
    original = from_bank_json(with_changes(amount=str(amount), transaction_id=transaction_id))
    again = BankTransaction.model_validate(original.as_message())
    assert again == original
    assert again.amount == amount


def test_iban_helpers() -> None:
    assert normalize_iban("gb29 nwbk 6016 1331 9268 19") == "GB29NWBK60161331926819"
    assert iban_checksum_ok("DE89370400440532013000")
    assert not iban_checksum_ok("DE89370400440532013001")
    with pytest.raises(ValueError, match="not an IBAN"):
        normalize_iban("1234")


@pytest.mark.parametrize(
    "written",
    [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "de89 3704 0044 0532 0130 00",
        "DE89-3704-0044-0532-0130-00",
        " DE89\t3704 0044\n0532 0130 00 ",
    ],
)
def test_an_iban_is_normalised_one_way_however_it_is_written(written: str) -> None:
    assert compact_iban(written) == "DE89370400440532013000"
    assert normalize_iban(written) == "DE89370400440532013000"


def test_compact_iban_does_not_judge_the_shape() -> None:
    assert compact_iban("kto 1234-56") == "KTO123456"
    assert compact_iban("") == ""
    with pytest.raises(ValueError, match="not an IBAN"):
        normalize_iban("kto 1234-56")


iban_bodies = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=11, max_size=30)


@given(
    st.sampled_from(["DE", "AT", "NL", "GB"]),
    st.integers(min_value=0, max_value=99),
    iban_bodies,
    st.data(),
)
def test_normalising_is_idempotent_and_ignores_spacing_and_case(
    country: str, check: int, body: str, data: st.DataObject
) -> None:
    iban = f"{country}{check:02d}{body}"
    fillers = st.sampled_from(["", " ", "  ", "-", "\t"])
    written = "".join(char + data.draw(fillers) for char in iban)
    if data.draw(st.booleans()):
        written = written.lower()
    assert normalize_iban(written) == iban
    assert normalize_iban(iban) == iban
    assert compact_iban(written) == iban


# -- Qonto ---------------------------------------------------------------------------------


def qonto(**data_changes: Any) -> dict[str, Any]:
    return {**QONTO_FIXTURE, "data": {**QONTO_FIXTURE["data"], **data_changes}}


def test_qonto_fixture_becomes_a_booked_credit() -> None:
    transaction = from_qonto(QONTO_FIXTURE)
    assert transaction.source == "qonto"
    assert transaction.transaction_id == "3f0c7c1e-0000-4000-8000-000000000004"
    assert transaction.bank_reference == "muster-gmbh-1234"
    assert transaction.amount == Decimal("123.89")
    assert transaction.is_booked_credit
    assert transaction.booking_date == dt.date(2025, 1, 20)
    assert transaction.counterparty.name == "Muster GmbH"
    assert transaction.counterparty.iban == "DE89370400440532013000"
    assert transaction.counterparty.bic == "COBADEFFXXX"
    assert transaction.remittance_information == "RE-2025-0012 Kd-Nr 4711"


def test_qonto_booking_date_is_the_berlin_date() -> None:
    late = from_qonto(qonto(settled_at="2025-01-20T23:30:00Z"))
    assert late.booking_date == dt.date(2025, 1, 21)


def test_qonto_time_without_an_offset_is_utc_like_all_of_qontos_times() -> None:
    late = from_qonto(qonto(settled_at="2025-01-20T23:30:00"))
    assert late.booking_date == late.value_date == dt.date(2025, 1, 21)
    summer = from_qonto(qonto(settled_at="2025-06-30T21:59:00"))  # 23:59 CEST
    assert summer.booking_date == dt.date(2025, 6, 30)


def test_qonto_settlement_time_falls_back_to_emission_and_must_be_in_range() -> None:
    emitted = from_qonto(qonto(settled_at=None, emitted_at="2025-03-30T22:30:00Z"))
    assert emitted.booking_date == dt.date(2025, 3, 31)
    with pytest.raises(ValueError, match="out of range"):
        from_qonto(qonto(settled_at="9999-12-31T23:59:59-23:59"))
    with pytest.raises(ValueError, match="needs a settlement time"):
        from_qonto(qonto(settled_at="gestern", emitted_at=None))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("completed", TransactionStatus.BOOKED),
        ("pending", TransactionStatus.PENDING),
        ("declined", TransactionStatus.REJECTED),
        ("reversed", TransactionStatus.REJECTED),
    ],
)
def test_qonto_status(status: str, expected: TransactionStatus) -> None:
    assert from_qonto(qonto(status=status)).status is expected


def test_qonto_debit_is_a_debit() -> None:
    transaction = from_qonto(qonto(side="debit"))
    assert transaction.direction is Direction.DEBIT
    assert not transaction.is_booked_credit


def test_qonto_amount_cents_win_over_the_float() -> None:
    assert from_qonto(qonto(amount=123.8899, amount_cents=12389)).amount == Decimal("123.89")


def test_qonto_account_number_that_is_no_iban_is_dropped() -> None:
    transfer = {
        "counterparty_account_number": "12345678",
        "counterparty_account_number_format": "x",
    }
    assert from_qonto(qonto(transfer=transfer)).counterparty.iban is None


def test_other_qonto_events_are_ignored() -> None:
    with pytest.raises(QontoEventIgnored):
        from_qonto({**QONTO_FIXTURE, "type": "v1/cards"})


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "v1/transactions", "data": {"id": "x"}}, "data.settled_at"),
        ({"type": "v1/transactions"}, "data"),
        ({"data": {}}, "type"),
        ([], "body"),
    ],
)
def test_malformed_qonto_event_is_refused(event: Any, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        from_qonto(event)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": -5}, "data.amount"),
        ({"side": "sideways"}, "data.side"),
        ({"currency": "Euro"}, "data.currency"),
        ({"id": ""}, "data.id"),
    ],
)
def test_bad_qonto_fields_are_named_as_qonto_names_them(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        from_qonto(qonto(**changes))


# -- one transfer through several channels -------------------------------------------------

OUR_IBAN = "DE02120300000000202051"
OTHER_IBAN = "DE89370400440532013000"


def arrival(source: str, transaction_id: str, **changes: Any) -> BankTransaction:
    """One transfer as a channel delivers it (our account, bank reference, no end-to-end id)."""
    fields = {
        **SCHEMA_EXAMPLE,
        "source": source,
        "transaction_id": transaction_id,
        "account_iban": OUR_IBAN,
        "amount": "1190.00",
        "booking_date": "2026-11-24",
        "value_date": "2026-11-24",
        "end_to_end_id": None,
        "bank_reference": "2026112400017",
        **changes,
    }
    return from_bank_json(fields)


def share_a_key(first: BankTransaction, second: BankTransaction) -> bool:
    return bool(set(first.transfer_keys) & set(second.transfer_keys))


def test_webhook_and_statement_of_one_transfer_have_the_same_keys() -> None:
    webhook = arrival("fints", "2026112400017")
    statement = arrival("camt053", f"{OUR_IBAN}:2026112400017")
    assert webhook.transfer_keys == statement.transfer_keys == transfer_keys(webhook)
    assert webhook.transfer_keys == (
        f"{OUR_IBAN}|ref|2026112400017|119000|EUR",
        "ref|2026112400017|119000|EUR",
    )


def test_references_are_compared_without_case_and_whitespace() -> None:
    assert normalize_reference(" ab 12\tcd ") == "AB12CD"
    plain = arrival("fints", "1", bank_reference="ABC-2026-17")
    spaced = arrival("camt053", "2", bank_reference="abc-2026 -17")
    assert plain.transfer_keys == spaced.transfer_keys


@pytest.mark.parametrize("placeholder", ["NOTPROVIDED", "NONREF", "nonref", " - ", "", None])
def test_placeholders_are_no_reference(placeholder: str | None) -> None:
    assert normalize_reference(placeholder) is None
    no_identity = arrival("fints", "1", bank_reference=placeholder, end_to_end_id=placeholder)
    assert no_identity.transfer_keys == ()


def test_transfer_without_reference_and_end_to_end_id_has_no_key() -> None:
    assert (
        arrival("fints", "1", bank_reference=None, end_to_end_id="NOTPROVIDED").transfer_keys == ()
    )


def test_different_bank_references_are_different_transfers() -> None:
    first = arrival("fints", "1", bank_reference="2026112400017")
    lookalike = arrival("fints", "2", bank_reference="2026112400018")
    assert not share_a_key(first, lookalike)


@pytest.mark.parametrize("change", [{"amount": "1190.01"}, {"currency": "USD"}])
def test_another_amount_or_currency_is_never_the_same_transfer(change: dict[str, str]) -> None:
    assert not share_a_key(arrival("fints", "1"), arrival("camt053", "2", **change))


def test_amount_in_the_key_is_in_cents() -> None:
    assert arrival("fints", "1", amount="0.5").transfer_keys[-1] == "ref|2026112400017|50|EUR"


def test_end_to_end_id_amount_and_value_date_identify_a_transfer_without_reference() -> None:
    webhook = arrival("fints", "1", bank_reference=None, end_to_end_id="re-1042 ")
    statement = arrival("camt053", "2", bank_reference=None, end_to_end_id="RE-1042")
    assert webhook.transfer_keys == statement.transfer_keys
    assert "e2e|RE-1042|119000|EUR|2026-11-24" in webhook.transfer_keys
    next_day = arrival(
        "camt053", "3", bank_reference=None, end_to_end_id="RE-1042", value_date="2026-11-25"
    )
    assert not share_a_key(webhook, next_day)


def test_without_value_date_the_booking_date_counts() -> None:
    undated = arrival("fints", "1", bank_reference=None, end_to_end_id="E2E-7", value_date=None)
    dated = arrival("camt053", "2", bank_reference=None, end_to_end_id="E2E-7")
    assert undated.transfer_keys == dated.transfer_keys


def test_reference_and_end_to_end_id_both_identify_a_transfer() -> None:
    """A channel that lacks the bank reference still meets one that has both."""
    full = arrival("camt053", "1", end_to_end_id="RE-1042")
    without_reference = arrival("fints", "2", bank_reference=None, end_to_end_id="RE-1042")
    without_end_to_end_id = arrival("qonto", "3", account_iban=None)
    assert share_a_key(full, without_reference)
    assert share_a_key(full, without_end_to_end_id)
    assert len(full.transfer_keys) == 4


def test_qonto_without_account_meets_the_statement_of_its_account() -> None:
    qonto = from_qonto(QONTO_FIXTURE)
    assert qonto.account_iban is None
    assert qonto.transfer_keys == ("ref|MUSTER-GMBH-1234|12389|EUR",)
    statement = arrival(
        "camt053",
        f"{OUR_IBAN}:muster-gmbh-1234",
        bank_reference="muster-gmbh-1234",
        amount="123.89",
    )
    assert share_a_key(qonto, statement)
    assert may_be_one_transfer(qonto.account_iban, statement.account_iban)


def test_the_same_reference_on_two_of_our_accounts_is_two_transfers() -> None:
    ours = arrival("camt053", "1")
    other_account = arrival("camt053", "2", account_iban=OTHER_IBAN)
    shared = set(ours.transfer_keys) & set(other_account.transfer_keys)
    assert shared == {"ref|2026112400017|119000|EUR"}  # the key an arrival without account uses
    assert not may_be_one_transfer(ours.account_iban, other_account.account_iban)
    # ... and each still meets its own twin through the key with its account
    assert f"{OTHER_IBAN}|ref|2026112400017|119000|EUR" in other_account.transfer_keys


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (OUR_IBAN, OUR_IBAN, True),
        (OUR_IBAN, None, True),
        (None, OUR_IBAN, True),
        (None, None, True),
        (OUR_IBAN, OTHER_IBAN, False),
    ],
)
def test_may_be_one_transfer(first: str | None, second: str | None, expected: bool) -> None:
    assert may_be_one_transfer(first, second) is expected


def test_camt_batch_member_is_not_identified_by_the_batch_reference() -> None:
    """Members of a Sammelgutschrift share the entry's AcctSvcrRef; their ids end in ``:<n>``."""
    members = [
        arrival("camt053", f"{OUR_IBAN}:2026112590000001:{n}", bank_reference="2026112590000001")
        for n in (1, 2)
    ]
    assert members[0].transfer_keys == members[1].transfer_keys == ()
    with_end_to_end_id = arrival(
        "camt053",
        f"{OUR_IBAN}:2026112590000001:3",
        bank_reference="2026112590000001",
        end_to_end_id="WEBER-2026-11-88",
    )
    assert all("|e2e|" in k or k.startswith("e2e|") for k in with_end_to_end_id.transfer_keys)
    own_reference = arrival(
        "camt053", f"{OUR_IBAN}:2026112590000001", bank_reference="2026112590000001"
    )
    assert own_reference.transfer_keys != ()


def test_a_long_reference_becomes_a_bounded_key() -> None:
    long = arrival("fints", "1", bank_reference="X" * 500).transfer_keys
    assert all(len(key) <= 200 for key in long)
    assert long == arrival("camt053", "2", bank_reference="x" * 500).transfer_keys
    assert long != arrival("camt053", "3", bank_reference="X" * 499 + "Y").transfer_keys


@given(
    cents=st.integers(min_value=1, max_value=10**11 - 1),
    reference=st.text(min_size=1, max_size=300),
    source=st.sampled_from(["fints", "camt053", "qonto", "labelled"]),
    transaction_id=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
    ),
)
def test_keys_depend_on_the_transfer_not_on_the_channel(
    cents: int, reference: str, source: str, transaction_id: str
) -> None:
    amount = str(Decimal(cents) / 100)
    one = arrival("fints", "x", amount=amount, bank_reference=reference)
    other = arrival(source, transaction_id, amount=amount, bank_reference=reference)
    if source != "camt053":
        assert one.transfer_keys == other.transfer_keys
    assert all(len(key) <= 200 for key in other.transfer_keys)
    assert sorted(other.transfer_keys) == list(other.transfer_keys)
