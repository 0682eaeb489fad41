"""Read ``template.yaml`` so local mode and tests build the same resources as the deployment.

The loader understands CloudFormation short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If`` ...)
and turns them into the long JSON form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``), so the result
is the template as CloudFormation sees it before the SAM transform.

Helpers:

- ``load_template(path)``: the parsed template (a dict).
- ``table_definition(template, logical_id)``: keyword arguments for boto3/moto
  ``create_table`` (``AttributeDefinitions``, ``KeySchema``, ``BillingMode``, and secondary
  indexes if the template has any); add ``TableName`` yourself.
- ``ttl_attribute(template, logical_id)``: the table's TTL attribute name or ``None``.
- ``queue_names(template)``: logical ids of every SQS queue (work queues and DLQs), in
  template order.
- ``dead_letter_queues(template)``: work queue -> (DLQ, maxReceiveCount).
- ``queue_env(template)``: environment variable (e.g. ``ORDERS_QUEUE_URL``) -> queue logical id.
- ``http_routes(template)``: the webhook routes as ``(method, path)`` tuples.
- ``evaluate(template, node, parameters)``: ``node`` (e.g. a secret's ``SecretString``) as
  CloudFormation renders it for those parameter values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"

__all__ = [
    "DEFAULT_TEMPLATE",
    "CfnLoader",
    "dead_letter_queues",
    "evaluate",
    "http_routes",
    "load_template",
    "queue_env",
    "queue_names",
    "resources_of_type",
    "table_definition",
    "ttl_attribute",
]


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that also accepts CloudFormation short-form intrinsic functions."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type, unused-ignore]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template, short tags included."""
    with Path(path).open(encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path} is not a CloudFormation template")
    return template


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every resource of ``resource_type``, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def _resource(template: dict[str, Any], logical_id: str, resource_type: str) -> dict[str, Any]:
    resource = template["Resources"].get(logical_id)
    if resource is None or resource.get("Type") != resource_type:
        raise KeyError(f"{logical_id} is not a {resource_type} in the template")
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def table_definition(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """``create_table`` arguments (without ``TableName``) for a DynamoDB table of the template."""
    properties = _resource(template, logical_id, "AWS::DynamoDB::Table")
    definition: dict[str, Any] = {
        "AttributeDefinitions": [dict(a) for a in properties["AttributeDefinitions"]],
        "KeySchema": [dict(k) for k in properties["KeySchema"]],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(index_kind):
            definition[index_kind] = properties[index_kind]
    if definition["BillingMode"] == "PROVISIONED":
        definition["ProvisionedThroughput"] = properties.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    return definition


def ttl_attribute(template: dict[str, Any], logical_id: str) -> str | None:
    """Name of the table's TTL attribute, or ``None`` when TTL is not enabled."""
    ttl = _resource(template, logical_id, "AWS::DynamoDB::Table").get("TimeToLiveSpecification")
    if not ttl or not ttl.get("Enabled", False):
        return None
    name: str = ttl["AttributeName"]
    return name


def queue_names(template: dict[str, Any]) -> list[str]:
    """Logical ids of every SQS queue in the template (work queues and DLQs)."""
    return list(resources_of_type(template, "AWS::SQS::Queue"))


def dead_letter_queues(template: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Work queue logical id -> (its DLQ logical id, maxReceiveCount)."""
    result: dict[str, tuple[str, int]] = {}
    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        if not redrive:
            continue
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        result[logical_id] = (target, int(redrive["maxReceiveCount"]))
    return result


def queue_env(template: dict[str, Any]) -> dict[str, str]:
    """Global environment variable -> SQS queue logical id.

    Example: ``{"ORDERS_QUEUE_URL": "OrdersQueue", ...}``.
    """
    queues = set(queue_names(template))
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {
        name: value["Ref"]
        for name, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in queues
    }


def http_routes(template: dict[str, Any]) -> list[tuple[str, str]]:
    """Webhook routes of the HTTP API as ``(method, path)``, in template order.

    Covers plain ``AWS::ApiGatewayV2::Route`` resources and SAM ``HttpApi`` function events.
    """
    routes: list[tuple[str, str]] = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::ApiGatewayV2::Route":
            method, _, path = properties["RouteKey"].partition(" ")
            routes.append((method.upper(), path))
        elif resource.get("Type") == "AWS::Serverless::Function":
            for event in (properties.get("Events") or {}).values():
                if event.get("Type") == "HttpApi":
                    event_props = event.get("Properties", {})
                    routes.append((event_props["Method"].upper(), event_props["Path"]))
    return routes


def evaluate(template: dict[str, Any], node: Any, parameters: dict[str, str]) -> Any:
    """``node`` with its intrinsic functions worked out for the given parameter values (the
    others take their defaults): ``Ref`` to a parameter, ``Fn::Sub`` over parameters and
    variables, ``Fn::If`` with the template's conditions (``Fn::Equals``, ``Fn::Not``,
    ``Fn::And``, ``Fn::Or``, ``Condition``). Enough for a secret's ``SecretString``; a reference
    to a resource or a pseudo parameter raises ``KeyError``."""
    values = {
        name: str(parameters.get(name, declared.get("Default", "")))
        for name, declared in template.get("Parameters", {}).items()
    }
    unknown = set(parameters) - set(values)
    if unknown:
        raise KeyError(f"not parameters of the template: {sorted(unknown)}")

    def condition(name: str) -> bool:
        return bool(walk(template["Conditions"][name]))

    def walk(item: Any) -> Any:
        if isinstance(item, list):
            return [walk(element) for element in item]
        if not isinstance(item, dict):
            return item
        if len(item) != 1:
            return {key: walk(value) for key, value in item.items()}
        [(function, argument)] = item.items()
        if function == "Ref":
            return values[argument]
        if function == "Condition":
            return condition(argument)
        if function == "Fn::Equals":
            left, right = walk(argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not walk(argument[0])
        if function == "Fn::And":
            return all(walk(element) for element in argument)
        if function == "Fn::Or":
            return any(walk(element) for element in argument)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return walk(when_true if condition(name) else when_false)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            known = {**values, **{key: walk(value) for key, value in variables.items()}}
            return _SUB_VARIABLE.sub(lambda match: str(known[match.group(1)]), text)
        return {function: walk(argument)}

    return walk(node)


_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")
