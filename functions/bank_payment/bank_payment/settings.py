"""What the bank_payment worker and the camt.053 import read from the environment."""

from __future__ import annotations

from pydantic import Field

from autopilot.settings import EnvironmentSettings

from .matching import PayerRule


class BankPaymentSettings(EnvironmentSettings):
    """Tables, queue and topic of the bank workflow, and how rule 4 recognises payers."""

    workflow_table: str = Field(alias="WORKFLOW_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN")
    bank_queue_url: str = Field(alias="BANK_QUEUE_URL")
    """Where the camt.053 import queues transactions and rate-limited ones are put back."""
    files_bucket: str | None = Field(default=None, alias="FILES_BUCKET")
    """The statements bucket (uploads under ``camt053/``)."""
    payer_match: PayerRule = Field(default=PayerRule.IBAN_OR_NAME, alias="BANK_PAYER_MATCH")
    """Rule 4 (no invoice number): ``iban_or_name`` (default), ``iban`` only, or ``off``."""
