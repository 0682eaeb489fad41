"""Which invoice a transfer pays: the number finder and rules 1–5, on plain values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from bank_payment.matching import (
    ClientFacts,
    Decision,
    OpenInvoice,
    PayerRule,
    ReferenceFinder,
    ReviewReason,
    Rule,
    atoms,
    decide,
    fold,
    payer_name_matches,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from autopilot.bank_transactions import BankTransaction
from autopilot.money import german_amount

TODAY = dt.date(2026, 11, 25)
HOFFMANN, SCHULZE, KELLER, MUELLER = 10, 11, 12, 13
IBAN_HOFFMANN = "DE67370400445260181590"
IBAN_KELLER = "DE63500105176091390996"
UNKNOWN_IBAN = "DE89370400440532013000"


def invoice(
    id: int,
    number: str,
    amount: str,
    client_id: int | None = None,
    *,
    total: str | None = None,
    currency: str = "EUR",
    discount_rate: str | None = None,
    discount_date: dt.date | None = None,
) -> OpenInvoice:
    return OpenInvoice(
        id=id,
        number=number,
        open_amount=Decimal(amount),
        total_gross=Decimal(total or amount),
        currency=currency,
        client_id=client_id,
        discount_rate=Decimal(discount_rate) if discount_rate else None,
        discount_date=discount_date,
    )


OPEN = [
    invoice(1, "RE1042", "1190.00", HOFFMANN),
    invoice(2, "RE1043", "238.00", SCHULZE),
    invoice(3, "RE1044", "357.00", SCHULZE),
    invoice(4, "RE104", "50.00", MUELLER),
    invoice(
        5,
        "RE1045",
        "1428.00",
        KELLER,
        discount_rate="2",
        discount_date=dt.date(2026, 11, 26),
    ),
    invoice(6, "RE1049", "119.00", KELLER),
    invoice(7, "RE1057", "714.00", MUELLER),
    invoice(8, "RE1058", "714.00", MUELLER),
    invoice(9, "RE1062", "1380.00", HOFFMANN, total="2380.00"),
    invoice(10, "RE1056", "500.00", 14, currency="USD"),
    invoice(11, "RE2026", "1071.00", 15),
]


@dataclass
class FakePayers:
    """In-memory payer facts (what DynamoDB and Billomat answer in production)."""

    ibans: dict[str, set[int]] = field(default_factory=dict)
    clients: dict[int, ClientFacts] = field(
        default_factory=lambda: {
            HOFFMANN: ClientFacts(HOFFMANN, name="Elektro Hoffmann GmbH"),
            SCHULZE: ClientFacts(SCHULZE, name="Bäckerei Schulze e.K."),
            KELLER: ClientFacts(KELLER, name="Anna Keller", first_name="Anna", last_name="Keller"),
            MUELLER: ClientFacts(
                MUELLER, name="Müller Haustechnik GmbH", bank_iban="DE71600501018190937865"
            ),
            14: ClientFacts(14, name="Acme Inc."),
            15: ClientFacts(15, name="Fischer Logistik AG"),
        }
    )
    looked_up: list[int] = field(default_factory=list)

    def clients_for_iban(self, iban: str) -> frozenset[int]:
        return frozenset(self.ibans.get(iban, set()))

    def client(self, client_id: int) -> ClientFacts | None:
        self.looked_up.append(client_id)
        return self.clients.get(client_id)


def transfer(
    text: str | None,
    amount: str,
    *,
    payer: str | None = "Irgendwer",
    iban: str | None = UNKNOWN_IBAN,
    currency: str = "EUR",
    on: dt.date = TODAY,
    **extra: Any,
) -> BankTransaction:
    return BankTransaction.model_validate(
        {
            "source": "test",
            "transaction_id": "tx-1",
            "status": "booked",
            "direction": "credit",
            "amount": amount,
            "currency": currency,
            "booking_date": on,
            "counterparty": {"name": payer, "iban": iban},
            "remittance_information": text,
            **extra,
        }
    )


def named(text: str, candidates: list[OpenInvoice] = OPEN) -> list[str]:
    found = ReferenceFinder(candidates).find(transfer(text, "1.00"))
    return sorted(i.number for i in found.invoices.values())


def decided(transaction: BankTransaction, payers: FakePayers | None = None, **kw: Any) -> Decision:
    return decide(transaction, OPEN, payers or FakePayers(), **kw)


def bookings(decision: Decision) -> list[tuple[str, str, bool]]:
    return [(b.invoice_number, str(b.amount), b.mark_paid) for b in decision.bookings]


# -- finding numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "RE1042",
        "re1042",
        "RE 1042",
        "RE-1042",
        "RE.1042",
        "RE01042",
        "Rechnung RE 1042",
        "Rechnung 1042",
        "Rechnungsnr. 1042",
        "Rechnungsnummer:1042",
        "Rechnungs-Nr. 1042",
        "Rg.-Nr. 1042",
        "Rg 1042",
        "rg1042",
        "RG-NR.1042",
        "Re.Nr.1042",
        "Re-Nr 1042",
        "Invoice 1042",
        "Invoice no. 1042",
        "Invoice #1042",
        "Inv 1042",
        "SVWZ+RE1042",
        "Zahlung RE1042 vielen Dank",
        "(RE1042)",
        "Rechnung RE1042 vom 15.01.2025",
    ],
)
def test_number_is_found_however_it_is_written(text: str) -> None:
    assert named(text) == ["RE1042"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RE104", ["RE104"]),
        ("RE104 Altauftrag", ["RE104"]),
        ("RE10420", []),
        ("XRE1042", []),
        ("RE1042A", []),
        ("ARE1042", []),
        ("INV-1042-7", []),
    ],
)
def test_numbers_match_only_at_token_boundaries(text: str, expected: list[str]) -> None:
    assert named(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Kd-Nr 1042",
        "Kundennummer 1042",
        "Kd.-Nr. 1042",
        "Auftrag 1042",
        "Bestellung 1043",
        "Vertrag 1042",
        "vom 10.42.2026",
        "IBAN DE89 3704 0044 0532 0130 00",
        "DE74 5001 0517 1043 2288 19",
        "DE74500105171043228819",
        "Betrag 1.042,00 EUR",
        "1042,00",
        "EUR 1042.00",
        "1042 EUR",
        "Miete Dezember",
        "Gehalt 11/2026",
    ],
)
def test_customer_numbers_dates_ibans_and_amounts_name_nothing(text: str) -> None:
    found = ReferenceFinder(OPEN).find(transfer(text, "1.00"))
    assert found.invoices == {}
    assert found.weak == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RE1042 RE1043", ["RE1042", "RE1043"]),
        ("RE1042RE1043", ["RE1042", "RE1043"]),
        ("RE1043, 1044", ["RE1043", "RE1044"]),
        ("RE1043 / 1044", ["RE1043", "RE1044"]),
        ("RE1043 + RE1044", ["RE1043", "RE1044"]),
        ("Rechnungen 1043 und 1044", ["RE1043", "RE1044"]),
        ("Rechnung 1043 u. 1044", ["RE1043", "RE1044"]),
        ("RE1043 1044", ["RE1043", "RE1044"]),
        ("RE1043 1044 1049", ["RE1043", "RE1044", "RE1049"]),
        ("RE1042, Kd-Nr 1043", ["RE1042"]),
    ],
)
def test_several_numbers_in_one_text(text: str, expected: list[str]) -> None:
    assert named(text) == expected


def test_numbers_with_groups_and_leading_zeros() -> None:
    candidates = [invoice(1, "RE-2025-0012", "123.89")]
    for text in ("RE-2025-0012", "RE 2025 0012", "RE20250012", "re2025-12", "Rechnung 2025-0012"):
        assert named(text, candidates) == ["RE-2025-0012"], text
    assert named("RE-2025-0013", candidates) == []
    assert named("Rechnung 2025", candidates) == []


def test_numbers_without_prefix_match_bare_but_not_after_other_number_words() -> None:
    candidates = [invoice(1, "20417", "100.00"), invoice(2, "512", "50.00")]
    assert named("Zahlung 20417", candidates) == ["20417"]
    assert named("Rechnung 512", candidates) == ["512"]
    assert named("Kundennr. 20417", candidates) == []
    assert named("512", candidates) == []  # too short to stand alone


def test_bare_digits_of_a_prefixed_number_are_only_weak_evidence() -> None:
    found = ReferenceFinder(OPEN).find(transfer("Beleg 1049", "1.00"))
    assert found.invoices == {}
    assert [i.number for i in found.weak.values()] == ["RE1049"]


def test_a_year_is_not_a_bare_invoice_number() -> None:
    found = ReferenceFinder(OPEN).find(transfer("Jahresbeitrag 2026", "1071.00"))
    assert found.weak == {}


def test_invoice_words_or_prefixes_before_other_numbers_are_foreign_references() -> None:
    finder = ReferenceFinder(OPEN)
    assert finder.find(transfer("RE1040", "1.00")).foreign == ["RE 1040"]
    assert finder.find(transfer("Rechnung 999", "1.00")).foreign == ["RECHNUNG 999"]
    assert finder.find(transfer("RE1042, 4711", "1.00")).foreign == ["4711"]
    assert finder.find(transfer("RE1042 4711", "1.00")).foreign == []  # a space is no list mark
    assert finder.find(transfer("Rechnung vom 15.01.2025", "1.00")).foreign == []


def test_end_to_end_id_counts_only_our_exact_numbers() -> None:
    finder = ReferenceFinder(OPEN)
    found = finder.find(transfer("Sammelzahlung", "1.00", end_to_end_id="RE1049"))
    assert [i.number for i in found.invoices.values()] == ["RE1049"]
    payer_id = finder.find(transfer("RE1049", "1.00", end_to_end_id="INV-2026-0099"))
    assert [i.number for i in payer_id.invoices.values()] == ["RE1049"]
    assert payer_id.foreign == []


def test_structured_creditor_reference_names_the_invoice() -> None:
    finder = ReferenceFinder(OPEN)
    found = finder.find(transfer(None, "1.00", creditor_reference="RF70RE1042"))
    assert [i.number for i in found.invoices.values()] == ["RE1042"]
    digits_only = finder.find(transfer(None, "1.00", creditor_reference="RF18 1043"))
    assert [i.number for i in digits_only.invoices.values()] == ["RE1043"]
    unknown = finder.find(transfer(None, "1.00", creditor_reference="RF131099"))
    assert unknown.foreign == ["RECHNUNG 1099"]


def test_folding_spells_out_umlauts() -> None:
    assert fold("Müller Straße") == "MUELLER STRASSE"
    assert [a.text for a in atoms("Rg.-Nr.1042/Ä")] == ["RG", "NR", "1042", "AE"]


@given(number=st.integers(min_value=1, max_value=99999), extra=st.integers(0, 9))
def test_a_longer_number_never_matches_a_shorter_one(number: int, extra: int) -> None:
    candidates = [invoice(1, f"RE{number}", "10.00")]
    assert named(f"RE{number}{extra}", candidates) == []
    assert named(f"Rechnung {number}{extra}", candidates) == []
    assert named(f"RE{number}", candidates) == [f"RE{number}"]


@given(text=st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=140))
def test_text_without_digits_names_nothing(text: str) -> None:
    found = ReferenceFinder(OPEN).find(transfer(text or None, "1.00"))
    assert (found.invoices, found.weak, found.foreign) == ({}, {}, [])


@given(
    day=st.integers(1, 28),
    month=st.integers(1, 12),
    year=st.integers(2000, 2099),
)
def test_dates_never_name_an_invoice(day: int, month: int, year: int) -> None:
    candidates = [invoice(1, f"{day}{month:02d}", "1.00"), invoice(2, str(year), "1.00")]
    for text in (f"vom {day}.{month}.{year}", f"{year}-{month:02d}-{day:02d}"):
        found = ReferenceFinder(candidates).find(transfer(text, "1.00"))
        assert found.invoices == {}, text


# -- rules ---------------------------------------------------------------------------------


def test_rule_1_one_number_and_the_open_amount_books_it() -> None:
    decision = decided(transfer("Rechnung RE 1042", "1190.00"))
    assert decision.rule is Rule.FULL
    assert bookings(decision) == [("RE1042", "1190.00", False)]


def test_rule_1_uses_the_open_amount_after_earlier_payments() -> None:
    assert bookings(decided(transfer("RE1062", "1380.00"))) == [("RE1062", "1380.00", False)]
    assert decided(transfer("RE1062", "2380.00")).reason is ReviewReason.OVERPAYMENT


def test_rule_2_less_than_open_books_a_partial_payment() -> None:
    decision = decided(transfer("RE-1042 Teilzahlung", "500.00"))
    assert decision.rule is Rule.PARTIAL
    assert bookings(decision) == [("RE1042", "500.00", False)]


def test_rule_2_early_payment_discount_within_the_period_marks_paid() -> None:
    decision = decided(transfer("RE1045 abzgl. 2% Skonto", "1399.44"))
    assert decision.rule is Rule.DISCOUNT
    assert bookings(decision) == [("RE1045", "1399.44", True)]


def test_rule_2_discount_on_the_last_day_counts_and_a_day_later_does_not() -> None:
    last_day = transfer("RE1045", "1399.44", on=dt.date(2026, 11, 26))
    assert bookings(decided(last_day)) == [("RE1045", "1399.44", True)]
    late = transfer("RE1045", "1399.44", on=dt.date(2026, 11, 27))
    assert decided(late).rule is Rule.PARTIAL
    assert bookings(decided(late)) == [("RE1045", "1399.44", False)]


def test_rule_2_other_shortfalls_are_partial_payments_not_discounts() -> None:
    assert bookings(decided(transfer("RE1045 Skonto", "1399.45"))) == [("RE1045", "1399.45", False)]
    assert bookings(decided(transfer("RE1042 Skonto", "1166.20"))) == [("RE1042", "1166.20", False)]


def test_rule_3_several_numbers_and_their_sum_books_each() -> None:
    decision = decided(transfer("RE1043 RE1044", "595.00"))
    assert decision.rule is Rule.SEVERAL
    assert bookings(decision) == [("RE1043", "238.00", False), ("RE1044", "357.00", False)]


def test_rule_3_with_discounts_all_within_their_periods() -> None:
    other = invoice(
        12, "RE1064", "238.00", KELLER, discount_rate="2", discount_date=dt.date(2026, 11, 30)
    )
    decision = decide(transfer("RE1045 RE1064", "1632.68"), [*OPEN, other], FakePayers())
    assert bookings(decision) == [("RE1045", "1399.44", True), ("RE1064", "233.24", True)]


def test_rule_3_sum_that_does_not_add_up_goes_to_review() -> None:
    decision = decided(transfer("RE1043 RE1044", "500.00"))
    assert decision.reason is ReviewReason.SUM_MISMATCH
    assert decision.bookings == ()
    assert [c.number for c in decision.candidates] == ["RE1043", "RE1044"]


def test_bare_number_confirmed_by_the_exact_amount_is_booked() -> None:
    assert bookings(decided(transfer("1042", "1190.00"))) == [("RE1042", "1190.00", False)]
    assert bookings(decided(transfer("1043 1044", "595.00"))) == [
        ("RE1043", "238.00", False),
        ("RE1044", "357.00", False),
    ]
    assert bookings(decided(transfer("Beleg 1045", "1399.44"))) == [("RE1045", "1399.44", True)]


def test_bare_number_with_another_amount_is_left_to_rule_4() -> None:
    decision = decided(transfer("1042", "500.00", payer="Elektro Hoffmann GmbH"))
    assert decision.reason is ReviewReason.NO_MATCH


def test_rule_4_known_iban_and_a_unique_amount_books_it() -> None:
    payers = FakePayers(ibans={IBAN_KELLER: {KELLER}})
    decision = decided(transfer("Zahlung", "119.00", payer="A. K.", iban=IBAN_KELLER), payers)
    assert decision.rule is Rule.PAYER_AMOUNT
    assert bookings(decision) == [("RE1049", "119.00", False)]


def test_rule_4_iban_from_the_billomat_client_counts_as_known() -> None:
    payers = FakePayers()
    payers.clients[KELLER] = ClientFacts(KELLER, name="Anna Keller", bank_iban=IBAN_KELLER)
    assert bookings(decided(transfer("Danke", "119.00", iban=IBAN_KELLER), payers)) == [
        ("RE1049", "119.00", False)
    ]


@pytest.mark.parametrize(
    "typed_in_billomat", ["de63 5001 0517 6091 3909 96", "DE63-5001-0517-6091-3909-96"]
)
def test_rule_4_billomat_iban_counts_however_it_was_typed(typed_in_billomat: str) -> None:
    payers = FakePayers()
    payers.clients[KELLER] = ClientFacts(KELLER, name="X", bank_iban=typed_in_billomat)
    assert bookings(decided(transfer("Danke", "119.00", iban=IBAN_KELLER), payers)) == [
        ("RE1049", "119.00", False)
    ]


def test_rule_4_a_billomat_iban_of_another_account_does_not_count() -> None:
    payers = FakePayers()
    payers.clients[KELLER] = ClientFacts(KELLER, name="X", bank_iban=IBAN_HOFFMANN)
    assert decided(transfer("Danke", "119.00", iban=IBAN_KELLER), payers).is_review


@pytest.mark.parametrize("payer", ["ANNA KELLER", "Keller, Anna", "Dr. Anna Keller", "anna keller"])
def test_rule_4_payer_known_by_name(payer: str) -> None:
    assert bookings(decided(transfer("Danke", "119.00", payer=payer))) == [
        ("RE1049", "119.00", False)
    ]


def test_rule_4_known_iban_wins_over_a_name() -> None:
    payers = FakePayers(ibans={IBAN_HOFFMANN: {HOFFMANN}})
    decision = decided(
        transfer("Zahlung", "119.00", payer="Anna Keller", iban=IBAN_HOFFMANN), payers
    )
    assert decision.reason is ReviewReason.NO_MATCH


def test_rule_4_two_invoices_of_the_payer_with_the_amount_is_ambiguous() -> None:
    decision = decided(transfer("Zahlung", "714.00", iban="DE71600501018190937865"))
    assert decision.reason is ReviewReason.AMBIGUOUS_PAYER_MATCH
    assert [c.number for c in decision.candidates] == ["RE1057", "RE1058"]


def test_rule_4_unknown_payer_goes_to_review_with_the_invoices_of_the_amount() -> None:
    decision = decided(transfer("Zahlung", "714.00", payer="Max Mustermann"))
    assert decision.reason is ReviewReason.NO_MATCH
    assert [c.number for c in decision.candidates] == ["RE1057", "RE1058"]


def test_rule_4_can_be_limited_to_ibans_or_switched_off() -> None:
    by_name = transfer("Danke", "119.00", payer="Anna Keller")
    assert decided(by_name, payer_rule=PayerRule.IBAN).is_review
    known = FakePayers(ibans={IBAN_KELLER: {KELLER}})
    by_iban = transfer("Danke", "119.00", iban=IBAN_KELLER)
    assert not decided(by_iban, known, payer_rule=PayerRule.IBAN).is_review
    assert decided(by_iban, known, payer_rule=PayerRule.OFF).is_review


def test_rule_4_looks_up_only_the_clients_of_invoices_with_the_amount() -> None:
    payers = FakePayers()
    decided(transfer("Danke", "119.00", payer="Anna Keller"), payers)
    assert set(payers.looked_up) == {KELLER}
    payers.looked_up.clear()
    decided(transfer("RE1042", "1190.00"), payers)
    assert payers.looked_up == []


def test_review_overpayment() -> None:
    decision = decided(transfer("RE1042", "1200.00"))
    assert decision.reason is ReviewReason.OVERPAYMENT
    assert "1.200,00 EUR" in decision.message
    assert "1.190,00 EUR" in decision.message


def test_review_number_of_a_paid_or_cancelled_invoice() -> None:
    decision = decided(transfer("RE1040", "300.00", payer="Elektro Hoffmann GmbH"))
    assert decision.reason is ReviewReason.REFERENCE_NOT_OPEN
    assert "RE 1040" in decision.message


def test_review_open_and_closed_numbers_together() -> None:
    assert decided(transfer("RE1042 RE1040", "1190.00")).reason is ReviewReason.REFERENCE_NOT_OPEN


def test_review_other_currency_than_the_invoice() -> None:
    assert decided(transfer("RE1042", "1190.00", currency="USD")).reason is (
        ReviewReason.CURRENCY_MISMATCH
    )
    assert decided(transfer("RE1056", "465.00")).reason is ReviewReason.CURRENCY_MISMATCH
    assert bookings(decided(transfer("RE1056", "500.00", currency="USD"))) == [
        ("RE1056", "500.00", False)
    ]


def test_rule_4_compares_only_invoices_in_the_transfer_currency() -> None:
    decision = decided(transfer("Zahlung", "500.00", payer="Acme Inc."))
    assert decision.reason is ReviewReason.NO_MATCH


def test_invoices_without_an_open_amount_are_no_candidates() -> None:
    settled = invoice(1, "RE1042", "0.00", HOFFMANN, total="1190.00")
    decision = decide(transfer("RE1042", "1190.00"), [settled], FakePayers())
    assert decision.reason is ReviewReason.REFERENCE_NOT_OPEN


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
    text=st.sampled_from(["RE1042", "Rg.-Nr. 1045", "RE1043 RE1044", "Zahlung", "1049", "RE1040"]),
    payer=st.sampled_from(["Anna Keller", "Elektro Hoffmann GmbH", "Max Mustermann", None]),
)
def test_bookings_never_exceed_the_transfer_or_an_open_amount(
    amount: Decimal, text: str, payer: str | None
) -> None:
    decision = decided(transfer(text, str(amount), payer=payer))
    assume(not decision.is_review)
    assert sum(b.amount for b in decision.bookings) == amount
    by_id = {i.id: i for i in OPEN}
    for booking in decision.bookings:
        assert booking.amount <= by_id[booking.invoice_id].open_amount


# -- payers and messages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer", "client", "expected"),
    [
        ("MUSTER GMBH", ClientFacts(1, name="Muster GmbH & Co. KG"), True),
        ("Mustermann, Max", ClientFacts(1, name="Max Mustermann"), True),
        (
            "Max Mustermann",
            ClientFacts(1, name="Firma X", first_name="Max", last_name="Mustermann"),
            True,
        ),
        ("Mueller Haustechnik", ClientFacts(1, name="Müller Haustechnik GmbH"), True),
        ("Muster Bau GmbH", ClientFacts(1, name="Muster GmbH"), False),
        ("Muster", ClientFacts(1, name="Muster Bau GmbH"), False),
        ("GmbH", ClientFacts(1, name="GmbH"), False),
        (None, ClientFacts(1, name="Muster GmbH"), False),
    ],
)
def test_payer_names_match_word_for_word(
    payer: str | None, client: ClientFacts, expected: bool
) -> None:
    assert payer_name_matches(payer, client) is expected


def test_amounts_are_written_the_german_way() -> None:
    assert german_amount(Decimal("1190"), "EUR") == "1.190,00 EUR"
    assert german_amount(Decimal("0.5"), "USD") == "0,50 USD"
