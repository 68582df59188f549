"""The deploy rehearsal on the real artifacts: `make build`'s output and the transform of its template."""

import json
import tomllib
from pathlib import Path
from typing import Any

from tools import rehearsal


def test_resource_count_is_under_the_stack_limit(cfn: dict[str, Any], figures: dict[str, str]) -> None:
    count = len(cfn["Resources"])
    figures["CloudFormation resources"] = f"{count} of {rehearsal.CLOUDFORMATION_RESOURCE_LIMIT}"
    assert rehearsal.check_resource_count(cfn) == []


def test_every_handler_file_is_in_its_built_code(transformed: dict[str, Any]) -> None:
    functions = rehearsal.function_code(transformed["template"], transformed["code"])
    assert functions, "the transformed template has no function"
    assert rehearsal.check_handler_files(functions) == []


def test_every_handler_imports_with_only_the_layer_and_the_runtime(
    transformed: dict[str, Any], layer_python: Path, local_site: Path, figures: dict[str, str]
) -> None:
    cfn = transformed["template"]
    functions = rehearsal.function_code(cfn, transformed["code"])
    environments = {
        name: rehearsal.placeholder_environment(res["Properties"], cfn)
        for name, res in rehearsal.resources_of(cfn, "AWS::Lambda::Function").items()
    }
    problems = rehearsal.check_imports(functions, environments, layer_python, local_site, rehearsal.runtime_provided())
    failed = {problem.split(":")[0] for problem in problems}
    figures["handlers imported"] = f"{len(functions) - len(failed & set(functions))} of {len(functions)}"
    assert problems == []


def test_the_layer_fits_lambdas_unzipped_limit(layer_python: Path, figures: dict[str, str]) -> None:
    size = rehearsal.tree_size(layer_python.parent)
    figures["layer unzipped"] = f"{size / 2**20:.1f} MB of {rehearsal.LAYER_UNZIPPED_LIMIT / 2**20:.0f} MB"
    assert rehearsal.check_layer_size(size) == []


def test_the_layer_is_built_for_python312_on_arm64(layer_python: Path) -> None:
    assert list(layer_python.rglob("*.so")), "a layer with pydantic-core has a binary extension"
    assert rehearsal.check_layer_architecture(layer_python) == []


def test_the_layer_holds_exactly_the_lockfile_pins(layer_python: Path) -> None:
    expected = rehearsal.locked_layer_pins()
    assert "pydantic" in expected and "boto3" not in expected
    assert rehearsal.check_layer_pins(layer_python, expected, rehearsal.runtime_provided()) == []


def test_every_role_is_least_privilege(transformed: dict[str, Any]) -> None:
    cfn = transformed["template"]
    resourceless = rehearsal.no_resource_actions(Path(transformed["policies_spec"]), rehearsal.all_actions(cfn))
    assert rehearsal.check_iam(cfn, resourceless) == []


def test_the_state_machine_definition_validates(transformed: dict[str, Any]) -> None:
    cfn = transformed["template"]
    schema = json.loads(Path(transformed["asl_schema"]).read_text())
    machines = rehearsal.resources_of(cfn, "AWS::StepFunctions::StateMachine")
    assert machines
    for name, machine in machines.items():
        path = (rehearsal.BUILD_DIR / transformed["code"][name]).resolve()
        substitutions = machine["Properties"].get("DefinitionSubstitutions") or {}
        definition, problems = rehearsal.substitute_definition(path.read_text(), substitutions)
        assert problems + rehearsal.check_state_machine(definition, schema) == [], name


def test_the_layer_requirements_mirror_pyproject() -> None:
    project = tomllib.loads((rehearsal.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (rehearsal.ROOT / "layers" / "evalgate" / "requirements.txt").read_text().splitlines()
    assert sorted(line for line in lines if line and not line.startswith("#")) == sorted(project)


def test_each_function_role_names_only_what_the_function_uses(cfn: dict[str, Any]) -> None:
    assert rehearsal.check_role_scope(cfn) == []
