"""Each rehearsal check fails on what it exists to catch: mutated copies of the transformed template, fake built
trees and definitions (and passes on the nearest good case, so a failure is the check's and not the fixture's)."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools import rehearsal

# ------------------------------------------------------------------ resource count


def test_501_resources_fail_and_500_pass(cfn: dict[str, Any]) -> None:
    template = copy.deepcopy(cfn)
    for i in range(rehearsal.CLOUDFORMATION_RESOURCE_LIMIT - len(template["Resources"])):
        template["Resources"][f"Padding{i}"] = {"Type": "AWS::SQS::Queue"}
    assert len(template["Resources"]) == 500
    assert rehearsal.check_resource_count(template) == []
    template["Resources"]["OneTooMany"] = {"Type": "AWS::SQS::Queue"}
    assert rehearsal.check_resource_count(template) == ["501 CloudFormation resources, over the limit of 500 per stack"]


# ------------------------------------------------------------------ handlers


def fake_function(build: Path, name: str, source: str) -> tuple[Path, str]:
    folder = build / name
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(source)
    return folder, "app.lambda_handler"


HANDLER = "\ndef lambda_handler(event, context):\n    return {}\n"


@pytest.fixture
def fake_layer(tmp_path: Path) -> Path:
    layer = tmp_path / "layer" / "python"
    (layer / "fakelayerpkg").mkdir(parents=True)
    (layer / "fakelayerpkg" / "__init__.py").write_text("VALUE = 1\n")
    return layer


def test_a_handler_importing_a_sibling_fails(tmp_path: Path, fake_layer: Path, local_site: Path) -> None:
    build = tmp_path / "build"
    functions = {
        "GetThingFunction": fake_function(build, "GetThingFunction", "import fakelayerpkg, boto3, helper\n" + HANDLER),
        # in the build its sibling sits next door, in Lambda it is another zip
        "ListThingsFunction": fake_function(
            build, "ListThingsFunction", "from GetThingFunction import app\n" + HANDLER
        ),
        "ViaRepoFunction": fake_function(build, "ViaRepoFunction", "from functions.get_project import app\n" + HANDLER),
        # imported after GetThingFunction, whose own helper module it must not find
        "ZHelperFunction": fake_function(build, "ZHelperFunction", "import helper\n" + HANDLER),
    }
    (build / "GetThingFunction" / "helper.py").write_text("HELPING = True\n")
    problems = rehearsal.check_imports(functions, {}, fake_layer, local_site, rehearsal.runtime_provided())
    assert [p.split(":")[0] for p in problems] == ["ListThingsFunction", "ViaRepoFunction", "ZHelperFunction"]
    assert all("ModuleNotFoundError" in p for p in problems)


def test_a_handler_importing_a_dev_dependency_or_missing_its_handler_fails(
    tmp_path: Path, fake_layer: Path, local_site: Path
) -> None:
    build = tmp_path / "build"
    functions = {
        "UsesMotoFunction": fake_function(build, "UsesMotoFunction", "import moto\n" + HANDLER),
        "NoHandlerFunction": fake_function(build, "NoHandlerFunction", "def handler(event, context):\n    pass\n"),
        "EnvFunction": fake_function(build, "EnvFunction", "import os\nTABLE = os.environ['TABLE_NAME']\n" + HANDLER),
    }
    environments = {"EnvFunction": {"TABLE_NAME": "t"}}
    problems = rehearsal.check_imports(functions, environments, fake_layer, local_site, [])
    assert [p.split(":")[0] for p in problems] == ["NoHandlerFunction", "UsesMotoFunction"]


def test_a_missing_handler_file_fails(tmp_path: Path) -> None:
    folder, handler = fake_function(tmp_path, "GoodFunction", HANDLER)
    (tmp_path / "EmptyFunction").mkdir()
    functions = {"GoodFunction": (folder, handler), "EmptyFunction": (tmp_path / "EmptyFunction", "app.lambda_handler")}
    assert rehearsal.check_handler_files(functions) == [
        "EmptyFunction: handler file EmptyFunction/app.py is missing from the build"
    ]


# ------------------------------------------------------------------ the layer


def test_a_layer_over_250_mb_fails() -> None:
    assert rehearsal.check_layer_size(250 * 2**20) == []
    assert rehearsal.check_layer_size(250 * 2**20 + 1) != []


def fake_wheel(site: Path, name: str, version: str, tag: str) -> Path:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    pure = "true" if tag.endswith("-any") else "false"
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: {pure}\nTag: {tag}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/RECORD,,\n")
    return info


def elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 40


def test_an_x86_64_or_other_python_binary_in_the_layer_fails(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    fake_wheel(layer, "good_core", "1.0", "cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64")
    fake_wheel(layer, "pure", "1.0", "py3-none-any")
    (layer / "good_core").mkdir()
    (layer / "good_core" / "_core.cpython-312-aarch64-linux-gnu.so").write_bytes(elf(rehearsal.EM_AARCH64))
    assert rehearsal.check_layer_architecture(layer) == []

    fake_wheel(layer, "intel_core", "1.0", "cp312-cp312-manylinux_2_17_x86_64")
    fake_wheel(layer, "old_core", "1.0", "cp311-cp311-manylinux_2_17_aarch64")
    (layer / "intel_core").mkdir()
    (layer / "intel_core" / "_core.cpython-312-x86_64-linux-gnu.so").write_bytes(elf(62))
    problems = rehearsal.check_layer_architecture(layer)
    assert any("_core.cpython-312-x86_64-linux-gnu.so is not an aarch64" in p for p in problems)
    assert any(p.startswith("intel-core: wheel tag") for p in problems)
    assert any(p.startswith("old-core: wheel tag") for p in problems)


def test_a_layer_off_the_lockfile_fails(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    fake_wheel(layer, "pydantic", "2.14.3", "py3-none-any")
    fake_wheel(layer, "wrapt", "1.0", "py3-none-any")
    expected = {"pydantic": "2.14.3", "wrapt": "2.5.2"}
    assert rehearsal.check_layer_pins(layer, expected, ["boto3"]) == ["wrapt is 1.0 in the layer, 2.5.2 in uv.lock"]
    fake_wheel(layer, "boto3", "1.44.5", "py3-none-any")
    expected["typing-extensions"] = "4.16.0"
    assert rehearsal.check_layer_pins(layer, expected, ["boto3"]) == [
        "typing-extensions==4.16.0 (locked) is missing from the layer",
        "wrapt is 1.0 in the layer, 2.5.2 in uv.lock",
        "boto3==1.44.5 is in the layer but is the runtime's own",
    ]


# ------------------------------------------------------------------ IAM


def function_role(cfn: dict[str, Any]) -> str:
    function = next(iter(rehearsal.resources_of(cfn, "AWS::Lambda::Function").values()))
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


@pytest.fixture
def resourceless(transformed: dict[str, Any]) -> set[str]:
    actions = [
        *rehearsal.all_actions(transformed["template"]),
        "dynamodb:PutItem",
        "s3:GetObject",
        "s3:ListAllMyBuckets",
    ]
    return rehearsal.no_resource_actions(Path(transformed["policies_spec"]), actions)


def with_statement(cfn: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(cfn)
    role = template["Resources"][function_role(template)]["Properties"]
    role.setdefault("Policies", []).append({"PolicyName": "mutant", "PolicyDocument": {"Statement": [statement]}})
    return template


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]},  # a read that can be scoped, too
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
    ],
)
def test_a_role_with_a_star_fails(cfn: dict[str, Any], resourceless: set[str], statement: dict[str, Any]) -> None:
    role = function_role(cfn)
    problems = rehearsal.check_iam(with_statement(cfn, statement), resourceless)
    assert problems and all(p.startswith(f"{role}: ") for p in problems)


def test_a_star_is_accepted_only_for_actions_aws_grants_on_star_alone(
    cfn: dict[str, Any], resourceless: set[str]
) -> None:
    assert "s3:listallmybuckets" in resourceless and "dynamodb:putitem" not in resourceless
    allowed = {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"}
    assert rehearsal.check_iam(with_statement(cfn, allowed), resourceless) == []
    denied = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
    assert rehearsal.check_iam(with_statement(cfn, denied), resourceless) == []


def test_a_full_access_managed_policy_fails(cfn: dict[str, Any], resourceless: set[str]) -> None:
    template = copy.deepcopy(cfn)
    role = function_role(template)
    arns = template["Resources"][role]["Properties"].setdefault("ManagedPolicyArns", [])
    arns.append("arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    assert rehearsal.check_iam(template, resourceless) == [
        f"{role}: managed policy AmazonDynamoDBFullAccess grants a whole service"
    ]


# ------------------------------------------------------------------ the state machine


@pytest.fixture
def asl_schema(transformed: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(transformed["asl_schema"]).read_text())


def definition(**task: Any) -> str:
    first = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Done"}
    first["Parameters"] = {"FunctionName": "${FnArn}"}
    first.update(task)
    return json.dumps({"StartAt": "First", "States": {"First": first, "Done": {"Type": "Succeed"}}})


def test_a_good_definition_passes(asl_schema: dict[str, Any]) -> None:
    subs = {"FnArn": {"Fn::GetAtt": ["PrepareRunFunction", "Arn"]}}
    parsed, problems = rehearsal.substitute_definition(definition(), subs)
    assert problems == [] and rehearsal.check_state_machine(parsed, asl_schema) == []
    assert parsed["States"]["First"]["Parameters"]["FunctionName"].endswith(":function:PrepareRunFunction")


def test_a_bad_definition_fails(asl_schema: dict[str, Any]) -> None:
    subs = {"FnArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    _, problems = rehearsal.substitute_definition(definition(), {})
    assert problems == ["${FnArn} in the definition has no DefinitionSubstitutions entry"]
    _, problems = rehearsal.substitute_definition(definition(), {**subs, "Unused": "x"})
    assert problems == ["DefinitionSubstitutions Unused is not used by the definition"]
    parsed, _ = rehearsal.substitute_definition(definition(Next="Nowhere"), subs)
    assert rehearsal.check_state_machine(parsed, asl_schema) == [
        "First: transition to 'Nowhere', not a state of its scope"
    ]
    parsed, _ = rehearsal.substitute_definition(definition(Type="Taks"), subs)
    assert rehearsal.check_state_machine(parsed, asl_schema) != []
    parsed, _ = rehearsal.substitute_definition(definition(TimeoutSeconds="ten"), subs)
    assert rehearsal.check_state_machine(parsed, asl_schema) != []


def test_a_role_naming_a_resource_its_function_does_not_use_fails(cfn: dict[str, Any]) -> None:
    template = copy.deepcopy(cfn)
    functions = rehearsal.resources_of(template, "AWS::Lambda::Function")
    queue = next(iter(rehearsal.resources_of(template, "AWS::SQS::Queue")))
    reader = next(n for n, f in functions.items() if f["Properties"]["Role"]["Fn::GetAtt"][0] == "ApiReadRole")
    role = template["Resources"]["ApiReadRole"]["Properties"]
    statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": [queue, "Arn"]}}
    role["Policies"].append({"PolicyName": "mutant", "PolicyDocument": {"Statement": [statement]}})
    problems = rehearsal.check_role_scope(template)
    assert f"{reader}: its role ApiReadRole grants access to {queue}, which {reader} does not use" in problems

    # the same grant is fine for a function that names the queue in its environment ...
    template = copy.deepcopy(cfn)
    template["Resources"]["SoleRole"] = {"Type": "AWS::IAM::Role", "Properties": {"Policies": role["Policies"][-1:]}}
    functions = rehearsal.resources_of(template, "AWS::Lambda::Function")
    fn = functions[reader]["Properties"]
    fn["Role"] = {"Fn::GetAtt": ["SoleRole", "Arn"]}
    fn["Environment"]["Variables"]["QUEUE_URL"] = {"Ref": queue}
    assert rehearsal.check_role_scope(template) == []
    # ... and through a Fn::Sub, but not once the function stops naming it
    fn["Environment"]["Variables"]["QUEUE_URL"] = {"Fn::Sub": "${" + queue + ".QueueName}"}
    assert rehearsal.check_role_scope(template) == []
    del fn["Environment"]["Variables"]["QUEUE_URL"]
    assert rehearsal.check_role_scope(template) != []
