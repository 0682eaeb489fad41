"""Which open invoice a bank transfer pays: plain functions over typed values.

Precision comes first: a wrong booking is worse than a missed one, so every doubt ends on the
review list (architecture.md §4, rules 1–5).

**Finding invoice numbers.** Only the numbers of the candidate invoices (OPEN and OVERDUE) are
looked for, in the remittance text, the end-to-end id and the creditor reference. The text is
folded (upper case, umlauts spelled out) and cut into *atoms*, maximal runs of letters or of
digits; a number matches whole atoms only, so ``RE104`` never matches ``RE1042`` (atom ``1042``),
and ``XRE1042`` is not ``RE1042`` (atom ``XRE``). Spaces, dots and hyphens between a number's
atoms do not matter (``RE 1042``, ``re-1042``, ``RE1042``), digit groups may be run together
(``RE20250012`` for ``RE-2025-0012``) and leading zeros are ignored. A number counts as named:

- with its own prefix: ``RE1042``, ``Rechnung RE 1042``;
- after an invoice word, with or without "Nr.": ``Rechnung 1042``, ``Rg.-Nr. 1042``,
  ``Re.Nr.1042``, ``Invoice #1042`` — the prefix may then be left out;
- in a list after such a number: ``RE1042, 1043``, ``Rechnungen 1042 und 1043``;
- bare (``1042``), never right after a customer, order or contract number word
  (``Kd-Nr 4711``) nor before a currency (``1042 EUR``). For numbers without a letter prefix
  (at least four digits) this is the number itself; for ``RE1042`` a bare ``1042`` is *weak*
  evidence: it counts only when the amount confirms it exactly (see below), and never when it
  reads as a year (``Beitrag 2026`` is not RE2026).

Dates (``15.01.2025``), IBANs (checksum-valid) and amounts (``1.190,00``, ``1190.00``) are
blanked first. An invoice word or prefix followed by a number that is *not* an open invoice (a paid,
cancelled or unknown one) is remembered as a foreign reference: the transfer then goes to review
instead of rule 4.

**Deciding** (amounts exact, no tolerance; currency must equal the invoice's):

1. one invoice named, amount = its open amount → book it (Billomat marks it PAID);
2. one invoice named, amount below → partial payment; marked paid only when the difference is
   exactly its early-payment discount (``discount_rate`` of the gross total) and the booking
   date is within ``discount_date``;
3. several named, amount = the sum of their open amounts (or of their discounted amounts, all
   within their periods) → book each;
4. none named, no foreign reference: a weak (bare) reference whose open amount — or sum of
   open amounts, or discounted amount within the period — equals the amount exactly is booked
   like rules 1–3; otherwise the payer's open invoices (payer known by IBAN — seen on an
   earlier confident booking or the client's IBAN in Billomat — else by exact name) with exactly
   this amount; exactly one → book it;
5. anything else → review, with the reason and the candidate invoices.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from autopilot.bank_transactions import compact_iban, iban_checksum_ok
from autopilot.money import HUNDRED, ZERO, german_amount, to_cents

if TYPE_CHECKING:
    from autopilot.bank_transactions import BankTransaction
    from autopilot.billomat import Invoice

# -------------------------------------------------------------------------------------------
# The values the rules work on
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvoice:
    """A candidate: an OPEN or OVERDUE invoice with what matching needs of it."""

    id: int
    number: str
    open_amount: Decimal
    total_gross: Decimal
    currency: str = "EUR"
    client_id: int | None = None
    discount_rate: Decimal | None = None
    """Early-payment discount (Skonto) in percent of the gross total."""
    discount_date: dt.date | None = None
    """Last day the discount may be taken."""

    @classmethod
    def from_billomat(cls, invoice: Invoice, default_currency: str = "EUR") -> OpenInvoice:
        """The candidate view of a Billomat invoice."""
        return cls(
            id=invoice.id,
            number=invoice.invoice_number or "",
            open_amount=invoice.open_amount,
            total_gross=invoice.total_gross,
            currency=(invoice.currency_code or default_currency).upper(),
            client_id=invoice.client_id,
            discount_rate=invoice.discount_rate,
            discount_date=invoice.discount_date,
        )

    def discounted_amount(self, on: dt.date) -> Decimal | None:
        """What settles the invoice with its early-payment discount on ``on``; None if none."""
        if not self.discount_rate or self.discount_rate <= 0 or self.discount_date is None:
            return None
        if on > self.discount_date:
            return None
        discount = to_cents(self.total_gross * self.discount_rate / HUNDRED)
        amount = self.open_amount - discount
        return amount if amount > 0 else None


@dataclass(frozen=True)
class ClientFacts:
    """What identifies a Billomat client as a payer."""

    id: int
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    bank_iban: str | None = None


class Payers(Protocol):
    """Look-ups about payers; the booking workflow backs them with DynamoDB and Billomat."""

    def clients_for_iban(self, iban: str) -> frozenset[int]:
        """Clients this IBAN paid for in earlier confident bookings."""
        ...

    def client(self, client_id: int) -> ClientFacts | None:
        """The client's name and IBAN as Billomat knows them."""
        ...


class PayerRule(StrEnum):
    """How rule 4 may recognise the payer (``BANK_PAYER_MATCH``)."""

    IBAN_OR_NAME = "iban_or_name"
    IBAN = "iban"
    OFF = "off"


class Rule(StrEnum):
    """Which rule decided."""

    FULL = "full_payment"
    PARTIAL = "partial_payment"
    DISCOUNT = "early_payment_discount"
    SEVERAL = "several_invoices"
    PAYER_AMOUNT = "known_payer_unique_amount"
    REVIEW = "review"


class ReviewReason(StrEnum):
    """Why a transfer was not booked."""

    OVERPAYMENT = "overpayment"
    SUM_MISMATCH = "sum_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    REFERENCE_NOT_OPEN = "reference_not_open"
    AMBIGUOUS_PAYER_MATCH = "ambiguous_payer_match"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class Booking:
    """One payment to book."""

    invoice_id: int
    invoice_number: str
    amount: Decimal
    mark_paid: bool = False


@dataclass(frozen=True)
class Decision:
    """Book these payments, or put the transfer on the review list (bookings empty)."""

    rule: Rule
    bookings: tuple[Booking, ...] = ()
    reason: ReviewReason | None = None
    message: str = ""
    candidates: tuple[OpenInvoice, ...] = ()
    """Invoices a person should look at (review), or the ones booked."""

    @property
    def is_review(self) -> bool:
        return not self.bookings

    @property
    def by_invoice_number(self) -> bool:
        """True for rules 1–3: the payer named the invoices (a confident booking)."""
        return self.rule in {Rule.FULL, Rule.PARTIAL, Rule.DISCOUNT, Rule.SEVERAL}


# -------------------------------------------------------------------------------------------
# Finding invoice numbers
# -------------------------------------------------------------------------------------------

INVOICE_WORDS = frozenset(
    {
        "RECHNUNG",
        "RECHNUNGEN",
        "RECHNUNGS",
        "RECHNUNGSNR",
        "RECHNUNGSNUMMER",
        "RECHNUNGSNUMMERN",
        "RECHN",
        "RECH",
        "RG",
        "RGN",
        "RGNR",
        "RGS",
        "RE",
        "RENR",
        "RNR",
        "INVOICE",
        "INVOICES",
        "INV",
        "INVNR",
        "FAKTURA",
    }
)
NUMBER_WORDS = frozenset({"NR", "NO", "NUMMER", "NUMBER", "NRN"})
LIST_WORDS = frozenset({"UND", "U", "SOWIE", "AND"})
LIST_SEPARATORS = frozenset(",;/+&")
# Words after which a bare number is someone else's number, never an invoice of ours.
OTHER_NUMBER_WORDS = frozenset(
    {
        "KD",
        "KDNR",
        "KUNDE",
        "KUNDEN",
        "KUNDENNR",
        "KUNDENNUMMER",
        "KNR",
        "AUFTRAG",
        "AUFTRAGS",
        "AUFTRAGSNR",
        "AUFTRAGSNUMMER",
        "BESTELLUNG",
        "BESTELL",
        "BESTELLNR",
        "BESTELLNUMMER",
        "ORDER",
        "VERTRAG",
        "VERTRAGS",
        "VERTRAGSNR",
        "VERTRAGSNUMMER",
        "MANDAT",
        "MANDATSREF",
        "MREF",
        "EREF",
        "KREF",
        "CRED",
        "IBAN",
        "BIC",
        "BLZ",
        "KTO",
        "KONTO",
        "TEL",
        "PLZ",
        "USTID",
        "STNR",
        "LIEFERSCHEIN",
        "LS",
        "ANGEBOT",
        "AB",
        "MITGLIED",
        "MITGLIEDSNR",
        "PERSONALNR",
        "POLICE",
        "AKTENZEICHEN",
        "AZ",
    }
)
# IBAN lengths of the SEPA countries (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip
CONTINUING_SEPARATORS = frozenset({"-", ".", "_"})
MIN_BARE_DIGITS = 4
MIN_WEAK_DIGITS = 3
YEARS = (1950, 2099)
MAX_JOINING_SEPARATOR = 3  # ``RE - 1042`` still joins, a sentence between does not

_FOLDS = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS"})
_ATOM = re.compile(r"[A-Z]+|[0-9]+")
_SOFT_SEPARATOR = re.compile(r"^[\s.\-_:#/]*$")
_DATE = re.compile(
    r"(?<![0-9])(?:\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})"
    r"(?![0-9])"
)
_AMOUNT = re.compile(
    r"(?<![0-9.,])(?:\d{1,3}(?:\.\d{3})*,\d{2}|\d{1,3}(?:,\d{3})*\.\d{2}|\d+[.,]\d{2}|\d+,-)"
    r"(?![0-9])"
)
CURRENCY_WORDS = frozenset({"EUR", "EURO", "USD", "CHF", "GBP"})
_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?"
)


def fold(text: str) -> str:
    """Upper case with umlauts spelled out and other accents dropped (``Müller`` → ``MUELLER``)."""
    spelled = text.upper().translate(_FOLDS)
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class Atom:
    """A maximal run of letters or digits, with the text that separates it from the previous."""

    text: str
    separator: str
    """Characters between the previous atom and this one ("" when directly adjacent)."""

    @property
    def is_digits(self) -> bool:
        return self.text.isdigit()

    @property
    def joins_previous(self) -> bool:
        """Separated from the previous atom by nothing more than spaces, dots or hyphens."""
        return len(self.separator) <= MAX_JOINING_SEPARATOR and bool(
            _SOFT_SEPARATOR.match(self.separator)
        )

    @property
    def lists_after_previous(self) -> bool:
        """Separated by a list mark such as ``,`` ``/`` ``+`` ``&``."""
        marks = self.separator.strip()
        return len(marks) <= 2 and bool(marks) and set(marks) <= LIST_SEPARATORS


def _blank(match: re.Match[str]) -> str:
    return "|" * len(match.group(0))


def _blank_ibans(match: re.Match[str]) -> str:
    """Blank an IBAN (right length for its country, valid checksum), with or without spaces."""
    candidate = match.group(0)
    compact = compact_iban(candidate)
    length = IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) < length or not iban_checksum_ok(compact[:length]):
        return candidate
    consumed, kept = 0, 0
    while kept < length:
        if not candidate[consumed].isspace():
            kept += 1
        consumed += 1
    return "|" * consumed + candidate[consumed:]


def atoms(text: str) -> list[Atom]:
    """The atoms of ``text`` after folding and blanking dates, IBANs and amounts."""
    folded = fold(text)
    folded = _IBAN_CANDIDATE.sub(_blank_ibans, folded)
    folded = _DATE.sub(_blank, folded)
    folded = _AMOUNT.sub(_blank, folded)
    result: list[Atom] = []
    position = 0
    for match in _ATOM.finditer(folded):
        result.append(Atom(match.group(0), folded[position : match.start()]))
        position = match.end()
    return result


@dataclass(frozen=True)
class InvoiceNumber:
    """An invoice number cut into atoms: the letter prefix and the rest."""

    invoice: OpenInvoice
    atoms: tuple[str, ...]
    prefix: str | None
    """The leading letters (``RE`` of ``RE1042``), None for numbers starting with a digit."""

    @classmethod
    def of(cls, invoice: OpenInvoice) -> InvoiceNumber | None:
        parts = tuple(_ATOM.findall(fold(invoice.number)))
        if not any(part.isdigit() for part in parts):
            return None  # a number without digits cannot be told apart from words
        prefix = parts[0] if not parts[0].isdigit() else None
        return cls(invoice, parts, prefix)

    @property
    def rest(self) -> tuple[str, ...]:
        """The atoms after the letter prefix (all atoms when there is none)."""
        return self.atoms[1:] if self.prefix else self.atoms


def _looks_like_year(digits: str) -> bool:
    """``2026`` in "Jahresbeitrag 2026" is a year, not the bare number of RE2026."""
    return len(digits) == 4 and YEARS[0] <= int(digits) <= YEARS[1]


def _before_currency(text: Sequence[Atom], end: int) -> bool:
    """True when the number is followed by a currency (``1042 EUR``, ``1042 €``): an amount."""
    if end >= len(text):
        return False
    return text[end].text in CURRENCY_WORDS or "€" in text[end].separator


def _atom_equal(number_atom: str, text_atom: str) -> bool:
    if number_atom.isdigit() and text_atom.isdigit():
        return int(number_atom) == int(text_atom)
    return number_atom == text_atom


def match_atoms(expected: Sequence[str], text: Sequence[Atom], start: int) -> int | None:
    """The index after ``expected`` if it starts at ``text[start]``, else None.

    Digit atoms compare as numbers (leading zeros do not count) or, run together, as the exact
    concatenation of several of the number's digit atoms (``20250012`` for ``2025``+``0012``).
    """
    k, i = 0, start
    while k < len(expected):
        if i >= len(text) or (i > start and not text[i].joins_previous):
            return None
        atom = text[i].text
        if _atom_equal(expected[k], atom):
            k, i = k + 1, i + 1
            continue
        joined, j = "", k
        while j < len(expected) and expected[j].isdigit() and len(joined) < len(atom):
            joined += expected[j]
            j += 1
        if j - k < 2 or joined != atom:
            return None
        k, i = j, i + 1
    # Token boundary at the end: "RE1042A" is not RE1042 (a single letter glued on), nor is
    # "INV-2026-0099" the number 2026 (digits continue after a hyphen or dot).
    if i < len(text):
        following = text[i]
        if following.separator == "" and len(following.text) == 1:
            return None
        if following.is_digits and following.separator in CONTINUING_SEPARATORS:
            return None
    return i


@dataclass
class References:
    """What a transfer's texts say about invoices."""

    invoices: dict[int, OpenInvoice] = field(default_factory=dict)
    weak: dict[int, OpenInvoice] = field(default_factory=dict)
    """Invoices named only by their bare digits (``1042`` for ``RE1042``)."""
    foreign: list[str] = field(default_factory=list)
    """Invoice-like references that are not open invoices (``RE1040``, ``Rechnung 77``)."""

    def add(self, invoice: OpenInvoice) -> None:
        self.invoices.setdefault(invoice.id, invoice)


class ReferenceFinder:
    """Finds the candidate invoices' numbers in texts (built once per set of candidates)."""

    def __init__(self, candidates: Iterable[OpenInvoice]) -> None:
        self.numbers = [n for n in map(InvoiceNumber.of, candidates) if n is not None]
        self.prefixes = frozenset(n.prefix for n in self.numbers if n.prefix)
        self.invoice_words = INVOICE_WORDS | self.prefixes

    def find(self, transaction: BankTransaction) -> References:
        """References in the remittance text, end-to-end id and creditor reference.

        The end-to-end id often carries the payer's own document numbers (``INV-2026-0099``):
        there only our numbers with their own prefix count, and nothing counts as foreign.
        """
        found = References()
        if transaction.remittance_information:
            self._scan(atoms(transaction.remittance_information), found, foreign=True)
        if transaction.end_to_end_id:
            self._scan(atoms(transaction.end_to_end_id), found, foreign=False, exact_only=True)
        if transaction.creditor_reference:
            reference = fold(transaction.creditor_reference).replace(" ", "")
            # ISO 11649: RF + two check digits + our reference, which names an invoice.
            reference = re.sub(r"^RF\d{2}", "", reference)
            self._scan([Atom("RECHNUNG", ""), *atoms(" " + reference)], found, foreign=True)
        return found

    def _scan(
        self, text: list[Atom], found: References, *, foreign: bool, exact_only: bool = False
    ) -> None:
        i = 0
        while i < len(text):
            if exact_only:
                end = self._own_prefix_at(text, i, found)
            else:
                end = self._named_at(text, i, found, foreign)
            i = end if end is not None else i + 1

    def _own_prefix_at(self, text: list[Atom], i: int, found: References) -> int | None:
        """Only our number with its own prefix (``RE1042``) at ``text[i]``."""
        for number in self.numbers:
            if number.prefix is not None and text[i].text == number.prefix:
                end = match_atoms(number.atoms, text, i)
                if end is not None:
                    found.add(number.invoice)
                    return end
        return None

    def _named_at(self, text: list[Atom], i: int, found: References, foreign: bool) -> int | None:
        """Match what starts at ``text[i]``; returns the index after it, or None."""
        # Own prefix: RE1042, RE-2025-0012.
        for number in self.numbers:
            if number.prefix is None or text[i].text != number.prefix:
                continue
            end = match_atoms(number.atoms, text, i)
            if end is not None:
                found.add(number.invoice)
                return self._list_after(text, end, found, foreign)
        # Invoice word or prefix, optional "Nr.", then the number without its prefix. After a
        # prefix (``RE Nr. 1042``) only numbers with that prefix count.
        word = text[i].text
        if word in self.invoice_words:
            j = i + 1
            while j < len(text) and text[j].text in NUMBER_WORDS and text[j].joins_previous:
                j += 1
            if j < len(text) and text[j].is_digits and text[j].joins_previous:
                prefix = word if word in self.prefixes else None
                end = self._rest_at(text, j, found, prefix)
                if end is None:
                    if foreign:
                        found.foreign.append(f"{word} {text[j].text}")
                    return j + 1
                return self._list_after(text, end, found, foreign)
            return None
        # Bare digits: the whole number when it has no prefix, else weak evidence.
        if text[i].is_digits and self._bare_allowed(text, i):
            ends = []
            for number in self.numbers:
                if number.prefix is None:
                    if (
                        len(number.atoms) == 1
                        and len(number.atoms[0].lstrip("0")) < MIN_BARE_DIGITS
                    ):
                        continue
                    end = match_atoms(number.atoms, text, i)
                    if end is not None and not _before_currency(text, end):
                        found.add(number.invoice)
                        return self._list_after(text, end, found, foreign)
                elif len(text[i].text) >= MIN_WEAK_DIGITS and not _looks_like_year(text[i].text):
                    end = match_atoms(number.rest, text, i)
                    if end is not None and not _before_currency(text, end):
                        found.weak.setdefault(number.invoice.id, number.invoice)
                        ends.append(end)
            if ends:
                return max(ends)
        return None

    def _rest_at(
        self, text: list[Atom], j: int, found: References, prefix: str | None = None
    ) -> int | None:
        """Match every candidate whose number without prefix starts at ``text[j]``."""
        ends = []
        for number in self.numbers:
            if prefix is not None and number.prefix != prefix:
                continue
            end = match_atoms(number.rest, text, j)
            if end is not None:
                found.add(number.invoice)
                ends.append(end)
        return max(ends) if ends else None

    def _list_after(self, text: list[Atom], i: int, found: References, foreign: bool) -> int:
        """Numbers listed after a match (``RE1042, 1043``, ``1042 und 1043``, ``1042 1043``).

        A listed number that is no open invoice is a foreign reference after a list mark or
        word; after a mere space it ends the list silently (it may be a customer number).
        """
        while i < len(text):
            atom = text[i]
            j = i
            if atom.text in LIST_WORDS and atom.joins_previous:
                j = i + 1
                marked = True
            elif atom.lists_after_previous:
                marked = True
            elif atom.is_digits and atom.separator.isspace():
                marked = False
            else:
                return i
            if j >= len(text) or not text[j].is_digits or len(text[j].text) < 3:
                return i
            if j > i and not text[j].joins_previous:
                return i
            end = self._rest_at(text, j, found)
            if end is None:
                if marked and foreign:
                    found.foreign.append(text[j].text)
                return j + 1 if marked else i
            i = end
        return i

    @staticmethod
    def _bare_allowed(text: list[Atom], i: int) -> bool:
        if i == 0:
            return True
        previous = text[i - 1]
        if text[i].separator == "" and not previous.is_digits:
            return False  # letters glued on: a prefix of something else
        if previous.text in OTHER_NUMBER_WORDS:
            return False
        return not (
            previous.text in NUMBER_WORDS and i >= 2 and text[i - 2].text in OTHER_NUMBER_WORDS
        )


# -------------------------------------------------------------------------------------------
# Payers
# -------------------------------------------------------------------------------------------

LEGAL_FORMS = frozenset(
    {
        "GMBH",
        "MBH",
        "UG",
        "HAFTUNGSBESCHRAENKT",
        "AG",
        "KG",
        "OHG",
        "GBR",
        "EK",
        "E",
        "K",
        "KFM",
        "KFR",
        "CO",
        "SE",
        "EG",
        "EV",
        "V",
        "PARTG",
        "LTD",
        "INC",
        "LLC",
        "SAS",
        "SARL",
        "BV",
        "DR",
        "PROF",
        "HERR",
        "FRAU",
        "UND",
        "U",
    }
)


def name_tokens(name: str | None) -> frozenset[str]:
    """The words of a name that identify it (legal forms and titles left out)."""
    if not name:
        return frozenset()
    words = re.findall(r"[A-Z0-9]+", fold(name))
    return frozenset(word for word in words if word not in LEGAL_FORMS)


def payer_name_matches(payer_name: str | None, client: ClientFacts) -> bool:
    """True when the payer's name is the client's (company or person), word for word.

    ``MUSTER GMBH`` is ``Muster GmbH & Co. KG``; ``Mustermann, Max`` is ``Max Mustermann``;
    ``Dr. Max Mustermann`` is ``Max Mustermann``. A single word must match exactly, not be
    contained: ``Muster Bau`` is not ``Muster``.
    """
    payer = name_tokens(payer_name)
    if not payer:
        return False
    person = " ".join(part for part in (client.first_name, client.last_name) if part)
    for candidate in (name_tokens(client.name), name_tokens(person)):
        if candidate and payer == candidate:
            return True
    return False


# -------------------------------------------------------------------------------------------
# Deciding
# -------------------------------------------------------------------------------------------


def _numbers(invoices: Iterable[OpenInvoice]) -> str:
    return ", ".join(invoice.number for invoice in invoices)


def _review(reason: ReviewReason, message: str, candidates: Iterable[OpenInvoice] = ()) -> Decision:
    return Decision(Rule.REVIEW, reason=reason, message=message, candidates=tuple(candidates))


def decide(
    transaction: BankTransaction,
    candidates: Sequence[OpenInvoice],
    payers: Payers,
    payer_rule: PayerRule = PayerRule.IBAN_OR_NAME,
    finder: ReferenceFinder | None = None,
) -> Decision:
    """Rules 1–5 for one booked credit; ``finder`` may be reused across transactions."""
    open_candidates = [invoice for invoice in candidates if invoice.open_amount > ZERO]
    finder = finder or ReferenceFinder(open_candidates)
    references = finder.find(transaction)
    named = sorted(references.invoices.values(), key=lambda invoice: invoice.id)
    amount, currency = transaction.amount, transaction.currency
    paid = german_amount(amount, currency)

    foreign_currency = [invoice for invoice in named if invoice.currency != currency]
    if foreign_currency:
        return _review(
            ReviewReason.CURRENCY_MISMATCH,
            f"Zahlung in {currency}, {_numbers(foreign_currency)} lautet auf "
            f"{foreign_currency[0].currency}.",
            named,
        )
    if references.foreign:
        mentioned = ", ".join(dict.fromkeys(references.foreign))
        return _review(
            ReviewReason.REFERENCE_NOT_OPEN,
            f"Der Verwendungszweck nennt {mentioned}: keine offene Rechnung "
            "(bezahlt, storniert oder unbekannt).",
            named,
        )
    if len(named) == 1:
        return _one_invoice(transaction, named[0])
    if len(named) > 1:
        return _several_invoices(transaction, named)
    confirmed = _confirmed_by_amount(transaction, list(references.weak.values()))
    if confirmed is not None:
        return confirmed
    return _payer_and_amount(transaction, open_candidates, payers, payer_rule, paid)


def _one_invoice(transaction: BankTransaction, invoice: OpenInvoice) -> Decision:
    amount = transaction.amount
    if amount == invoice.open_amount:
        return Decision(
            Rule.FULL,
            (Booking(invoice.id, invoice.number, amount),),
            candidates=(invoice,),
        )
    if amount > invoice.open_amount:
        return _review(
            ReviewReason.OVERPAYMENT,
            f"{german_amount(amount, transaction.currency)} ist mehr als der offene Betrag "
            f"{german_amount(invoice.open_amount, invoice.currency)} von {invoice.number}.",
            [invoice],
        )
    discounted = invoice.discounted_amount(transaction.booking_date)
    if discounted is not None and amount == discounted:
        return Decision(
            Rule.DISCOUNT,
            (Booking(invoice.id, invoice.number, amount, mark_paid=True),),
            candidates=(invoice,),
        )
    return Decision(
        Rule.PARTIAL,
        (Booking(invoice.id, invoice.number, amount),),
        candidates=(invoice,),
    )


def _several_invoices(transaction: BankTransaction, named: list[OpenInvoice]) -> Decision:
    amount = transaction.amount
    total = sum((invoice.open_amount for invoice in named), ZERO)
    if amount == total:
        bookings = tuple(Booking(i.id, i.number, to_cents(i.open_amount)) for i in named)
        return Decision(Rule.SEVERAL, bookings, candidates=tuple(named))
    discounted = [invoice.discounted_amount(transaction.booking_date) for invoice in named]
    if all(value is not None for value in discounted):
        amounts = [value for value in discounted if value is not None]
        if amount == sum(amounts, ZERO):
            bookings = tuple(
                Booking(invoice.id, invoice.number, value, mark_paid=True)
                for invoice, value in zip(named, amounts, strict=True)
            )
            return Decision(Rule.SEVERAL, bookings, candidates=tuple(named))
    return _review(
        ReviewReason.SUM_MISMATCH,
        f"{german_amount(amount, transaction.currency)} passt nicht zur Summe "
        f"{german_amount(total, transaction.currency)} der offenen Beträge von "
        f"{_numbers(named)}.",
        named,
    )


def _confirmed_by_amount(transaction: BankTransaction, weak: list[OpenInvoice]) -> Decision | None:
    """Bare numbers (``1042``) the amount confirms: exactly one invoice's open or discounted
    amount, or the sum of all their open amounts. None leaves the transfer to rule 4."""
    amount, on = transaction.amount, transaction.booking_date
    invoices = sorted(
        (invoice for invoice in weak if invoice.currency == transaction.currency),
        key=lambda invoice: invoice.id,
    )
    if len(invoices) > 1 and amount == sum((i.open_amount for i in invoices), ZERO):
        bookings = tuple(Booking(i.id, i.number, to_cents(i.open_amount)) for i in invoices)
        return Decision(Rule.SEVERAL, bookings, candidates=tuple(invoices))
    full = [invoice for invoice in invoices if invoice.open_amount == amount]
    discounted = [invoice for invoice in invoices if invoice.discounted_amount(on) == amount]
    if len(full) + len(discounted) != 1:
        return None
    if full:
        invoice = full[0]
        return Decision(
            Rule.FULL, (Booking(invoice.id, invoice.number, amount),), candidates=(invoice,)
        )
    invoice = discounted[0]
    return Decision(
        Rule.DISCOUNT,
        (Booking(invoice.id, invoice.number, amount, mark_paid=True),),
        candidates=(invoice,),
    )


def _payer_and_amount(
    transaction: BankTransaction,
    candidates: list[OpenInvoice],
    payers: Payers,
    payer_rule: PayerRule,
    paid: str,
) -> Decision:
    same_amount = [
        invoice
        for invoice in candidates
        if invoice.currency == transaction.currency and invoice.open_amount == transaction.amount
    ]
    if not same_amount:
        return _review(
            ReviewReason.NO_MATCH,
            f"Keine offene Rechnungsnummer im Verwendungszweck und keine offene Rechnung "
            f"über {paid}.",
        )
    if payer_rule is PayerRule.OFF:
        return _review(
            ReviewReason.NO_MATCH,
            f"Keine offene Rechnungsnummer im Verwendungszweck; offene Rechnungen über {paid}: "
            f"{_numbers(same_amount)}.",
            same_amount,
        )
    payer_clients = _payer_clients(transaction, same_amount, payers, payer_rule)
    mine = [invoice for invoice in same_amount if invoice.client_id in payer_clients]
    if len(mine) == 1:
        invoice = mine[0]
        return Decision(
            Rule.PAYER_AMOUNT,
            (Booking(invoice.id, invoice.number, to_cents(invoice.open_amount)),),
            candidates=(invoice,),
        )
    if len(mine) > 1:
        return _review(
            ReviewReason.AMBIGUOUS_PAYER_MATCH,
            f"Keine Rechnungsnummer; der Zahler hat {len(mine)} offene Rechnungen über {paid} "
            f"({_numbers(mine)}).",
            mine,
        )
    return _review(
        ReviewReason.NO_MATCH,
        f"Keine Rechnungsnummer; {len(same_amount)} offene Rechnung(en) über {paid} "
        f"({_numbers(same_amount)}), aber keine davon ist als Rechnung dieses Zahlers erkennbar.",
        same_amount,
    )


def _payer_clients(
    transaction: BankTransaction,
    same_amount: list[OpenInvoice],
    payers: Payers,
    payer_rule: PayerRule,
) -> frozenset[int]:
    """The clients the payer is: by IBAN when the IBAN is known, else by name (if allowed)."""
    counterparty = transaction.counterparty
    client_ids = {invoice.client_id for invoice in same_amount if invoice.client_id is not None}
    if counterparty.iban:
        known = set(payers.clients_for_iban(counterparty.iban))
        for client_id in client_ids:
            facts = payers.client(client_id)
            if facts and facts.bank_iban and compact_iban(facts.bank_iban) == counterparty.iban:
                known.add(client_id)
        if known:
            return frozenset(known)
    if payer_rule is not PayerRule.IBAN_OR_NAME or not counterparty.name:
        return frozenset()
    return frozenset(
        client_id
        for client_id in client_ids
        if (facts := payers.client(client_id)) is not None
        and payer_name_matches(counterparty.name, facts)
    )
