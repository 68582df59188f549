"""Create the template's stateful resources on the moto server and record their names for intrinsics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local import cfn
from local.model import App


def _physical(names: cfn.Names, logical_id: str, *, lower: bool = False, max_len: int = 80) -> str:
    name = f"{names.stack}-{logical_id}"
    return (name.lower() if lower else name)[:max_len]


def declare_names(app: App, names: cfn.Names) -> None:
    """Fill Ref/GetAtt values for every resource the runtime emulates (before anything is created)."""
    arn = f"arn:aws:{{}}:{names.region}:{names.account}:{{}}"
    for param, spec in (app.doc.get("Parameters") or {}).items():
        names.parameters.setdefault(param, spec.get("Default"))
    for logical_id, res in app.doc["Resources"].items():
        kind = res.get("Type")
        props = res.get("Properties") or {}
        if kind == "AWS::DynamoDB::Table":
            name = props.get("TableName") or _physical(names, logical_id)
            names.refs[logical_id] = name
            names.attrs[(logical_id, "Arn")] = arn.format("dynamodb", f"table/{name}")
        elif kind == "AWS::S3::Bucket":
            name = props.get("BucketName") or _physical(names, logical_id, lower=True, max_len=63)
            names.refs[logical_id] = name
            names.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        elif kind == "AWS::SQS::Queue":
            name = props.get("QueueName") or _physical(names, logical_id)
            if props.get("FifoQueue") and not name.endswith(".fifo"):
                name += ".fifo"
            url = f"http://sqs.{names.region}.localhost/{names.account}/{name}"  # replaced after creation
            names.refs[logical_id] = url
            names.attrs[(logical_id, "QueueName")] = name
            names.attrs[(logical_id, "QueueUrl")] = url
            names.attrs[(logical_id, "Arn")] = arn.format("sqs", name)
        elif kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            name = cfn.resolve(props.get("Name") or props.get("StateMachineName"), names) or _physical(
                names, logical_id
            )
            sm_arn = arn.format("states", f"stateMachine:{name}")
            names.refs[logical_id] = sm_arn
            names.attrs[(logical_id, "Arn")] = sm_arn
            names.attrs[(logical_id, "Name")] = name
        elif kind == "AWS::Serverless::Function":
            name = props.get("FunctionName") or _physical(names, logical_id, max_len=64)
            names.refs[logical_id] = name
            names.attrs[(logical_id, "Arn")] = arn.format("lambda", f"function:{name}")
        elif kind == "AWS::SNS::Topic":
            name = props.get("TopicName") or _physical(names, logical_id)
            topic_arn = arn.format("sns", name)
            names.refs[logical_id] = topic_arn
            names.attrs[(logical_id, "TopicName")] = name
        elif kind == "AWS::IAM::Role":
            names.refs[logical_id] = _physical(names, logical_id, max_len=64)
            names.attrs[(logical_id, "Arn")] = f"arn:aws:iam::{names.account}:role/{names.refs[logical_id]}"
        elif kind == "AWS::Serverless::LayerVersion":
            names.refs[logical_id] = arn.format("lambda", f"layer:{logical_id}:1")
        elif kind == "AWS::Serverless::HttpApi":
            names.refs[logical_id] = "local"
        elif kind == "AWS::Logs::LogGroup":
            names.refs[logical_id] = props.get("LogGroupName") or f"/aws/lambda/{_physical(names, logical_id)}"
        elif kind == "AWS::Scheduler::ScheduleGroup":
            names.refs[logical_id] = props.get("Name") or _physical(names, logical_id)
            names.attrs[(logical_id, "Arn")] = arn.format("scheduler", f"schedule-group/{names.refs[logical_id]}")


def create(app: App, names: cfn.Names, clients: Any) -> None:
    """Create tables, buckets, queues (DLQs first), topics and state machines on the moto server."""
    resources = app.doc["Resources"]
    for logical_id, res in resources.items():
        if res.get("Type") == "AWS::DynamoDB::Table":
            _create_table(clients("dynamodb"), names.refs[logical_id], res.get("Properties") or {})
        elif res.get("Type") == "AWS::S3::Bucket":
            _create_bucket(clients("s3"), names.refs[logical_id], res.get("Properties") or {})
        elif res.get("Type") == "AWS::SNS::Topic":
            clients("sns").create_topic(Name=names.attrs[(logical_id, "TopicName")])
    queues = {k: v for k, v in resources.items() if v.get("Type") == "AWS::SQS::Queue"}
    # dead-letter queues first: a source queue's redrive policy names its DLQ's ARN
    ordered = sorted(queues, key=lambda k: "RedrivePolicy" in (queues[k].get("Properties") or {}))
    for logical_id in ordered:
        _create_queue(clients("sqs"), logical_id, queues[logical_id].get("Properties") or {}, names)
    for logical_id, res in resources.items():
        if res.get("Type") in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            _create_state_machine(clients("stepfunctions"), logical_id, res, names, app)


def _create_table(ddb: Any, name: str, props: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    gsis = props.get("GlobalSecondaryIndexes")
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    ddb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )


def _create_bucket(s3: Any, name: str, props: dict[str, Any]) -> None:
    s3.create_bucket(Bucket=name)
    cors = props.get("CorsConfiguration")
    if cors:
        rename = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}
        rules = [{rename.get(k, k): v for k, v in rule.items()} for rule in cors["CorsRules"]]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})


def _create_queue(sqs: Any, logical_id: str, props: dict[str, Any], names: cfn.Names) -> None:
    attributes: dict[str, str] = {}
    simple = {
        "VisibilityTimeout": "VisibilityTimeout",
        "MessageRetentionPeriod": "MessageRetentionPeriod",
        "DelaySeconds": "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "MaximumMessageSize": "MaximumMessageSize",
        "FifoQueue": "FifoQueue",
        "ContentBasedDeduplication": "ContentBasedDeduplication",
    }
    for prop, attr in simple.items():
        if prop in props:
            value = cfn.resolve(props[prop], names)
            attributes[attr] = str(value).lower() if isinstance(value, bool) else str(value)
    if "RedrivePolicy" in props:
        policy = cfn.resolve(props["RedrivePolicy"], names)
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": int(policy["maxReceiveCount"])}
        )
    name = names.attrs[(logical_id, "QueueName")]
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    names.refs[logical_id] = url
    names.attrs[(logical_id, "QueueUrl")] = url


def _create_state_machine(sfn: Any, logical_id: str, res: dict[str, Any], names: cfn.Names, app: App) -> None:
    props = res.get("Properties") or {}
    if "DefinitionUri" in props:
        definition_text = (app.root / props["DefinitionUri"]).read_text(encoding="utf-8")
        definition = json.loads(definition_text)
    elif "Definition" in props:
        definition = props["Definition"]
    else:
        definition = json.loads(props["DefinitionString"])
    substitutions = {k: cfn.resolve(v, names) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
    text = json.dumps(cfn.resolve(definition, names))
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(value))
    # moto's ASL parser knows only STANDARD child executions for a Distributed Map; locally the children
    # run as STANDARD (same semantics for our idempotent tasks), while AWS gets EXPRESS from the template.
    text = text.replace('"ExecutionType": "EXPRESS"', '"ExecutionType": "STANDARD"')
    kind = props.get("Type", "STANDARD")
    sfn.create_state_machine(
        name=names.attrs[(logical_id, "Name")],
        definition=text,
        roleArn=f"arn:aws:iam::{names.account}:role/{names.stack}-statemachine",
        type=kind,
    )


def function_environment(app: App, names: cfn.Names, logical_id: str) -> dict[str, str]:
    fn = app.functions[logical_id]
    env = {}
    for key, value in fn.environment.items():
        resolved = cfn.resolve(value, names)
        env[key] = json.dumps(resolved) if isinstance(resolved, dict | list) else str(resolved)
    return env


def layer_dirs(app: App, logical_id: str) -> list[Path]:
    """Local source folders of the function's layers (ContentUri of each referenced layer)."""
    dirs = []
    for layer in app.functions[logical_id].layers:
        if isinstance(layer, dict) and "Ref" in layer:
            res = app.doc["Resources"].get(layer["Ref"]) or {}
            uri = (res.get("Properties") or {}).get("ContentUri")
            if isinstance(uri, str):
                dirs.append((app.root / uri).resolve())
    return dirs
