"""Accounting notices: short, readable messages on the SNS topic (e-mail subscription)."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

log = logging.getLogger("autopilot.notifications")

SUBJECT_LIMIT = 100  # SNS rejects longer e-mail subjects


class AccountingNotifier:
    """Publishes notices for people in accounting; one instance per container."""

    def __init__(self, topic_arn: str, sns_client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = sns_client

    @property
    def client(self) -> Any:
        """The boto3 SNS client (created on first use: boto3 is a large import)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("sns")
        return self._client

    def notify(self, subject: str, lines: list[str], details: dict[str, Any] | None = None) -> str:
        """Send one notice; ``details`` go along as a JSON appendix. Returns the message id."""
        body = "\n".join(lines)
        if details:
            body += "\n\n" + json.dumps(details, indent=2, default=str, ensure_ascii=False)
        short_subject = subject if len(subject) <= SUBJECT_LIMIT else subject[:97] + "..."
        response = self.client.publish(TopicArn=self.topic_arn, Subject=short_subject, Message=body)
        message_id: str = response["MessageId"]
        log.info("accounting notified: %s", short_subject)
        return message_id


@cache
def accounting_notifier_for(topic_arn: str) -> AccountingNotifier:
    """The container's notifier for ``topic_arn`` (kept warm between invocations)."""
    return AccountingNotifier(topic_arn)
