"""Workflow checkpoints, claims and small records in the DynamoDB workflow table.

The table (`WORKFLOW_TABLE`, keys `pk`/`sk`, TTL attribute `expires_at`) holds what a
multi-step workflow must remember between attempts: which steps are done (invoice created
→ completed → e-mailed → paid), short-lived claims that stop two concurrent workers from
creating the same client, the bank review list and known payer IBANs. Numbers come back as
``Decimal`` (DynamoDB's own number type), never float.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

Item = dict[str, Any]
LOCK_SORT_KEY = "lock"


class ClaimHeldElsewhere(RuntimeError):
    """Another attempt holds the claim right now; retry later (the message is retryable)."""

    retryable = True


@dataclass(frozen=True)
class Claim:
    """Outcome of `WorkflowStore.claim`: ours to act on, or someone else's record."""

    acquired: bool
    item: Item


class WorkflowStore:
    """Thin typed access to the workflow table; one instance per container."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.table_name = table_name
        self._client = dynamodb_client
        self._now = now
        self._serializer: Any = None
        self._deserializer: Any = None

    # boto3 is imported lazily: it is the largest part of a cold start.
    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client (created on first use)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _codec(self) -> tuple[Any, Any]:
        if self._serializer is None:
            from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

            self._serializer, self._deserializer = TypeSerializer(), TypeDeserializer()
        return self._serializer, self._deserializer

    def _encode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        serializer, _ = self._codec()
        return {k: serializer.serialize(_storable(v)) for k, v in item.items() if v is not None}

    def _decode(self, raw: Mapping[str, Any]) -> Item:
        _, deserializer = self._codec()
        return {k: deserializer.deserialize(v) for k, v in raw.items()}

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def get(self, pk: str, sk: str) -> Item | None:
        """The item, read consistently, or None."""
        response = self.client.get_item(
            TableName=self.table_name, Key=self._key(pk, sk), ConsistentRead=True
        )
        raw = response.get("Item")
        return None if raw is None else self._decode(raw)

    def get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The items that exist among ``keys`` (batches of 100, one request each)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [self._key(pk, sk) for pk, sk in wanted[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    item = self._decode(raw)
                    found[(item["pk"], item["sk"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    @contextmanager
    def exclusive(self, pk: str, owner: str, stale_after_seconds: int) -> Iterator[None]:
        """Hold ``pk`` / ``lock`` while the block runs: one worker per business object.

        Raises :class:`ClaimHeldElsewhere` (the message is delayed, not failed) while another
        owner holds it; a lock left by a crashed run is taken over once stale.
        """
        claim = self.claim(pk, LOCK_SORT_KEY, owner, stale_after_seconds)
        if not claim.acquired:
            raise ClaimHeldElsewhere(f"{pk} is being worked on by {claim.item.get('owner')}")
        try:
            yield
        finally:
            self.delete(pk, LOCK_SORT_KEY)

    def put(
        self, pk: str, sk: str, attributes: Mapping[str, Any], ttl_days: int | None = None
    ) -> None:
        """Write the item whole (last writer wins)."""
        item = {"pk": pk, "sk": sk, "updated_at": int(self._now()), **attributes}
        if ttl_days is not None:
            item["expires_at"] = int(self._now()) + ttl_days * 86400
        self.client.put_item(TableName=self.table_name, Item=self._encode(item))

    def put_if_newer(self, pk: str, sk: str, attributes: Mapping[str, Any], order: str) -> bool:
        """Write the item whole unless the stored one's ``order`` attribute is not older than
        ``attributes[order]``: concurrent writers never replace a newer record with an older
        one. True when written."""
        from botocore.exceptions import ClientError

        item = {"pk": pk, "sk": sk, "updated_at": int(self._now()), **attributes}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._encode(item),
                ConditionExpression="attribute_not_exists(pk) OR #order < :order",
                ExpressionAttributeNames={"#order": order},
                ExpressionAttributeValues={
                    ":order": self._codec()[0].serialize(_storable(attributes[order]))
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def update(self, pk: str, sk: str, attributes: Mapping[str, Any]) -> Item:
        """Set the given attributes (creating the item if needed); return the whole item."""
        values = {**attributes, "updated_at": int(self._now())}
        names = {f"#a{i}": name for i, name in enumerate(values)}
        expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
        serializer, _ = self._codec()
        response = self.client.update_item(
            TableName=self.table_name,
            Key=self._key(pk, sk),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                f":v{i}": serializer.serialize(_storable(value))
                for i, value in enumerate(values.values())
            },
            ReturnValues="ALL_NEW",
        )
        return self._decode(response["Attributes"])

    def delete(self, pk: str, sk: str) -> None:
        """Remove the item if it exists."""
        self.client.delete_item(TableName=self.table_name, Key=self._key(pk, sk))

    def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        """Every item under ``pk`` (optionally whose sort key starts with ``sk_prefix``)."""
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}}
        if sk_prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": sk_prefix}
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**kwargs)
            items.extend(self._decode(raw) for raw in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim(
        self,
        pk: str,
        sk: str,
        owner: str,
        stale_after_seconds: int,
        attributes: Mapping[str, Any] | None = None,
    ) -> Claim:
        """Take ``pk/sk`` for ``owner`` unless another owner took it less than
        ``stale_after_seconds`` ago or it already holds a result.

        A claim left behind by a crashed attempt becomes stale and can be taken over; the
        taker must then check Billomat for what the crashed attempt may have created.
        """
        now = int(self._now())
        item = {
            "pk": pk,
            "sk": sk,
            "owner": owner,
            "claimed_at": now,
            "updated_at": now,
            **(attributes or {}),
        }
        from botocore.exceptions import ClientError

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._encode(item),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR "
                    "(attribute_not_exists(#result) AND (#owner = :owner OR #claimed < :stale))"
                ),
                ExpressionAttributeNames={
                    "#result": "result",
                    "#owner": "owner",
                    "#claimed": "claimed_at",
                },
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":stale": {"N": str(now - stale_after_seconds)},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing = exc.response.get("Item")
            return Claim(False, self._decode(existing) if existing else self.get(pk, sk) or {})
        return Claim(True, item)


def _storable(value: Any) -> Any:
    """DynamoDB takes Decimal, not float; dates are stored as ISO strings."""
    if isinstance(value, float):
        return Decimal(str(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


@cache
def workflow_store_for(table_name: str) -> WorkflowStore:
    """The container's store for ``table_name`` (one per table, kept warm between invocations)."""
    return WorkflowStore(table_name)
