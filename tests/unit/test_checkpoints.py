"""Typed checkpoints over the workflow table (a dict-backed fake of WorkflowStore)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from autopilot.checkpoints import Checkpoint, CheckpointRecord


class FakeStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def update(self, pk: str, sk: str, attributes: dict[str, Any]) -> dict[str, Any]:
        item = self.items.setdefault((pk, sk), {"pk": pk, "sk": sk})
        item.update(attributes)
        item["updated_at"] = Decimal(1_700_000_000)
        return dict(item)


class Invoice(Checkpoint):
    invoice_id: int | None = None
    create_started: int | None = None
    completed: bool = False


def record(store: FakeStore) -> CheckpointRecord[Invoice]:
    return CheckpointRecord(store, Invoice, "order#x", "invoice")  # type: ignore[arg-type]


def test_an_empty_checkpoint_reads_as_the_models_defaults() -> None:
    assert record(FakeStore()).load() == Invoice()


def test_saved_fields_come_back_typed_and_dynamodb_decimals_become_ids() -> None:
    store = FakeStore()
    store.items[("order#x", "invoice")] = {
        "pk": "order#x",
        "sk": "invoice",
        "invoice_id": Decimal(7),
    }
    saved = record(store).save(completed=True)
    assert saved == Invoice(invoice_id=7, completed=True)
    assert isinstance(saved.invoice_id, int)


def test_none_clears_a_field() -> None:
    store = FakeStore()
    record(store).save(create_started=123)
    assert record(store).save(create_started=None).create_started is None


def test_a_field_the_model_does_not_have_is_refused_before_anything_is_written() -> None:
    store = FakeStore()
    with pytest.raises(TypeError, match="invoice_idd"):
        record(store).save(invoice_idd=1)
    assert store.items == {}
