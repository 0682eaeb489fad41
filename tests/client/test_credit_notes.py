"""The client's credit-note methods against the in-process sandbox (strict mode)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import autopilot.billomat as billomat_package
from autopilot.billomat import (
    BillomatClient,
    BillomatNotFoundError,
    BillomatUnavailableError,
    BillomatValidationError,
    ClientDraft,
    CreditNote,
    CreditNoteChanges,
    CreditNoteDraft,
    CreditNoteItemDraft,
    CreditNotePayment,
    CreditNoteStatus,
    InvoiceDraft,
    InvoiceItemDraft,
    PaymentType,
)
from local.billomat_sandbox import BillomatSandbox, SandboxClock
from local.sandbox_client import sandbox_client

START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
TODAY = dt.date(2025, 3, 10)


@pytest.fixture
def sandbox() -> BillomatSandbox:
    return BillomatSandbox(clock=SandboxClock(START), strict=True)


@pytest.fixture
def billomat(sandbox: BillomatSandbox) -> Iterator[BillomatClient]:
    with sandbox_client(sandbox) as client:
        yield client


def item(title: str = "Rücknahme", price: str = "100", **fields: object) -> CreditNoteItemDraft:
    return CreditNoteItemDraft.model_validate(
        {"title": title, "quantity": Decimal(1), "unit_price": Decimal(price), **fields}
    )


def completed_invoice(billomat: BillomatClient, client_id: int) -> int:
    invoice = billomat.create_invoice(
        InvoiceDraft(
            client_id=client_id,
            items=[InvoiceItemDraft(title="Ware", quantity=Decimal(1), unit_price=Decimal(100))],
        )
    )
    billomat.complete_invoice(invoice.id)
    return invoice.id


def new_client(billomat: BillomatClient, name: str = "Kunde GmbH") -> int:
    return billomat.create_client(ClientDraft(name=name)).id


def test_the_names_are_exported_lazily() -> None:
    for name in (
        "CreditNote",
        "CreditNoteChanges",
        "CreditNoteDraft",
        "CreditNoteItem",
        "CreditNoteItemDraft",
        "CreditNotePayment",
        "CreditNotePaymentDraft",
        "CreditNoteStatus",
    ):
        assert name in billomat_package.__all__
        assert getattr(billomat_package, name).__name__ == name


def test_draft_body_embeds_the_items() -> None:
    draft = CreditNoteDraft(
        client_id=7, invoice_id=9, customfield="refund:1", items=[item(price="9.90")]
    )
    assert draft.to_billomat() == {
        "client_id": 7,
        "invoice_id": 9,
        "customfield": "refund:1",
        "credit-note-items": {
            "credit-note-item": [{"title": "Rücknahme", "quantity": "1", "unit_price": "9.90"}]
        },
    }
    with pytest.raises(ValueError, match="due_date"):
        CreditNoteDraft.model_validate({"client_id": 7, "due_date": "2025-03-10"})


def test_life_cycle(billomat: BillomatClient, sandbox: BillomatSandbox) -> None:
    client_id = new_client(billomat)
    invoice_id = completed_invoice(billomat, client_id)
    created = billomat.create_credit_note(
        CreditNoteDraft(
            client_id=client_id,
            invoice_id=invoice_id,
            customfield="shop:refund:1",
            items=[item("A", "10"), item("B", "4.28", tax_rate=Decimal(7))],
        )
    )
    assert isinstance(created, CreditNote)
    assert created.status is CreditNoteStatus.DRAFT
    assert created.credit_note_number is None
    assert (created.invoice_id, created.client_id) == (invoice_id, client_id)
    assert created.customfield == "shop:refund:1"
    assert (created.total_net, created.total_gross) == (Decimal("14.28"), Decimal("16.48"))
    assert [(t.rate, t.amount) for t in created.taxes] == [
        (Decimal(19), Decimal("1.9")),
        (Decimal(7), Decimal("0.3")),
    ]
    assert created.open_amount == Decimal("16.48")

    items = billomat.list_credit_note_items(created.id)
    assert [(i.title, i.position, i.credit_note_id) for i in items] == [
        ("A", 1, created.id),
        ("B", 2, created.id),
    ]
    added = billomat.add_credit_note_item(created.id, item("Versand", "5"))
    assert added.total_gross == Decimal("5.95")
    changed = billomat.update_credit_note(created.id, CreditNoteChanges(label="Retoure"))
    assert (changed.label, changed.total_gross) == ("Retoure", Decimal("22.43"))

    billomat.complete_credit_note(created.id)
    billomat.complete_credit_note(created.id)  # a retried action that already happened is fine
    completed = billomat.get_credit_note(created.id)
    assert (completed.status, completed.credit_note_number) == (CreditNoteStatus.OPEN, "GU1")
    assert billomat.credit_note_pdf(created.id).startswith(b"%PDF")

    billomat.email_credit_note(created.id, "kunde@example.de", bcc=["buchhaltung@example.de"])
    [sent] = sandbox.sent_emails
    assert (sent.document_type, sent.document_id, sent.filename) == (
        "credit_note",
        created.id,
        f"credit-note_{created.id}",
    )
    assert sent.bcc == ["buchhaltung@example.de"]

    billomat.cancel_credit_note(created.id)
    billomat.cancel_credit_note(created.id)  # already cancelled: fine
    assert billomat.get_credit_note(created.id).status is CreditNoteStatus.CANCELED
    billomat.uncancel_credit_note(created.id)
    assert billomat.get_credit_note(created.id).status is CreditNoteStatus.OPEN


def test_complete_with_a_template(billomat: BillomatClient) -> None:
    note = billomat.create_credit_note(
        CreditNoteDraft(client_id=new_client(billomat), items=[item()])
    )
    billomat.complete_credit_note(note.id, template_id=55)
    assert billomat.get_credit_note(note.id).template_id == 55


def test_edits_after_complete_and_unknown_links_are_refused(billomat: BillomatClient) -> None:
    client_id = new_client(billomat)
    with pytest.raises(BillomatValidationError):
        billomat.create_credit_note(CreditNoteDraft(client_id=client_id, invoice_id=999_999))
    with pytest.raises(BillomatValidationError):
        billomat.create_credit_note(CreditNoteDraft(client_id=999_999))
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    billomat.complete_credit_note(note.id)
    with pytest.raises(BillomatValidationError):
        billomat.update_credit_note(note.id, CreditNoteChanges(label="zu spät"))
    with pytest.raises(BillomatValidationError):
        billomat.add_credit_note_item(note.id, item())
    with pytest.raises(BillomatValidationError):
        billomat.delete_credit_note(note.id)
    with pytest.raises(BillomatNotFoundError):
        billomat.get_credit_note(999_999)


def test_a_draft_can_be_deleted_but_not_sent(billomat: BillomatClient) -> None:
    note = billomat.create_credit_note(
        CreditNoteDraft(client_id=new_client(billomat), items=[item()])
    )
    with pytest.raises(BillomatValidationError):
        billomat.email_credit_note(note.id, "kunde@example.de")
    with pytest.raises(BillomatValidationError):
        billomat.credit_note_pdf(note.id)
    with pytest.raises(BillomatValidationError):
        billomat.cancel_credit_note(note.id)  # not reached either: the refusal stands
    billomat.delete_credit_note(note.id)
    with pytest.raises(BillomatNotFoundError):
        billomat.get_credit_note(note.id)


def test_filters_and_exact_customfield_lookup(billomat: BillomatClient) -> None:
    alice, bob = new_client(billomat, "Alice"), new_client(billomat, "Bob")
    invoice_a, invoice_b = completed_invoice(billomat, alice), completed_invoice(billomat, bob)
    first = billomat.create_credit_note(
        CreditNoteDraft(client_id=alice, invoice_id=invoice_a, customfield="r:1", items=[item()])
    )
    longer = billomat.create_credit_note(
        CreditNoteDraft(client_id=alice, invoice_id=invoice_a, customfield="r:10", items=[item()])
    )
    again = billomat.create_credit_note(
        CreditNoteDraft(client_id=bob, invoice_id=invoice_b, customfield="r:1", items=[item()])
    )
    billomat.complete_credit_note(again.id)

    def ids(notes: Iterator[CreditNote]) -> list[int]:
        return [note.id for note in notes]

    assert ids(billomat.iter_credit_notes(invoice_id=invoice_a)) == [first.id, longer.id]
    assert ids(billomat.iter_credit_notes(client_id=bob)) == [again.id]
    assert ids(billomat.iter_credit_notes(status=CreditNoteStatus.OPEN)) == [again.id]
    assert ids(
        billomat.iter_credit_notes(status=[CreditNoteStatus.DRAFT, CreditNoteStatus.PAID])
    ) == [first.id, longer.id]
    assert ids(billomat.iter_credit_notes(customfield="r:1")) == [first.id, longer.id, again.id]
    assert ids(billomat.iter_credit_notes(credit_note_number="GU1")) == [again.id]
    assert ids(billomat.iter_credit_notes(date_from=TODAY, date_to=TODAY)) == [
        first.id,
        longer.id,
        again.id,
    ]
    assert [n.id for n in billomat.find_credit_notes_by_customfield(" r:1 ")] == [
        first.id,
        again.id,
    ]
    assert billomat.find_credit_notes_by_customfield("r:2") == []
    with pytest.raises(ValueError, match="empty customfield"):
        billomat.find_credit_notes_by_customfield("  ")


def test_set_credit_note_customfield_uses_the_customfield_endpoint(
    billomat: BillomatClient, sandbox: BillomatSandbox
) -> None:
    client_id = new_client(billomat)
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    billomat.set_credit_note_customfield(note.id, "refund:7")
    assert billomat.get_credit_note(note.id).customfield == "refund:7"
    paths = [r.path for r in sandbox.requests]
    assert paths[-2] == f"/api/credit-notes/{note.id}/customfield"


def test_payments_make_it_paid_and_are_found_by_their_marker(billomat: BillomatClient) -> None:
    client_id = new_client(billomat)
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    other = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    for each in (note, other):
        billomat.complete_credit_note(each.id)
    partial = billomat.book_credit_note_payment(
        note.id,
        Decimal("19.00"),
        date=TODAY,
        type=PaymentType.BANK_TRANSFER,
        comment="Erstattung [refund:1]",
    )
    assert isinstance(partial, CreditNotePayment)
    assert (partial.credit_note_id, partial.amount, partial.type, partial.date) == (
        note.id,
        Decimal(19),
        PaymentType.BANK_TRANSFER,
        TODAY,
    )
    after = billomat.get_credit_note(note.id)
    assert (after.status, after.paid_amount, after.open_amount) == (
        CreditNoteStatus.OPEN,
        Decimal(19),
        Decimal(100),
    )
    rest = billomat.book_credit_note_payment(note.id, Decimal(100), comment="Rest [refund:2]")
    billomat.book_credit_note_payment(other.id, Decimal(1), comment="Anderes [refund:1]")
    paid = billomat.get_credit_note(note.id)
    assert (paid.status, paid.open_amount) == (CreditNoteStatus.PAID, Decimal(0))

    assert [p.id for p in billomat.list_credit_note_payments(note.id)] == [partial.id, rest.id]
    assert len(list(billomat.iter_credit_note_payments())) == 3
    assert [p.id for p in billomat.iter_credit_note_payments(type=PaymentType.BANK_TRANSFER)] == [
        partial.id
    ]
    found = billomat.find_credit_note_payment(note.id, "[refund:2]")
    assert found is not None
    assert found.id == rest.id
    assert billomat.find_credit_note_payment(note.id, "[refund:3]") is None

    billomat.delete_credit_note_payment(rest.id)
    assert billomat.get_credit_note(note.id).status is CreditNoteStatus.OPEN


def test_mark_as_paid_and_refused_payments(billomat: BillomatClient) -> None:
    client_id = new_client(billomat)
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    with pytest.raises(BillomatValidationError):
        billomat.book_credit_note_payment(note.id, Decimal(10))  # still a DRAFT
    billomat.complete_credit_note(note.id)
    billomat.book_credit_note_payment(note.id, Decimal(110), mark_credit_note_as_paid=True)
    paid = billomat.get_credit_note(note.id)
    assert (paid.status, paid.paid_amount, paid.open_amount) == (
        CreditNoteStatus.PAID,
        Decimal(110),
        Decimal(0),
    )
    with pytest.raises(BillomatValidationError):
        billomat.book_credit_note_payment(note.id, Decimal(1))  # already PAID


def test_a_payment_whose_answer_was_lost_is_found_instead_of_booked_twice(
    billomat: BillomatClient, sandbox: BillomatSandbox
) -> None:
    client_id = new_client(billomat)
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    billomat.complete_credit_note(note.id)
    sandbox.faults.add("POST", "credit-note-payments", "commit_then_fail")
    with pytest.raises(BillomatUnavailableError) as lost:
        billomat.book_credit_note_payment(note.id, Decimal(119), comment="Erstattung [r:42]")
    assert lost.value.may_have_committed
    found = billomat.find_credit_note_payment(note.id, "[r:42]")
    assert found is not None
    assert found.amount == Decimal(119)
    assert len(billomat.list_credit_note_payments(note.id)) == 1


def test_complete_whose_answer_was_lost_is_retried_safely(
    billomat: BillomatClient, sandbox: BillomatSandbox
) -> None:
    client_id = new_client(billomat)
    note = billomat.create_credit_note(CreditNoteDraft(client_id=client_id, items=[item()]))
    sandbox.faults.add("PUT", "credit-notes/*/complete", "commit_then_fail")
    billomat.complete_credit_note(note.id)  # retried; the refusal of the retry means "reached"
    completed = billomat.get_credit_note(note.id)
    assert (completed.status, completed.credit_note_number) == (CreditNoteStatus.OPEN, "GU1")


def test_settings_show_the_credit_note_range(billomat: BillomatClient) -> None:
    settings = billomat.get_settings()
    assert (settings.credit_note_number_pre, settings.credit_note_number_next) == ("GU", 1)
