"""camt.053 bank statements → `bank-transaction/v1` (reference/webhooks.md §4.4, §4.5).

:func:`read_statements` takes the uploaded bytes — one statement XML, or a ZIP of them — and
returns every **booked credit**: one transaction per ``TxDtls`` of an entry (a batch entry such
as a collective credit carries several), debits, pending entries and reversals are counted and
left out. The whole upload is parsed before anything is returned, so a malformed file raises
:class:`Camt053Error` (with a message naming the entry) and books nothing.

Transaction ids are stable, so re-importing the same or an overlapping statement finds the
transactions already booked. They are scoped by our account (``<IBAN>:<ref>``), in this order:
the transaction's own ``Refs/AcctSvcrRef``; the entry's ``AcctSvcrRef`` (``:<n>`` added for the
n-th transaction of a batch entry); the interbank ``Refs/TxId``; else a SHA-256 of
``account|booking date|amount|payer IBAN|remittance|sequence`` (sequence counts identical
transactions within the file, so two equal same-day transfers stay two).

Versions: camt.053.001.02 and .08 are tested; the element paths read (``Sts`` as text or
``Sts/Cd``, ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``, ``BIC`` or ``BICFI``, ``TxDtls/Amt`` or
``AmtDtls/TxAmt/Amt``) cover the versions in between. Documents with a DTD are refused (no
entity expansion from uploaded files).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

from pydantic import ValidationError

from autopilot.bank_transactions import BankTransaction, normalize_iban

SOURCE = "camt053"
CAMT053_NAMESPACE = re.compile(
    r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})\}Document$"
)
SUPPORTED_VERSIONS = frozenset({"02", "03", "04", "05", "06", "07", "08"})
MAX_ZIP_MEMBERS = 500
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class Camt053Error(ValueError):
    """The upload is not a camt.053 statement we can read; nothing of it may be booked."""


@dataclass
class StatementImport:
    """What an upload holds: the booked credits, and what was left out and why."""

    transactions: list[BankTransaction] = field(default_factory=list)
    documents: int = 0
    statements: int = 0
    entries: int = 0
    debits: int = 0
    not_booked: int = 0
    reversals: int = 0
    duplicates: int = 0

    def summary(self) -> dict[str, int]:
        """Counts for logs and the import's answer."""
        return {
            "documents": self.documents,
            "statements": self.statements,
            "entries": self.entries,
            "credits": len(self.transactions),
            "skipped_debits": self.debits,
            "skipped_not_booked": self.not_booked,
            "skipped_reversals": self.reversals,
            "duplicates": self.duplicates,
        }


def read_statements(data: bytes, name: str = "upload") -> StatementImport:
    """Every booked credit in ``data`` (camt.053 XML or a ZIP of XML files)."""
    result = StatementImport()
    seen: set[str] = set()
    for document_name, document in _xml_documents(data, name):
        result.documents += 1
        for transaction in _read_document(document, document_name, result):
            if transaction.transaction_id in seen:
                result.duplicates += 1
                continue
            seen.add(transaction.transaction_id)
            result.transactions.append(transaction)
    return result


def _xml_documents(data: bytes, name: str) -> Iterator[tuple[str, bytes]]:
    if data[:4] == b"PK\x03\x04":
        yield from _zip_members(data, name)
        return
    if not data.strip():
        raise Camt053Error(f"{name}: the file is empty")
    yield name, data


def _zip_members(data: bytes, name: str) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise Camt053Error(f"{name}: not a readable ZIP file ({exc})") from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(".xml")
            and not info.filename.startswith("__MACOSX/")
        ]
        if not members:
            raise Camt053Error(f"{name}: the ZIP file holds no .xml statement")
        if len(members) > MAX_ZIP_MEMBERS:
            raise Camt053Error(f"{name}: more than {MAX_ZIP_MEMBERS} files in the ZIP")
        if sum(info.file_size for info in members) > MAX_UNCOMPRESSED_BYTES:
            raise Camt053Error(f"{name}: the ZIP file unpacks to more than 200 MB")
        documents = []
        for info in sorted(members, key=lambda member: member.filename):
            try:
                documents.append((f"{name}/{info.filename}", archive.read(info)))
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise Camt053Error(f"{name}/{info.filename}: cannot be unpacked ({exc})") from None
    yield from documents


def _parse_xml(document: bytes, name: str) -> ET.Element:
    if _DTD.search(document[:4096]) or _DTD.search(document):
        raise Camt053Error(f"{name}: XML with a DTD or entities is not accepted")
    try:
        root = ET.fromstring(document)  # noqa: S314 - DTDs are refused above
    except ET.ParseError as exc:
        raise Camt053Error(f"{name}: not well-formed XML ({exc})") from None
    match = CAMT053_NAMESPACE.match(root.tag)
    if match is None:
        raise Camt053Error(
            f"{name}: not a camt.053 statement (root element {root.tag}); "
            "expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 … .08"
        )
    if match.group(1) not in SUPPORTED_VERSIONS:
        raise Camt053Error(f"{name}: camt.053.001.{match.group(1)} is not supported")
    return root


def _read_document(
    document: bytes, name: str, result: StatementImport
) -> Iterator[BankTransaction]:
    root = _parse_xml(document, name)
    statements = root.findall("{*}BkToCstmrStmt/{*}Stmt")
    if not statements:
        raise Camt053Error(f"{name}: the document holds no BkToCstmrStmt/Stmt")
    identities: Counter[str] = Counter()
    for statement_number, statement in enumerate(statements, start=1):
        result.statements += 1
        where = f"{name}, statement {_text(statement, '{*}Id') or statement_number}"
        account = _account(statement, where)
        for entry_number, entry in enumerate(statement.findall("{*}Ntry"), start=1):
            result.entries += 1
            yield from _read_entry(
                entry, _Context(account, f"{where}, entry {entry_number}", identities), result
            )


@dataclass
class _Context:
    account: _Account
    where: str
    identities: Counter[str]


@dataclass(frozen=True)
class _Account:
    key: str
    iban: str | None
    currency: str | None


def _account(statement: ET.Element, where: str) -> _Account:
    iban_text = _text(statement, "{*}Acct/{*}Id/{*}IBAN")
    other = _text(statement, "{*}Acct/{*}Id/{*}Othr/{*}Id")
    iban = None
    if iban_text:
        try:
            iban = normalize_iban(iban_text)
        except ValueError:
            raise Camt053Error(f"{where}: account IBAN {iban_text!r} is not an IBAN") from None
    key = iban or other
    if not key:
        raise Camt053Error(f"{where}: the statement names no account (Acct/Id)")
    return _Account(key, iban, _text(statement, "{*}Acct/{*}Ccy"))


def _read_entry(
    entry: ET.Element, context: _Context, result: StatementImport
) -> Iterator[BankTransaction]:
    where = context.where
    status = (_text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts") or "").upper()
    if not status:
        raise Camt053Error(f"{where}: Sts (BOOK/PDNG) is missing")
    entry_direction = _direction(_text(entry, "{*}CdtDbtInd"), where)
    entry_amount, entry_currency = _amount(entry.find("{*}Amt"), where)
    if status != "BOOK":
        result.not_booked += 1
        return
    if (_text(entry, "{*}RvslInd") or "").lower() == "true":
        result.reversals += 1
        return
    booking_date = _date(entry, "{*}BookgDt", where, required=True)
    value_date = _date(entry, "{*}ValDt", where, required=False)
    entry_reference = _text(entry, "{*}AcctSvcrRef")
    details = entry.findall("{*}NtryDtls/{*}TxDtls")
    batch = len(details) > 1
    if batch and any(_detail_amount(detail) is None for detail in details):
        # A batch without per-transaction amounts cannot be split: book it as one transfer.
        details = [_merged_details(details)]
        batch = False
    if not details:
        details = [ET.Element("TxDtls")]
    for index, detail in enumerate(details, start=1):
        indicator = _text(detail, "{*}CdtDbtInd")
        direction = _direction(indicator, where) if indicator else entry_direction
        if direction != "credit":
            result.debits += 1
            continue
        amount_element = _detail_amount(detail)
        amount, currency = (
            _amount(amount_element, f"{where}, transaction {index}")
            if amount_element is not None
            else (entry_amount, entry_currency)
        )
        remittance = _remittance(detail) or _text(entry, "{*}AddtlNtryInf")
        payer_iban = _payer_iban(detail)
        fields: dict[str, Any] = {
            "source": SOURCE,
            "account_iban": context.account.iban,
            "status": "booked",
            "direction": "credit",
            "amount": amount,
            "currency": currency or context.account.currency,
            "booking_date": booking_date,
            "value_date": value_date,
            "counterparty": {
                "name": _payer_name(detail),
                "iban": payer_iban,
                "bic": _text(detail, "{*}RltdAgts/{*}DbtrAgt/{*}FinInstnId/{*}BICFI")
                or _text(detail, "{*}RltdAgts/{*}DbtrAgt/{*}FinInstnId/{*}BIC"),
            },
            "remittance_information": remittance,
            "end_to_end_id": _text(detail, "{*}Refs/{*}EndToEndId"),
            "creditor_reference": _text(detail, "{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref"),
            "mandate_id": _text(detail, "{*}Refs/{*}MndtId"),
            "bank_reference": _text(detail, "{*}Refs/{*}AcctSvcrRef") or entry_reference,
        }
        fields["transaction_id"] = _transaction_id(
            context, detail, entry_reference, index if batch else None, fields
        )
        try:
            yield BankTransaction.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
                for problem in exc.errors(include_url=False)
            )
            raise Camt053Error(f"{where}, transaction {index}: {problems}") from None


def _transaction_id(
    context: _Context,
    detail: ET.Element,
    entry_reference: str | None,
    batch_index: int | None,
    fields: dict[str, Any],
) -> str:
    account = context.account.key
    own_reference = _text(detail, "{*}Refs/{*}AcctSvcrRef")
    if own_reference:
        return f"{account}:{own_reference}"
    if entry_reference:
        suffix = f":{batch_index}" if batch_index is not None else ""
        return f"{account}:{entry_reference}{suffix}"
    interbank = _text(detail, "{*}Refs/{*}TxId")
    if interbank:
        return f"{account}:txid:{interbank}"
    identity = "|".join(
        [
            account,
            str(fields["booking_date"]),
            str(fields["amount"]),
            fields["counterparty"]["iban"] or "",
            fields["remittance_information"] or "",
        ]
    )
    context.identities[identity] += 1
    sequenced = f"{identity}|{context.identities[identity]}"
    return hashlib.sha256(sequenced.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# element readers
# --------------------------------------------------------------------------------------------


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    text = " ".join(found.text.split())
    return text or None


def _direction(indicator: str | None, where: str) -> str:
    if indicator == "CRDT":
        return "credit"
    if indicator == "DBIT":
        return "debit"
    raise Camt053Error(f"{where}: CdtDbtInd must be CRDT or DBIT, got {indicator!r}")


def _amount(element: ET.Element | None, where: str) -> tuple[Decimal, str | None]:
    if element is None or not (element.text or "").strip():
        raise Camt053Error(f"{where}: Amt is missing")
    text = (element.text or "").strip()
    if not re.fullmatch(r"\d{1,15}(\.\d{1,5})?", text):
        raise Camt053Error(f"{where}: Amt {text!r} is not an amount")
    return Decimal(text), element.get("Ccy")


def _detail_amount(detail: ET.Element) -> ET.Element | None:
    # Elements without children are falsy: compare with None, never use ``or``.
    amount = detail.find("{*}Amt")
    return amount if amount is not None else detail.find("{*}AmtDtls/{*}TxAmt/{*}Amt")


def _date(entry: ET.Element, path: str, where: str, *, required: bool) -> str | None:
    value = _text(entry, f"{path}/{{*}}Dt") or _text(entry, f"{path}/{{*}}DtTm")
    if value is None:
        if required:
            raise Camt053Error(f"{where}: {path.removeprefix('{*}')} is missing")
        return None
    if not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise Camt053Error(f"{where}: {value!r} is not a date")
    return value[:10]


def _remittance(detail: ET.Element) -> str | None:
    parts = [
        " ".join((element.text or "").split())
        for element in detail.findall("{*}RmtInf/{*}Ustrd")
        + detail.findall("{*}RmtInf/{*}Strd/{*}AddtlRmtInf")
    ]
    text = " ".join(part for part in parts if part)
    return text or _text(detail, "{*}AddtlTxInf")


def _payer_name(detail: ET.Element) -> str | None:
    for path in (
        "{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm",
        "{*}RltdPties/{*}Dbtr/{*}Nm",
        "{*}RltdPties/{*}UltmtDbtr/{*}Pty/{*}Nm",
        "{*}RltdPties/{*}UltmtDbtr/{*}Nm",
    ):
        name = _text(detail, path)
        if name:
            return name
    return None


def _payer_iban(detail: ET.Element) -> str | None:
    text = _text(detail, "{*}RltdPties/{*}DbtrAcct/{*}Id/{*}IBAN")
    if not text:
        return None
    try:
        return normalize_iban(text)
    except ValueError:
        return None


def _merged_details(details: list[ET.Element]) -> ET.Element:
    """One TxDtls standing for a batch whose parts carry no amounts (texts joined)."""
    merged = ET.Element("TxDtls")
    remittance = ET.SubElement(merged, "RmtInf")
    for detail in details:
        text = _remittance(detail)
        if text:
            ET.SubElement(remittance, "Ustrd").text = text
    return merged
