"""The AWS side of local mode: moto stands in for DynamoDB, SQS, S3, Secrets Manager and SNS.

Resources are created with the names, keys and wiring of template.yaml, and the handlers
get the same environment variables the template gives them, so the code under test is the
code that is deployed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

REGION = "eu-central-1"

# Locally a failed message comes back after a few seconds instead of 6 minutes.
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 3
# None: redrive after as many receives as template.yaml says.
MAX_RECEIVE_COUNT: int | None = None


def queue_short_name(logical_id: str) -> str:
    """``OrdersQueue`` -> ``orders``: the name local mode and its health report use."""
    return logical_id.removesuffix("Queue").lower()


def use_fake_aws_environment() -> None:
    """Region and dummy credentials so no boto3 client can ever reach real AWS."""
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "local"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
    os.environ["AWS_SESSION_TOKEN"] = "local"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)


@dataclass
class LocalAws:
    """Creates the stack's resources inside an active moto mock and remembers their ids."""

    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dead_letter_queue_urls: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)

    def create(
        self,
        *,
        billomat_secret: Mapping[str, str],
        webhook_secrets: Mapping[str, str],
        hubspot_token: str,
    ) -> dict[str, str]:
        """Create every resource; return the environment variables the handlers read."""
        import boto3

        from local.template_schema import (
            dead_letter_queues,
            load_template,
            queue_env,
            table_definition,
        )

        template = load_template()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical_id, env_name in (
            ("IdempotencyTable", "IDEMPOTENCY_TABLE"),
            ("WorkflowTable", "WORKFLOW_TABLE"),
        ):
            definition = table_definition(template, logical_id)
            table_name = f"autopilot-local-{logical_id}"
            dynamodb.create_table(TableName=table_name, **definition)
            self.environment[env_name] = table_name

        sqs = boto3.client("sqs", region_name=REGION)
        redrives = dead_letter_queues(template)
        for env_name, logical_id in queue_env(template).items():
            name = queue_short_name(logical_id)
            max_receive_count = MAX_RECEIVE_COUNT or redrives[logical_id][1]
            dlq_url = sqs.create_queue(QueueName=f"autopilot-local-{name}-dlq")["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            redrive = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            )
            url = sqs.create_queue(
                QueueName=f"autopilot-local-{name}",
                Attributes={
                    "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT_SECONDS),
                    "RedrivePolicy": redrive,
                },
            )["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.queue_urls[name] = url
            self.queue_arns[name] = arn
            self.dead_letter_queue_urls[name] = dlq_url
            self.environment[env_name] = url
            # e.g. DEALS_DEAD_LETTER_QUEUE_URL: a worker that dead-letters a message itself
            self.environment[env_name.replace("_QUEUE_URL", "_DEAD_LETTER_QUEUE_URL")] = dlq_url

        secrets = boto3.client("secretsmanager", region_name=REGION)
        self.environment["BILLOMAT_SECRET_ARN"] = secrets.create_secret(
            Name="autopilot-local/billomat", SecretString=json.dumps(dict(billomat_secret))
        )["ARN"]
        self.environment["WEBHOOK_SECRETS_ARN"] = secrets.create_secret(
            Name="autopilot-local/webhooks", SecretString=json.dumps(dict(webhook_secrets))
        )["ARN"]
        self.environment["HUBSPOT_SECRET_ARN"] = secrets.create_secret(
            Name="autopilot-local/hubspot",
            SecretString=json.dumps({"access_token": hubspot_token}),
        )["ARN"]

        sns = boto3.client("sns", region_name=REGION)
        self.environment["NOTIFICATIONS_TOPIC_ARN"] = sns.create_topic(
            Name="autopilot-local-notifications"
        )["TopicArn"]

        s3 = boto3.client("s3", region_name=REGION)
        bucket = "autopilot-local-files"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.environment["FILES_BUCKET"] = bucket
        return dict(self.environment)

    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Visible, in-flight and delayed messages per work queue and its dead-letter queue."""
        import boto3
        from admin.queues import depth  # the operator API's own reading of a queue

        sqs = boto3.client("sqs", region_name=REGION)
        depths: dict[str, dict[str, int]] = {}
        for name, url in self.queue_urls.items():
            depths[name] = depth(sqs, url)
            depths[f"{name}-dlq"] = depth(sqs, self.dead_letter_queue_urls[name])
        return depths
