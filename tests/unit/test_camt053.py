"""camt.053 statements (.001.02 and .001.08, XML or ZIP) → booked credits."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from bank_payment.camt053 import Camt053Error, read_statements

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "DE02120300000000202051"

V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

# reference/webhooks.md §4.4
REFERENCE_FIXTURE = f"""<Document xmlns="{V08}">
 <BkToCstmrStmt><GrpHdr><MsgId>STMT-20250120</MsgId><CreDtTm>2025-01-20T18:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>2025-01-20-1</Id><CreDtTm>2025-01-20T18:00:00</CreDtTm>
   <Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1123.89</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-20</Dt></Dt></Bal>
   <Ntry><Amt Ccy="EUR">123.89</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2025-01-20</Dt></BookgDt><ValDt><Dt>2025-01-20</Dt></ValDt>
    <AcctSvcrRef>2025012012345678</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>RE-2025-0012</EndToEndId></Refs>
     <RltdPties><Dbtr><Pty><Nm>Muster GmbH</Nm></Pty></Dbtr>
      <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
     <RmtInf><Ustrd>Rechnung RE-2025-0012 vom 15.01.2025</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt></BkToCstmrStmt></Document>"""


def statement(entries: str, namespace: str = V08, account: str = ACCOUNT) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}"><BkToCstmrStmt>
 <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-25T18:00:00</CreDtTm></GrpHdr>
 <Stmt><Id>S1</Id><Acct><Id><IBAN>{account}</IBAN></Id></Acct>{entries}</Stmt>
</BkToCstmrStmt></Document>""".encode()


def entry(
    amount: str = "119.00",
    indicator: str = "CRDT",
    status: str = "<Sts><Cd>BOOK</Cd></Sts>",
    reference: str | None = "REF-1",
    details: str = "<TxDtls><RmtInf><Ustrd>RE1049</Ustrd></RmtInf></TxDtls>",
    extra: str = "",
) -> str:
    ref = f"<AcctSvcrRef>{reference}</AcctSvcrRef>" if reference else ""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{extra}{status}'
        f"<BookgDt><Dt>2026-11-25</Dt></BookgDt><ValDt><Dt>2026-11-26</Dt></ValDt>{ref}"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def test_reference_fixture_gives_one_booked_credit() -> None:
    imported = read_statements(REFERENCE_FIXTURE.encode())
    [transaction] = imported.transactions
    assert transaction.source == "camt053"
    assert transaction.transaction_id == f"{ACCOUNT}:2025012012345678"
    assert transaction.account_iban == ACCOUNT
    assert transaction.amount == Decimal("123.89")
    assert transaction.currency == "EUR"
    assert str(transaction.booking_date) == "2025-01-20"
    assert transaction.counterparty.name == "Muster GmbH"
    assert transaction.counterparty.iban == "DE89370400440532013000"
    assert transaction.end_to_end_id == "RE-2025-0012"
    assert transaction.remittance_information == "Rechnung RE-2025-0012 vom 15.01.2025"
    assert transaction.bank_reference == "2025012012345678"
    assert imported.summary()["credits"] == 1


def test_version_02_layout_is_read() -> None:
    details = """<TxDtls>
      <Refs><AcctSvcrRef>TX-77</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId><MndtId>M-1</MndtId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">238.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Baeckerei Schulze</Nm></Dbtr>
       <DbtrAcct><Id><IBAN>DE44 1007 0000 8301 6613 18</IBAN></Id></DbtrAcct></RltdPties>
      <RltdAgts><DbtrAgt><FinInstnId><BIC>DEUTDEBBXXX</BIC></FinInstnId></DbtrAgt></RltdAgts>
      <RmtInf><Ustrd>RE1043 Wartung</Ustrd><Ustrd>Kasse Filiale 2</Ustrd></RmtInf>
    </TxDtls>"""
    data = statement(entry("238.00", status="<Sts>BOOK</Sts>", details=details), V02)
    [transaction] = read_statements(data).transactions
    assert transaction.transaction_id == f"{ACCOUNT}:TX-77"
    assert transaction.amount == Decimal("238.00")
    assert transaction.counterparty.name == "Baeckerei Schulze"
    assert transaction.counterparty.iban == "DE44100700008301661318"
    assert transaction.counterparty.bic == "DEUTDEBBXXX"
    assert transaction.end_to_end_id is None
    assert transaction.mandate_id == "M-1"
    assert transaction.remittance_information == "RE1043 Wartung Kasse Filiale 2"


def test_batch_entry_gives_every_transaction_with_its_own_amount_and_id() -> None:
    details = """
     <Btch><NbOfTxs>2</NbOfTxs></Btch>
     <TxDtls><Amt Ccy="EUR">476.00</Amt><RmtInf><Ustrd>RE1047</Ustrd></RmtInf></TxDtls>
     <TxDtls><Amt Ccy="EUR">595.00</Amt><RmtInf><Ustrd>Rechnung 1048</Ustrd></RmtInf></TxDtls>"""
    imported = read_statements(statement(entry("1071.00", reference="BATCH-9", details=details)))
    assert [
        (t.transaction_id, t.amount, t.remittance_information) for t in imported.transactions
    ] == [
        (f"{ACCOUNT}:BATCH-9:1", Decimal("476.00"), "RE1047"),
        (f"{ACCOUNT}:BATCH-9:2", Decimal("595.00"), "Rechnung 1048"),
    ]


def test_batch_without_amounts_is_one_transfer_with_the_texts_joined() -> None:
    details = """<TxDtls><RmtInf><Ustrd>RE1043</Ustrd></RmtInf></TxDtls>
                 <TxDtls><RmtInf><Ustrd>RE1044</Ustrd></RmtInf></TxDtls>"""
    [transaction] = read_statements(statement(entry("595.00", details=details))).transactions
    assert transaction.amount == Decimal("595.00")
    assert transaction.remittance_information == "RE1043 RE1044"


def test_debits_pending_entries_and_reversals_are_left_out_and_counted() -> None:
    entries = (
        entry(indicator="DBIT", reference="D")
        + entry(status="<Sts><Cd>PDNG</Cd></Sts>", reference="P")
        + entry(reference="R", extra="<RvslInd>true</RvslInd>")
        + entry(reference="C")
    )
    imported = read_statements(statement(entries))
    assert [t.transaction_id for t in imported.transactions] == [f"{ACCOUNT}:C"]
    summary = imported.summary()
    assert (summary["skipped_debits"], summary["skipped_not_booked"]) == (1, 1)
    assert summary["skipped_reversals"] == 1


def test_debit_inside_a_batch_is_left_out() -> None:
    details = """<TxDtls><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls>
                 <TxDtls><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TxDtls>"""
    imported = read_statements(statement(entry("10.00", details=details)))
    assert [t.amount for t in imported.transactions] == [Decimal("20.00")]


def test_interbank_transaction_id_is_used_without_bank_reference() -> None:
    details = "<TxDtls><Refs><TxId>IBT-1</TxId></Refs></TxDtls>"
    [transaction] = read_statements(statement(entry(reference=None, details=details))).transactions
    assert transaction.transaction_id == f"{ACCOUNT}:txid:IBT-1"


def test_derived_ids_are_stable_and_keep_identical_transfers_apart() -> None:
    same = entry(reference=None)
    first = read_statements(statement(same + same)).transactions
    again = read_statements(statement(same + same)).transactions
    assert len({t.transaction_id for t in first}) == 2
    assert [t.transaction_id for t in first] == [t.transaction_id for t in again]
    assert all(re.fullmatch(r"[0-9a-f]{64}", t.transaction_id) for t in first)


def test_overlapping_statements_give_the_same_ids() -> None:
    monday = entry(reference=None, details="<TxDtls><RmtInf><Ustrd>A</Ustrd></RmtInf></TxDtls>")
    tuesday = entry(reference=None, details="<TxDtls><RmtInf><Ustrd>B</Ustrd></RmtInf></TxDtls>")
    week = read_statements(statement(monday + tuesday)).transactions
    day = read_statements(statement(tuesday)).transactions
    assert day[0].transaction_id == week[1].transaction_id


def test_same_bank_reference_on_two_accounts_stays_two_transactions() -> None:
    other = "DE89370400440532013000"
    one = read_statements(statement(entry())).transactions[0]
    two = read_statements(statement(entry(), account=other)).transactions[0]
    assert one.transaction_id != two.transaction_id


def test_structured_creditor_reference_is_read() -> None:
    details = """<TxDtls><RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
                 <Ref>RF70RE1061</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"""
    [transaction] = read_statements(statement(entry(details=details))).transactions
    assert transaction.creditor_reference == "RF70RE1061"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_of_statements_is_read_whole() -> None:
    data = zipped(
        {
            "2026-11-24.xml": statement(entry(reference="A")),
            "2026-11-25.xml": statement(entry(reference="B")),
            "readme.txt": b"not a statement",
        }
    )
    imported = read_statements(data)
    assert [t.transaction_id for t in imported.transactions] == [f"{ACCOUNT}:A", f"{ACCOUNT}:B"]
    assert imported.documents == 2


def test_the_same_transaction_twice_in_one_upload_counts_once() -> None:
    data = zipped({"a.xml": statement(entry()), "b.xml": statement(entry())})
    imported = read_statements(data)
    assert len(imported.transactions) == 1
    assert imported.duplicates == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"<Document><unclosed>", "not well-formed XML"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"/>', "not a camt.053"),
        (
            b'<!DOCTYPE x [<!ENTITY a "b">]><Document xmlns="' + V08.encode() + b'"/>',
            "DTD",
        ),
        (statement(""), "Acct"),
        (statement(entry(amount="12,50")), "not an amount"),
        (statement(entry(indicator="")), "CdtDbtInd"),
        (statement(entry(status="")), "Sts"),
        (zipped({"notes.txt": b"x"}), "no .xml"),
        (b"PK\x03\x04broken", "ZIP"),
    ],
)
def test_malformed_uploads_are_refused_with_a_clear_error(data: bytes, message: str) -> None:
    if message == "Acct":
        data = data.replace(f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>".encode(), b"")
    with pytest.raises(Camt053Error, match=message):
        read_statements(data)


def test_missing_booking_date_of_a_booked_entry_is_refused() -> None:
    broken = entry().replace("<BookgDt><Dt>2026-11-25</Dt></BookgDt>", "")
    with pytest.raises(Camt053Error, match=r"entry 1: BookgDt is missing"):
        read_statements(statement(broken))


def test_one_bad_file_in_a_zip_refuses_the_whole_upload() -> None:
    data = zipped({"good.xml": statement(entry()), "bad.xml": b"<oops"})
    with pytest.raises(Camt053Error, match=r"bad\.xml"):
        read_statements(data)


def test_sample_statement_of_make_run() -> None:
    imported = read_statements((ROOT / "events/camt053/statement-sample.xml").read_bytes())
    assert imported.summary()["credits"] == 5
    assert imported.summary()["skipped_debits"] == 1
    assert [t.amount for t in imported.transactions] == [
        Decimal("476.00"),
        Decimal("595.00"),
        Decimal("119.00"),
        Decimal("833.00"),
        Decimal("45.00"),
    ]
