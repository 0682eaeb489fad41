"""template.yaml keeps the contract: routes, queues + DLQs + alarms, tables, least privilege."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template_schema import (
    dead_letter_queues,
    evaluate,
    http_routes,
    load_template,
    queue_env,
    queue_names,
    resources_of_type,
    table_definition,
    ttl_attribute,
)

# architecture.md section 3
CONTRACT_ROUTES = {
    ("POST", "/webhooks/shopify/orders"),
    ("POST", "/webhooks/shopify/products"),
    ("POST", "/webhooks/shopify/refunds"),
    ("POST", "/webhooks/woocommerce/orders"),
    ("POST", "/webhooks/woocommerce/products"),
    ("POST", "/webhooks/hubspot/deals"),
    ("POST", "/webhooks/bank/transactions"),
    ("POST", "/webhooks/qonto/transactions"),
}
# the operator API, same section: IAM-authorized, to the admin function
ADMIN_ROUTES = {
    ("GET", "/admin/status"),
    ("GET", "/admin/review"),
    ("POST", "/admin/review/{id}"),
    ("GET", "/admin/dead-letters"),
    ("POST", "/admin/dead-letters/{queue}/redrive"),
}

GLOBAL_ENV = {
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "IDEMPOTENCY_TABLE",
    "WORKFLOW_TABLE",
    "BILLOMAT_ID",
    "BILLOMAT_BASE_URL",
    "BILLOMAT_SECRET_ARN",
    "HUBSPOT_SECRET_ARN",
    "WEBHOOK_SECRETS_ARN",
    "NOTIFICATIONS_TOPIC_ARN",
    "FILES_BUCKET",
    "ORDERS_QUEUE_URL",
    "DEALS_QUEUE_URL",
    "BANK_QUEUE_URL",
    "PRODUCTS_QUEUE_URL",
    "REFUNDS_QUEUE_URL",
    "PUBLIC_BASE_URL",
    "INVOICE_TRIGGER",
    "RETRY_HORIZON_HOURS",
}

SECRET_KEYS = {
    "BillomatApiSecret": {"api_key", "app_id", "app_secret"},
    "WebhookSecretsSecret": {"shopify", "woocommerce", "hubspot_client_secret", "bank", "qonto"},
    "HubSpotTokenSecret": {"access_token"},
}

PSEUDO = re.compile(r"^AWS::")
SUB_VAR = re.compile(r"\$\{(?!!)([^}.]+)(?:\.[^}]+)?\}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def _walk_refs(node: Any) -> Iterator[str]:
    """Every logical name referenced by Ref, Fn::GetAtt or Fn::Sub inside ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                yield from (n for n in SUB_VAR.findall(text) if n not in variables)
                yield from _walk_refs(variables)
            else:
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_refs(item)


def _timeout(template: dict[str, Any], function: dict[str, Any]) -> int:
    globals_timeout = template["Globals"]["Function"]["Timeout"]
    return int(function["Properties"].get("Timeout", globals_timeout))


# ------------------------------------------------------------------ HTTP API


def test_http_api_routes_equal_the_contract(template: dict[str, Any]) -> None:
    routes = http_routes(template)
    assert len(routes) == len(set(routes)), "duplicate route"
    assert set(routes) == CONTRACT_ROUTES | ADMIN_ROUTES


def test_every_route_goes_to_the_intake_on_the_default_stage(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    integrations = resources_of_type(template, "AWS::ApiGatewayV2::Integration")
    assert set(integrations) == {"WebhooksIntegration", "AdminIntegration"}
    integration = integrations["WebhooksIntegration"]["Properties"]
    assert _snapstart_branch(integration["IntegrationUri"], on=False) == {  # on: the alias
        "Fn::GetAtt": ["WebhooksFunction", "Arn"]
    }
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    for route in resources_of_type(template, "AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["ApiId"] == {"Ref": "WebhookApi"}
        if route["Properties"]["RouteKey"].split(" ")[1].startswith("/admin/"):
            continue  # the operator API: see test_every_admin_route_requires_iam_authorization
        assert route["Properties"]["Target"] == {"Fn::Sub": "integrations/${WebhooksIntegration}"}
    assert resources["WebhookApi"]["Properties"]["ProtocolType"] == "HTTP"
    stage = resources["WebhookApiStage"]["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    permission = resources["WebhooksApiInvokePermission"]["Properties"]
    assert _snapstart_branch(permission["FunctionName"], on=False) == {"Ref": "WebhooksFunction"}
    assert permission["Principal"] == "apigateway.amazonaws.com"


def test_every_admin_route_requires_iam_authorization(template: dict[str, Any]) -> None:
    routes = resources_of_type(template, "AWS::ApiGatewayV2::Route")
    admin = {
        name: route["Properties"]
        for name, route in routes.items()
        if route["Properties"]["RouteKey"].split(" ", 1)[1].startswith("/admin")
    }
    assert {tuple(r["RouteKey"].split(" ", 1)) for r in admin.values()} == ADMIN_ROUTES
    for name, properties in admin.items():
        assert properties.get("AuthorizationType") == "AWS_IAM", name
        assert properties["Target"] == {"Fn::Sub": "integrations/${AdminIntegration}"}, name
    for name, route in routes.items():  # and the webhooks stay reachable for the senders
        if name not in admin:
            assert route["Properties"].get("AuthorizationType", "NONE") == "NONE", name
    integration = template["Resources"]["AdminIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["AdminFunction", "Arn"]}
    permission = template["Resources"]["AdminApiInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "AdminFunction"}
    assert "AdminApiUrl" in template["Outputs"]


def test_every_route_has_an_output_url(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    paths = set()
    for name, output in outputs.items():
        value = output["Value"].get("Fn::Sub")
        if name.endswith("WebhookUrl"):
            text = value[0] if isinstance(value, list) else value
            paths.add(text.removeprefix("${Base}"))
    assert paths == {path for _, path in CONTRACT_ROUTES}
    for name in ("FilesBucketName", "NotificationsTopicArn", "AlarmsTopicArn", "WebhookApiBaseUrl"):
        assert name in outputs


# ------------------------------------------------------------------ queues


def test_every_work_queue_has_a_dlq_and_a_long_enough_visibility_timeout(
    template: dict[str, Any],
) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    redrive = dead_letter_queues(template)
    dlqs = {dlq for dlq, _ in redrive.values()}
    work_queues = set(queues) - dlqs - {"ScheduledFailuresQueue"}
    assert work_queues == {
        "OrdersQueue",
        "DealsQueue",
        "BankQueue",
        "ProductsQueue",
        "RefundsQueue",
    }
    assert set(redrive) == work_queues, "a work queue without a DLQ"
    assert len(dlqs) == len(work_queues), "work queues share a DLQ"

    consumers: dict[str, list[int]] = {}
    for function in _functions(template).values():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                consumers.setdefault(queue, []).append(_timeout(template, function))
    globals_timeout = int(template["Globals"]["Function"]["Timeout"])

    for queue in work_queues:
        properties = queues[queue]["Properties"]
        timeouts = consumers.get(queue, [globals_timeout])
        assert properties["VisibilityTimeout"] >= 6 * max(timeouts), queue
        assert properties["SqsManagedSseEnabled"] is True
        dlq, max_receive = redrive[queue]
        assert 1 <= max_receive <= 10
        dlq_properties = queues[dlq]["Properties"]
        assert dlq_properties["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert dlq_properties["SqsManagedSseEnabled"] is True
        assert "RedrivePolicy" not in dlq_properties
        assert properties["MessageRetentionPeriod"] <= dlq_properties["MessageRetentionPeriod"]


def test_every_dlq_has_an_alarm_on_the_alarms_topic(template: dict[str, Any]) -> None:
    alarmed = set()
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties["MetricName"] != "ApproximateNumberOfMessagesVisible":
            continue
        assert properties["Namespace"] == "AWS/SQS"
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert properties["Threshold"] == 1
        assert {"Ref": "AlarmsTopic"} in properties["AlarmActions"]
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "QueueName"
        assert dimension["Value"]["Fn::GetAtt"][1] == "QueueName"
        alarmed.add(dimension["Value"]["Fn::GetAtt"][0])
    dlqs = {dlq for dlq, _ in dead_letter_queues(template).values()}
    assert alarmed == dlqs | {"ScheduledFailuresQueue"}


def test_queue_env_points_at_the_work_queues(template: dict[str, Any]) -> None:
    assert queue_env(template) == {
        "ORDERS_QUEUE_URL": "OrdersQueue",
        "DEALS_QUEUE_URL": "DealsQueue",
        "BANK_QUEUE_URL": "BankQueue",
        "PRODUCTS_QUEUE_URL": "ProductsQueue",
        "REFUNDS_QUEUE_URL": "RefundsQueue",
    }


# ------------------------------------------------------------------ tables


def test_idempotency_table_matches_powertools_defaults(template: dict[str, Any]) -> None:
    definition = table_definition(template, "IdempotencyTable")
    assert definition["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert definition["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl_attribute(template, "IdempotencyTable") == "expiration"


def test_workflow_table_is_a_pk_sk_single_table(template: dict[str, Any]) -> None:
    definition = table_definition(template, "WorkflowTable")
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl_attribute(template, "WorkflowTable") == "expires_at"


def test_tables_have_pitr_and_sse(template: dict[str, Any]) -> None:
    for table in resources_of_type(template, "AWS::DynamoDB::Table").values():
        properties = table["Properties"]
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        assert properties["SSESpecification"]["SSEEnabled"]


def test_template_tables_and_queues_build_in_moto(template: dict[str, Any]) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
        for logical_id in resources_of_type(template, "AWS::DynamoDB::Table"):
            dynamodb.create_table(TableName=logical_id, **table_definition(template, logical_id))
        dynamodb.put_item(TableName="IdempotencyTable", Item={"id": {"S": "fn#abc"}})
        dynamodb.put_item(
            TableName="WorkflowTable", Item={"pk": {"S": "ORDER#1"}, "sk": {"S": "STEP#created"}}
        )
        sqs = boto3.client("sqs", region_name="eu-central-1")
        urls = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in queue_names(template)]
        assert len(urls) == len(set(urls)) == 11  # 5 work queues, 5 DLQs, scheduled failures


# ------------------------------------------------------------------ intake least privilege


def test_intake_reads_only_the_webhook_secrets(template: dict[str, Any]) -> None:
    function = template["Resources"]["WebhooksFunction"]["Properties"]
    assert "Role" not in function
    policies = function["Policies"]
    referenced = set(_walk_refs(policies))
    assert "WebhookSecretsSecret" in referenced
    assert "BillomatApiSecret" not in referenced
    assert "HubSpotTokenSecret" not in referenced
    assert referenced == {
        "WebhookSecretsSecret",
        "OrdersQueue",
        "DealsQueue",
        "BankQueue",
        "ProductsQueue",
        "RefundsQueue",
        "IdempotencyTable",
    }
    # only SAM policy templates scoped to those resources, and the one inline statement on
    # its own idempotency records; no managed policies
    for policy in policies:
        assert isinstance(policy, dict)
        if "Statement" in policy:
            continue
        (name,) = policy
        assert name in {"AWSSecretsManagerGetSecretValuePolicy", "SQSSendMessagePolicy"}
    secret_policies = [p for p in policies if "AWSSecretsManagerGetSecretValuePolicy" in p]
    assert secret_policies == [
        {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "WebhookSecretsSecret"}}}
    ]


def test_intake_writes_only_its_own_delivery_records(template: dict[str, Any]) -> None:
    policies = template["Resources"]["WebhooksFunction"]["Properties"]["Policies"]
    assert not [p for p in policies if "DynamoDBCrudPolicy" in p or "DynamoDBWritePolicy" in p]
    inline = [p for p in policies if "Statement" in p]
    assert len(inline) == 1
    (statement,) = inline[0]["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["delivery#*"]}
    }


def test_statement_import_reads_only_camt053_uploads(template: dict[str, Any]) -> None:
    policies = template["Resources"]["BankStatementImportFunction"]["Properties"]["Policies"]
    assert not [p for p in policies if "S3ReadPolicy" in p or "S3CrudPolicy" in p]
    reads = [
        statement
        for policy in policies
        if "Statement" in policy
        for statement in policy["Statement"]
    ]
    assert reads == [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${FilesBucket.Arn}/camt053/*"},
        }
    ]


def test_intake_settings(template: dict[str, Any]) -> None:
    function = template["Resources"]["WebhooksFunction"]["Properties"]
    assert function["CodeUri"] == "functions/webhooks/"
    assert function["Handler"] == "webhooks.app.lambda_handler"
    assert function["Timeout"] == 5
    assert function["MemorySize"] == 512
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "webhooks"


# ------------------------------------------------------------------ runtime, layer, env


def test_runtime_is_python313_on_arm64(template: dict[str, Any]) -> None:
    globals_function = template["Globals"]["Function"]
    assert globals_function["Runtime"] == "python3.13"
    assert globals_function["Architectures"] == ["arm64"]
    assert globals_function["Tracing"] == "Active"
    assert globals_function["LoggingConfig"]["LogFormat"] == "JSON"
    assert globals_function["Layers"] == [{"Ref": "SharedLayer"}]
    for name, function in _functions(template).items():
        properties = function["Properties"]
        assert properties.get("Runtime", "python3.13") == "python3.13", name
        assert properties.get("Architectures", ["arm64"]) == ["arm64"], name
        assert "POWERTOOLS_SERVICE_NAME" in properties["Environment"]["Variables"], name
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_global_environment_names(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) == GLOBAL_ENV
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "BillomatAutopilot"
    assert variables["WEBHOOK_SECRETS_ARN"] == {"Ref": "WebhookSecretsSecret"}
    assert variables["BILLOMAT_SECRET_ARN"] == {"Ref": "BillomatApiSecret"}
    assert variables["HUBSPOT_SECRET_ARN"] == {"Ref": "HubSpotTokenSecret"}
    parameters = template["Parameters"]
    assert parameters["InvoiceTrigger"]["AllowedValues"] == ["paid", "created"]
    assert parameters["InvoiceTrigger"]["Default"] == "paid"
    assert parameters["LogLevel"]["Default"] == "INFO"
    # the 401 alarms' metric filters count WARNING lines ("webhook rejected", the Billomat key)
    assert parameters["LogLevel"]["AllowedValues"] == ["DEBUG", "INFO", "WARNING"]
    assert parameters["BillomatBaseUrl"]["Default"] == ""
    assert variables["RETRY_HORIZON_HOURS"] == {"Ref": "RetryHorizonHours"}
    horizon = parameters["RetryHorizonHours"]
    assert horizon["Type"] == "Number"
    assert horizon["Default"] == 72
    assert horizon["MinValue"] >= 1


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize("secret", sorted(SECRET_KEYS))
@pytest.mark.parametrize("value", ["Ab0+/=_-.:~!@#$%^&*()[]{}<>?, 'x", "-"])
def test_secret_string_is_json_with_the_expected_keys(
    template: dict[str, Any], secret: str, value: str
) -> None:
    """For anything the secret parameters' patterns allow, and for "-" (unset)."""
    secret_string = template["Resources"][secret]["Properties"]["SecretString"]
    parameters = {
        name: value
        for name, declared in template["Parameters"].items()
        if declared.get("NoEcho") and name != "BillomatId"
    }
    rendered = json.loads(evaluate(template, secret_string, parameters))
    assert set(rendered) == SECRET_KEYS[secret]
    expected = "" if value == "-" else value  # "-" (guided deploy) is stored as ""
    required = {"api_key"}  # BillomatApiKey has no default and no "-"
    assert {key: item for key, item in rendered.items() if key not in required} == dict.fromkeys(
        SECRET_KEYS[secret] - required, expected
    )


WEBHOOK_SECRET_PARAMETERS = {
    "shopify": "ShopifyWebhookSecret",
    "woocommerce": "WooCommerceWebhookSecret",
    "hubspot_client_secret": "HubSpotClientSecret",
    "bank": "BankWebhookSecret",
    "qonto": "QontoWebhookSecret",
}


def rendered_webhook_secrets(template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """The webhook secret as CloudFormation writes it for these parameter values."""
    secret_string = template["Resources"]["WebhookSecretsSecret"]["Properties"]["SecretString"]
    return dict(json.loads(evaluate(template, secret_string, parameters)))


def test_each_webhook_secret_is_written_as_given_and_dash_means_unset(
    template: dict[str, Any],
) -> None:
    sample = "Ab0+/=_-.:~!@#$%^&*()[]{}<>?, 'x"  # anything the parameter patterns allow
    values = {parameter: sample for parameter in WEBHOOK_SECRET_PARAMETERS.values()}
    values["QontoWebhookSecret"] = "-"
    assert rendered_webhook_secrets(template, **values) == {
        "shopify": sample,
        "woocommerce": sample,
        "hubspot_client_secret": sample,
        "bank": sample,
        "qonto": "",
    }


@pytest.mark.parametrize(("key", "parameter"), sorted(WEBHOOK_SECRET_PARAMETERS.items()))
def test_a_rotation_writes_the_new_and_the_old_secret_for_that_source_only(
    template: dict[str, Any], key: str, parameter: str
) -> None:
    values = {name: f"{name}-new" for name in WEBHOOK_SECRET_PARAMETERS.values()}
    source = template["Parameters"]["PreviousWebhookSecretSource"]
    chosen = "hubspot" if key == "hubspot_client_secret" else key
    assert chosen in source["AllowedValues"]
    rendered = rendered_webhook_secrets(
        template, **values, PreviousWebhookSecret="old", PreviousWebhookSecretSource=chosen
    )
    assert rendered[key] == [f"{parameter}-new", "old"]
    others = {k: v for k, v in rendered.items() if k != key}
    assert others == {k: f"{p}-new" for k, p in WEBHOOK_SECRET_PARAMETERS.items() if k != key}


@pytest.mark.parametrize(
    "rotation",
    [
        {"PreviousWebhookSecret": "-", "PreviousWebhookSecretSource": "shopify"},
        {"PreviousWebhookSecret": "", "PreviousWebhookSecretSource": "shopify"},
        {"PreviousWebhookSecret": "old", "PreviousWebhookSecretSource": "none"},
        {"PreviousWebhookSecret": "old"},
    ],
)
def test_without_both_rotation_parameters_nothing_is_rotated(
    template: dict[str, Any], rotation: dict[str, str]
) -> None:
    rendered = rendered_webhook_secrets(template, ShopifyWebhookSecret="new", **rotation)
    assert rendered["shopify"] == "new"
    assert all(isinstance(value, str) for value in rendered.values())


def test_an_unused_source_stays_unused_during_a_rotation(template: dict[str, Any]) -> None:
    rendered = rendered_webhook_secrets(
        template,
        ShopifyWebhookSecret="-",
        PreviousWebhookSecret="old",
        PreviousWebhookSecretSource="shopify",
    )
    assert rendered["shopify"] == ""  # never a list that would accept the old secret alone


def test_secret_parameters_are_noecho_and_json_safe(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    secret_params = {
        ref
        for secret in SECRET_KEYS
        for ref in _walk_refs(template["Resources"][secret]["Properties"]["SecretString"])
    }
    assert secret_params == {
        "BillomatApiKey",
        "BillomatAppId",
        "BillomatAppSecret",
        "ShopifyWebhookSecret",
        "WooCommerceWebhookSecret",
        "HubSpotClientSecret",
        "BankWebhookSecret",
        "QontoWebhookSecret",
        "PreviousWebhookSecret",
        "HubSpotAccessToken",
    }
    for name in secret_params:
        parameter = parameters[name]
        assert parameter["NoEcho"] is True, name
        pattern = re.compile(parameter["AllowedPattern"])
        assert pattern.fullmatch("s3cr3t+/=-_"), name
        for bad in ('a"b', "a\\b", "a\nb"):
            assert not pattern.fullmatch(bad), (name, bad)
    assert "Default" not in parameters["BillomatApiKey"]
    assert "Default" not in parameters["BillomatId"]
    billomat_id = re.compile(parameters["BillomatId"]["AllowedPattern"])
    assert billomat_id.fullmatch("my-company1")
    assert not billomat_id.fullmatch("evil.example.com/")


def test_no_secret_values_in_samconfig() -> None:
    from local.template_schema import DEFAULT_TEMPLATE

    samconfig = (DEFAULT_TEMPLATE.parent / "samconfig.toml").read_text(encoding="utf-8")
    assert 'stack_name = "billomat-autopilot"' in samconfig
    assert 'region = "eu-central-1"' in samconfig
    for parameter in ("BillomatApiKey", "WebhookSecret", "ClientSecret", "AccessToken"):
        assert parameter not in samconfig


# ------------------------------------------------------------------ dependency graph


def test_no_circular_dependencies(template: dict[str, Any]) -> None:
    """cfn-lint misses cycles that only appear after the SAM transform (HttpApi events)."""
    resources = template["Resources"]
    globals_refs = set(_walk_refs(template.get("Globals", {}).get("Function", {})))
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        deps = set(_walk_refs(resource.get("Properties", {})))
        depends_on = resource.get("DependsOn", [])
        deps |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        if resource["Type"] == "AWS::Serverless::Function":
            deps |= globals_refs
        graph[name] = {d for d in deps if d in resources and not PSEUDO.match(d)}
    # SAM writes every HttpApi event's integration (function ARN) into the API's body
    for name, function in _functions(template).items():
        for event in (function["Properties"].get("Events") or {}).values():
            api = event.get("Properties", {}).get("ApiId", {})
            if event["Type"] == "HttpApi" and isinstance(api, dict) and "Ref" in api:
                graph[api["Ref"]].add(name)

    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in done:
            return
        assert node not in visiting, f"circular dependency: {' -> '.join([*path, node])}"
        visiting.add(node)
        for dep in graph[node]:
            visit(dep, [*path, node])
        visiting.discard(node)
        done.add(node)

    for node in graph:
        visit(node, [])


def test_files_bucket_is_private_encrypted_versioned_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["FilesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (statement,) = template["Resources"]["FilesBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ------------------------------------------------------------------ scheduled functions


def test_scheduled_functions_run_in_berlin_time_with_retries(
    template: dict[str, Any],
) -> None:
    scheduled = {}
    for logical_id, function in _functions(template).items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "ScheduleV2":
                scheduled[logical_id] = (function["Properties"], event["Properties"])
    assert set(scheduled) == {"DunningFunction", "RecurringFunction", "ReportingFunction"}
    for properties, schedule in scheduled.values():
        assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
        assert "Ref" in schedule["ScheduleExpression"]  # configurable as a parameter
        assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        on_failure = properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure["Destination"] == {"Fn::GetAtt": ["ScheduledFailuresQueue", "Arn"]}


def test_no_function_reserves_concurrency(template: dict[str, Any]) -> None:
    """A new account's quota of 10 cannot spare reserved concurrency: the first deploy would
    fail. One scheduled run at a time comes from the schedule's lock in the workflow table."""
    assert "ReservedConcurrentExecutions" not in template["Globals"]["Function"]
    for name, function in _functions(template).items():
        assert "ReservedConcurrentExecutions" not in function["Properties"], name


def test_a_schedule_lock_outlives_its_function_timeout(template: dict[str, Any]) -> None:
    """The lock of a run that is still running never counts as stale: the stale time exceeds
    the timeout of every scheduled function, and each one can reach its lock's table."""
    from autopilot.scheduled_run import RUN_LOCK_STALE_SECONDS

    for name, function in _functions(template).items():
        events = (function["Properties"].get("Events") or {}).values()
        if not any(event["Type"] == "ScheduleV2" for event in events):
            continue
        assert _timeout(template, function) < RUN_LOCK_STALE_SECONDS, name
        policies = function["Properties"]["Policies"]
        assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "WorkflowTable"}}} in policies, name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["WORKFLOW_TABLE"] == {"Ref": "WorkflowTable"}


# ------------------------------------------------------------------ operational alarms


def _alarms(template: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: alarm["Properties"]
        for name, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"]["MetricName"] == metric
    }


def _assert_notifies(properties: dict[str, Any]) -> None:
    assert {"Ref": "AlarmsTopic"} in properties["AlarmActions"]
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["TreatMissingData"] == "notBreaching"


def test_every_function_has_a_throttle_alarm(template: dict[str, Any]) -> None:
    alarmed = set()
    for properties in _alarms(template, "Throttles").values():
        assert properties["Namespace"] == "AWS/Lambda"
        assert properties["Statistic"] == "Sum"
        assert properties["Threshold"] == 1
        _assert_notifies(properties)
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "FunctionName"
        alarmed.add(dimension["Value"]["Ref"])
    assert alarmed == set(_functions(template))


def test_every_work_queue_has_an_age_alarm(template: dict[str, Any]) -> None:
    alarmed = set()
    for properties in _alarms(template, "ApproximateAgeOfOldestMessage").values():
        assert properties["Namespace"] == "AWS/SQS"
        assert properties["Statistic"] == "Maximum"
        assert properties["Threshold"] <= 3600
        _assert_notifies(properties)
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "QueueName"
        alarmed.add(dimension["Value"]["Fn::GetAtt"][0])
    assert alarmed == set(dead_letter_queues(template))  # the work queues


def test_billomat_outage_alarm_fires_after_30_minutes_for_each_queue_worker(
    template: dict[str, Any],
) -> None:
    from autopilot.delayed_retry import OUTAGE_AGE_METRIC, OUTAGE_ALARM_SECONDS

    namespace = template["Globals"]["Function"]["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ]
    services = set()
    for properties in _alarms(template, OUTAGE_AGE_METRIC).values():
        assert properties["Namespace"] == namespace
        assert properties["Statistic"] == "Maximum"
        assert properties["Threshold"] == OUTAGE_ALARM_SECONDS == 1800
        # one breaching datapoint in a window longer than a message's longest delay (15 min)
        assert properties["DatapointsToAlarm"] == 1
        assert properties["Period"] * properties["EvaluationPeriods"] > 900
        _assert_notifies(properties)
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "service"
        services.add(dimension["Value"])
    workers = {
        function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for function in _functions(template).values()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "SQS"
    }
    assert (
        services
        == workers
        == {
            "order_invoice",
            "bank_payment",
            "deal_invoice",
            "article_sync",
            "refund_credit",
        }
    )


def test_scheduler_and_eventbridge_targets_have_an_alarmed_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    dlq = {"Fn::GetAtt": ["ScheduledFailuresQueue", "Arn"]}
    seen = []
    for name, function in _functions(template).items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] in {"ScheduleV2", "EventBridgeRule", "Schedule"}:
                assert event["Properties"]["DeadLetterConfig"] == {"Arn": dlq}, name
                seen.append(event["Type"])
    assert sorted(seen) == ["EventBridgeRule", "ScheduleV2", "ScheduleV2", "ScheduleV2"]

    policy = template["Resources"]["ScheduledFailuresQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "ScheduledFailuresQueue"}]
    grants = {s["Principal"]["Service"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(grants) == {"events.amazonaws.com", "scheduler.amazonaws.com"}
    for statement in grants.values():
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == dlq
        assert statement["Condition"]  # only this account's rules and schedules
    alarmed = [
        p
        for p in _alarms(template, "ApproximateNumberOfMessagesVisible").values()
        if p["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ScheduledFailuresQueue", "QueueName"]}
    ]
    assert len(alarmed) == 1


def test_dashboard_exists_and_names_every_queue(template: dict[str, Any]) -> None:
    (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]  # valid JSON
    assert widgets
    for queue in queue_names(template):  # work queues, DLQs, failed scheduled runs
        assert f"${{{queue}.QueueName}}" in body, queue
    for metric in (
        "orders_invoiced",
        "payments_booked",
        "reminders_sent",
        "review_needed",
        '"4xx"',
        '"5xx"',
        "webhook_unauthorized",
        "billomat_auth_failures",
        "billomat_rate_limited",  # Billomat 429s, counted by every worker and schedule
    ):
        assert metric in body, metric
    for function in _functions(template).values():  # every function that talks to Billomat
        service = function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        if service not in {"webhooks", "admin", "bank_statement_import"}:  # no Billomat calls
            assert f'"billomat_rate_limited", "service", "{service}"' in body, service
    outputs = template["Outputs"]
    assert "${OperationsDashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_operator_outputs_name_the_dead_letter_queues_and_the_table(
    template: dict[str, Any],
) -> None:
    outputs = template["Outputs"]
    named = {
        output["Value"]["Fn::GetAtt"][0]
        for output in outputs.values()
        if isinstance(output["Value"], dict)
        and output["Value"].get("Fn::GetAtt", [None, None])[1] == "QueueName"
    }
    assert named == {dlq for dlq, _ in dead_letter_queues(template).values()} | {
        "ScheduledFailuresQueue"
    }
    assert outputs["WorkflowTableName"]["Value"] == {"Ref": "WorkflowTable"}
    assert "AdminApiUrl" in outputs


def test_every_dead_letter_queue_has_an_alarm(template: dict[str, Any]) -> None:
    alarmed = set()
    for properties in _alarms(template, "ApproximateNumberOfMessagesVisible").values():
        assert properties["Namespace"] == "AWS/SQS"
        assert properties["Threshold"] == 1
        _assert_notifies(properties)
        alarmed.add(properties["Dimensions"][0]["Value"]["Fn::GetAtt"][0])
    dlqs = {dlq for dlq, _ in dead_letter_queues(template).values()}
    assert alarmed == dlqs | {"ScheduledFailuresQueue"}  # schedule failures too


def _metric_filters(template: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in resources_of_type(template, "AWS::Logs::MetricFilter").items()
        if resource["Properties"]["MetricTransformations"][0]["MetricName"] == metric
    }


ROOT = Path(__file__).resolve().parents[2]


def test_a_burst_of_webhook_401s_raises_an_alarm(template: dict[str, Any]) -> None:
    (only,) = _metric_filters(template, "webhook_unauthorized").values()
    assert only["LogGroupName"] == {"Ref": "WebhooksLogGroup"}
    assert '"webhook rejected"' in only["FilterPattern"]
    assert "$.status = 401" in only["FilterPattern"]
    intake = (ROOT / "functions/webhooks/webhooks/app.py").read_text()
    assert '"webhook rejected"' in intake
    assert '"status": rejected.status_code' in intake
    (alarm,) = _alarms(template, "webhook_unauthorized").values()
    assert alarm["Namespace"] == "BillomatAutopilot"
    assert alarm["Statistic"] == "Sum"
    assert alarm["Threshold"] > 1  # a burst, not one stray request
    _assert_notifies(alarm)


def test_a_refused_billomat_key_raises_an_alarm(template: dict[str, Any]) -> None:
    filters = _metric_filters(template, "billomat_auth_failures")
    filtered = {f["LogGroupName"]["Ref"] for f in filters.values()}
    holders = {
        function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for function in _functions(template).values()
        if {"Ref": "BillomatApiSecret"} in list(_walk_refs_nodes(function["Properties"]))
    }
    assert filtered == holders
    for properties in filters.values():
        assert "BillomatAuthError" in properties["FilterPattern"]
        assert "the secret still holds the same key" in properties["FilterPattern"]
    client = (ROOT / "layers/shared/autopilot/billomat/connection.py").read_text()
    assert "the secret still holds the same key" in client  # the text the filter looks for
    (alarm,) = _alarms(template, "billomat_auth_failures").values()
    assert alarm["Namespace"] == "BillomatAutopilot"
    assert alarm["Threshold"] == 1
    _assert_notifies(alarm)


def _walk_refs_nodes(node: Any) -> Iterator[Any]:
    """Every dict and list inside ``node`` (for ``{"Ref": ...}`` membership checks)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_refs_nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_refs_nodes(item)


@pytest.mark.parametrize(
    ("function", "variable", "parameter"),
    [
        ("OrderInvoiceFunction", "INVOICE_TEMPLATE_ID", "InvoiceTemplateId"),
        ("DealInvoiceFunction", "INVOICE_TEMPLATE_ID", "InvoiceTemplateId"),
        ("DealInvoiceFunction", "OFFER_TEMPLATE_ID", "OfferTemplateId"),
    ],
)
def test_document_templates_are_parameters_of_the_functions_that_complete_documents(
    template: dict[str, Any], function: str, variable: str, parameter: str
) -> None:
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert variables[variable] == {"Ref": parameter}
    declared = template["Parameters"][parameter]
    assert declared["Default"] == ""  # empty: the account's default template
    pattern = re.compile(declared["AllowedPattern"])
    assert [bool(pattern.fullmatch(value)) for value in ("", "123456", "12a", "-1")] == [
        True,
        True,
        False,
        False,
    ]


# ------------------------------------------------------------------ SnapStart (README: SnapStart)
# What invokes a function, per resource type: these properties must name the alias when the
# function's snapshots are on (SnapStart applies only to published versions, never $LATEST).
INVOKE_PROPERTIES = {
    "AWS::ApiGatewayV2::Integration": ("IntegrationUri",),
    "AWS::Lambda::Permission": ("FunctionName",),
    "AWS::Lambda::EventSourceMapping": ("FunctionName",),
    "AWS::Lambda::EventInvokeConfig": ("FunctionName",),
    "AWS::Scheduler::Schedule": ("Target",),
    "AWS::Events::Rule": ("Targets",),
    "AWS::S3::Bucket": ("NotificationConfiguration",),
    "AWS::SNS::Subscription": ("Endpoint",),
}


def _snapstart_branch(node: Any, *, on: bool) -> Any:
    """``node`` with every ``Fn::If`` on SnapStartOn replaced by the branch for ``on``."""
    if isinstance(node, dict):
        condition = node.get("Fn::If")
        if isinstance(condition, list) and condition[0] == "SnapStartOn":
            return _snapstart_branch(condition[1] if on else condition[2], on=on)
        return {key: _snapstart_branch(value, on=on) for key, value in node.items()}
    if isinstance(node, list):
        return [_snapstart_branch(item, on=on) for item in node]
    return node


def _snapstart_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: function
        for name, function in _functions(template).items()
        if "SnapStart" in function["Properties"]
    }


def test_snapstart_is_a_parameter_that_is_off_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["Default"] == "off"
    assert parameter["AllowedValues"] == ["off", "on"]
    assert template["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "on"]}
    assert "SnapStart" not in template["Globals"]["Function"]
    functions = _snapstart_functions(template)
    assert set(functions) == {"WebhooksFunction"}  # the intake: Qonto waits 1 s, Shopify 5 s
    for function in functions.values():
        apply_on = function["Properties"]["SnapStart"]["ApplyOn"]
        assert _snapstart_branch(apply_on, on=False) == "None"
        assert _snapstart_branch(apply_on, on=True) == "PublishedVersions"


def test_a_snapstart_function_publishes_a_version_for_each_code_or_layer_change(
    template: dict[str, Any],
) -> None:
    # SAM accepts no Fn::If in AutoPublishAlias, so the alias exists with SnapStart off as well;
    # the functions without SnapStart keep no alias (their triggers invoke $LATEST as before).
    for name, function in _functions(template).items():
        properties = function["Properties"]
        if name in _snapstart_functions(template):
            assert properties["AutoPublishAlias"] == "live"
            assert properties["AutoPublishAliasAllProperties"] is True
            assert "AutoPublishCodeSha256" not in properties  # it would replace the code hash
            for layer in properties.get("Layers", template["Globals"]["Function"]["Layers"]):
                layer_resource = template["Resources"][layer["Ref"]]
                assert layer_resource["Properties"]["PublishLambdaVersion"] is True
        else:
            assert "AutoPublishAlias" not in properties
    assert "AutoPublishAlias" not in template["Globals"]["Function"]


def test_with_snapstart_on_every_trigger_invokes_the_alias(template: dict[str, Any]) -> None:
    """SAM points a function's own Events (SQS, ScheduleV2, EventBridgeRule, Api, ...) and its
    EventInvokeConfig at the alias by itself; the plain resources here must do it themselves."""
    resources = template["Resources"]
    for name in _snapstart_functions(template):
        assert not resources[name]["Properties"].get("Events")  # none SAM would route for us
        invokers = 0
        for resource_name, resource in resources.items():
            for key in INVOKE_PROPERTIES.get(resource["Type"], ()):
                value = resource["Properties"].get(key)
                if name not in set(_walk_refs(_snapstart_branch(value, on=False))):
                    continue
                invokers += 1
                on = _snapstart_branch(value, on=True)
                assert name not in set(_walk_refs(on)), f"{resource_name}.{key} invokes $LATEST"
                assert f"{name}.Alias" in set(_walk_refs(on)), f"{resource_name}.{key}"
        assert invokers >= 2  # the API integration and its invoke permission


def test_admin_may_re_run_exactly_the_scheduled_functions_and_the_statement_import(
    template: dict[str, Any],
) -> None:
    admin = template["Resources"]["AdminFunction"]["Properties"]
    rerunnable = admin["Environment"]["Variables"]["RERUNNABLE_FUNCTIONS"]["Fn::Join"]
    assert rerunnable[0] == ","
    listed = {item["Fn::GetAtt"][0] for item in rerunnable[1]}
    invokable = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in admin["Policies"]
        if isinstance(policy, dict) and "LambdaInvokePolicy" in policy
    }
    expected = {
        "DunningFunction",
        "RecurringFunction",
        "ReportingFunction",
        "BankStatementImportFunction",
    }
    assert listed == invokable == expected
    for name in expected:  # their failures land where the re-run reads them
        on_failure = template["Resources"][name]["Properties"]["EventInvokeConfig"]
        assert on_failure["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["ScheduledFailuresQueue", "Arn"]
        }
