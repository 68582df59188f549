"""The deploy rehearsal (issue 11): what `sam deploy` would get, checked offline from `make build`'s output.

Every check is a function of plain data (the transformed template, a built tree, a definition) that returns the
list of what is wrong, so tests can feed it a mutated copy and see it fail. `tests/deploy/` runs them on the real
artifacts: `.aws-sam/build` (from `make build`) and the SAM transform of its template (tools/sam_transform.py,
run by the SAM CLI's own interpreter in `.sam-venv`). Nothing here is shipped or imported by the layer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build"
SAM_PYTHON = ROOT / ".sam-venv" / "bin" / "python"
LAYER_MAKEFILE = ROOT / "layers" / "evalgate" / "Makefile"

CLOUDFORMATION_RESOURCE_LIMIT = 500  # resources per stack
LAYER_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + all its layers, unzipped
EM_AARCH64 = 183  # ELF e_machine of arm64
# environment markers of the Lambda runtime (python3.12 on arm64 Amazon Linux 2023), for the locked requirements
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "aarch64",
}
# managed policies that grant a whole service or everything
BROAD_MANAGED_POLICY = re.compile(r"(FullAccess|AdministratorAccess|PowerUserAccess)$")


class RehearsalError(RuntimeError):
    """The rehearsal cannot run (artifacts missing, the transform failed)."""


# ------------------------------------------------------------------ inputs


def transform(built_template: Path = BUILD_DIR / "template.yaml") -> dict[str, Any]:
    """The SAM transform of the built template: {"template", "code", "policies_spec", "asl_schema"}."""
    if not built_template.is_file():
        raise RehearsalError(f"{built_template} is missing: run `make build` first")
    if not SAM_PYTHON.is_file():
        raise RehearsalError(f"{SAM_PYTHON} is missing: run `make validate` (it builds .sam-venv)")
    proc = subprocess.run(
        [str(SAM_PYTHON), str(ROOT / "tools" / "sam_transform.py"), str(built_template)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    if proc.returncode != 0:
        raise RehearsalError(f"the SAM transform failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def runtime_provided() -> list[str]:
    """The distributions the layer leaves to the Lambda runtime (RUNTIME_PROVIDED of the layer's Makefile)."""
    match = re.search(r"^RUNTIME_PROVIDED := (.+)$", LAYER_MAKEFILE.read_text(), re.MULTILINE)
    if not match:
        raise RehearsalError(f"no RUNTIME_PROVIDED in {LAYER_MAKEFILE}")
    return match.group(1).split()


def locked_layer_pins(uv: Path = ROOT / ".tools" / "bin" / "uv") -> dict[str, str]:
    """What the layer must hold: the lockfile's runtime dependencies minus the runtime's own, name -> version."""
    args = [str(uv), "export", "--quiet", "--frozen", "--no-default-groups", "--no-emit-project", "--no-hashes"]
    args += [part for name in runtime_provided() for part in ("--no-emit-package", name)]
    out = subprocess.run([*args, "--format", "requirements.txt"], cwd=ROOT, capture_output=True, text=True, check=True)
    from packaging.requirements import Requirement

    pins = {}
    for line in out.stdout.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line.strip())
        if requirement.marker is None or requirement.marker.evaluate(LAMBDA_MARKERS):
            (spec,) = requirement.specifier
            pins[canonical(requirement.name)] = spec.version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resources_of(cfn: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in cfn.get("Resources", {}).items() if res.get("Type") == kind}


# ------------------------------------------------------------------ resource count


def check_resource_count(cfn: Mapping[str, Any], limit: int = CLOUDFORMATION_RESOURCE_LIMIT) -> list[str]:
    count = len(cfn.get("Resources", {}))
    return [f"{count} CloudFormation resources, over the limit of {limit} per stack"] if count > limit else []


# ------------------------------------------------------------------ functions' code


def function_code(
    cfn: Mapping[str, Any], code: Mapping[str, str], base: Path = BUILD_DIR
) -> dict[str, tuple[Path, str]]:
    """Each function of the transformed template -> (its built code folder, its handler)."""
    out = {}
    for name, res in resources_of(cfn, "AWS::Lambda::Function").items():
        out[name] = (base / code[name], res["Properties"]["Handler"])
    return out


def check_handler_files(functions: Mapping[str, tuple[Path, str]]) -> list[str]:
    problems = []
    for name, (folder, handler) in sorted(functions.items()):
        module, _, attr = handler.rpartition(".")
        path = folder / (module.replace(".", "/") + ".py")
        if not module or not attr:
            problems.append(f"{name}: handler {handler!r} is not <module>.<function>")
        elif not path.is_file():
            problems.append(f"{name}: handler file {path.relative_to(folder.parent)} is missing from the build")
    return problems


def wheel_is_pure(dist_info: Path) -> bool:
    wheel = (dist_info / "WHEEL").read_text() if (dist_info / "WHEEL").is_file() else ""
    return "Root-Is-Purelib: true" in wheel


def dist_infos(site: Path) -> dict[str, Path]:
    """name -> its .dist-info folder in a site-packages-like folder."""
    out = {}
    for info in site.glob("*.dist-info"):
        name, _, _version = info.name[: -len(".dist-info")].partition("-")
        out[canonical(name)] = info
    return out


def dist_version(info: Path) -> str:
    return info.name[: -len(".dist-info")].partition("-")[2]


def dist_top_levels(info: Path) -> set[str]:
    """The top-level names a distribution installs (from its RECORD), its .dist-info included."""
    names = set()
    for line in (info / "RECORD").read_text().splitlines():
        first = line.split(",")[0].split("/")[0]
        if first and not first.startswith(".."):
            names.add(first)
    return names


def assemble_runtime_path(layer_python: Path, local_site: Path, provided: Iterable[str], into: Path) -> list[str]:
    """Build in `into` (symlinks) what a function sees at /opt/python plus the runtime's boto3, on this machine.

    The layer's pure-Python packages are linked from the build itself; a binary one (built for aarch64 cp312,
    not loadable here) is replaced by the local interpreter's build of the same version, and a version mismatch
    is a problem. The runtime's own packages (boto3 & co., left out of the layer) come from the local venv.
    Returns the problems.
    """
    problems = []
    local = dist_infos(local_site)
    layer = dist_infos(layer_python)
    taken: set[str] = set()
    for name, info in sorted(layer.items()):
        if wheel_is_pure(info):
            continue
        twin = local.get(name)
        if twin is None or dist_version(twin) != dist_version(info):
            found = dist_version(twin) if twin else "nothing"
            problems.append(f"binary {name} {dist_version(info)} in the layer, {found} in the local venv")
            continue
        for top in dist_top_levels(twin):
            if (local_site / top).exists():
                (into / top).symlink_to(local_site / top)
                taken.add(top)
        taken |= dist_top_levels(info)
    for entry in layer_python.iterdir():
        if entry.name not in taken and entry.name != "__pycache__":
            (into / entry.name).symlink_to(entry)
            taken.add(entry.name)
    for name in provided:
        runtime_info = local.get(canonical(name))
        if runtime_info is None:
            problems.append(f"{name} (the runtime's) is not in the local venv")
            continue
        for top in dist_top_levels(runtime_info):
            if top not in taken and (local_site / top).exists():
                (into / top).symlink_to(local_site / top)
                taken.add(top)
    return problems


IMPORT_PROBE = r"""
import importlib, json, os, sys
runtime_path, jobs = sys.argv[1], json.loads(sys.stdin.read())
base_env = dict(os.environ)
sys.path[:] = [p for p in sys.path if p and 'site-packages' not in p] + [runtime_path]
results = {}
for name, folder, handler, env in jobs:
    os.environ.clear(); os.environ.update(base_env); os.environ.update(env)
    settings = sys.modules.get('evalgate.settings')  # parsed once per execution environment: parse it again
    for attr in dir(settings) if settings else []:
        getattr(getattr(settings, attr), 'cache_clear', lambda: None)()
    sys.path.insert(0, folder)
    module, _, attr = handler.rpartition('.')
    try:
        loaded = importlib.import_module(module)
        if not callable(getattr(loaded, attr, None)):
            raise AttributeError(f'{module} has no callable {attr}')
        results[name] = None
    except BaseException as exc:
        results[name] = f'{type(exc).__name__}: {exc}'
    finally:  # nothing of this function's folder stays for the next one to find
        sys.path.remove(folder)
        sys.modules.pop(module, None)
        inside = [m for m, v in sys.modules.items() if (getattr(v, '__file__', None) or '').startswith(folder + os.sep)]
        for mod in inside:
            del sys.modules[mod]
print(json.dumps(results))
"""


def check_imports(
    functions: Mapping[str, tuple[Path, str]],
    environments: Mapping[str, Mapping[str, str]],
    layer_python: Path,
    local_site: Path,
    provided: Iterable[str],
    python: str = sys.executable,
) -> list[str]:
    """Import every handler with only its own folder, the layer and the runtime on the path (no site-packages)."""
    with tempfile.TemporaryDirectory(prefix="evalgate-runtime-") as tmp:
        problems = assemble_runtime_path(layer_python, local_site, provided, Path(tmp))
        jobs = [
            [name, str(folder), handler, dict(environments.get(name, {}))]
            for name, (folder, handler) in sorted(functions.items())
        ]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
        }
        proc = subprocess.run(
            [python, "-I", "-S", "-B", "-c", IMPORT_PROBE, tmp],
            input=json.dumps(jobs),
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if proc.returncode != 0:
            return [*problems, f"the import probe failed: {proc.stderr[-2000:]}"]
        results = json.loads(proc.stdout.strip().splitlines()[-1])
    return problems + [f"{name}: {error}" for name, error in sorted(results.items()) if error]


ACCOUNT, REGION = "123456789012", "us-east-1"
# what Ref gives for a resource type (Fn::GetAtt X.Arn: the ARN), shaped as AWS would give it
REF_SHAPES = {
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::Lambda::Function": "{name}",
}
ARN_SHAPES = {
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
}


def placeholder_value(value: Any, cfn: Mapping[str, Any]) -> str:
    """A deployed value for an environment variable: a parameter's default, or a resource's Ref or Arn."""
    if isinstance(value, str | int | float):
        return str(value)
    parameters, resources = cfn.get("Parameters", {}), cfn.get("Resources", {})
    ref = value.get("Ref") if isinstance(value, dict) else None
    if isinstance(ref, str) and ref in parameters:
        return str(parameters[ref].get("Default", ""))
    getatt = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    name = ref if isinstance(ref, str) else (getatt[0] if isinstance(getatt, list) else "")
    kind = (resources.get(name) or {}).get("Type", "")
    shape = (
        REF_SHAPES.get(kind, "{name}") if ref else ARN_SHAPES.get(kind, "arn:aws:rehearsal:{region}:{account}:{name}")
    )
    return shape.format(region=REGION, account=ACCOUNT, name=f"evalgate-{name.lower()}")


def placeholder_environment(props: Mapping[str, Any], cfn: Mapping[str, Any]) -> dict[str, str]:
    """A function's environment as deployed with the parameters' defaults and resource values shaped as AWS's."""
    variables = (props.get("Environment") or {}).get("Variables") or {}
    return {key: placeholder_value(value, cfn) for key, value in variables.items()}


# ------------------------------------------------------------------ the layer


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def check_layer_size(size: int, limit: int = LAYER_UNZIPPED_LIMIT) -> list[str]:
    return (
        [f"the layer is {size / 2**20:.1f} MB unzipped, over Lambda's {limit / 2**20:.0f} MB"] if size > limit else []
    )


def elf_machine(path: Path) -> int | None:
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def check_layer_architecture(layer_python: Path, python_tag: str = "cp312") -> list[str]:
    """Every shared object is aarch64 ELF; every wheel is pure or tagged for the runtime's CPython on aarch64."""
    problems = []
    for so in sorted(layer_python.rglob("*.so")):
        if elf_machine(so) != EM_AARCH64:
            problems.append(f"{so.relative_to(layer_python)} is not an aarch64 ELF object")
        elif "x86_64" in so.name or ("cpython-" in so.name and f"cpython-{python_tag[2:]}" not in so.name):
            problems.append(f"{so.relative_to(layer_python)} is built for another interpreter")
    for name, info in sorted(dist_infos(layer_python).items()):
        tags = re.findall(r"^Tag: (.+)$", (info / "WHEEL").read_text(), re.MULTILINE)
        for tag in tags:
            py, abi, platform = tag.split("-")
            if platform == "any":
                continue
            if "aarch64" not in platform or not (py == python_tag or abi == "abi3"):
                problems.append(f"{name}: wheel tag {tag} is not for {python_tag} on aarch64")
    return problems


def check_layer_pins(layer_python: Path, expected: Mapping[str, str], provided: Iterable[str]) -> list[str]:
    """The layer holds exactly the lockfile's pins: nothing missing, nothing else, no version off, no boto3."""
    problems = []
    found = {name: dist_version(info) for name, info in dist_infos(layer_python).items()}
    for name, version in sorted(expected.items()):
        if name not in found:
            problems.append(f"{name}=={version} (locked) is missing from the layer")
        elif found[name] != version:
            problems.append(f"{name} is {found[name]} in the layer, {version} in uv.lock")
    for name in sorted(set(found) - set(expected)):
        kind = "the runtime's own" if name in {canonical(p) for p in provided} else "not in the lockfile's closure"
        problems.append(f"{name}=={found[name]} is in the layer but is {kind}")
    return problems


# ------------------------------------------------------------------ IAM


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def no_resource_actions(policies_spec: Path, actions: Iterable[str]) -> set[str]:
    """Of `actions`, those AWS grants only on "*" (no resource types in the service authorization data)."""
    spec = json.loads(Path(policies_spec).read_text())
    out = set()
    for action in actions:
        service, _, verb = action.lower().partition(":")
        entry = (spec.get(service) or {}).get("Actions", {}).get(verb)
        if entry is not None and not entry.get("Resources"):
            out.add(action.lower())
    return out


def role_statements(cfn: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in resources_of(cfn, "AWS::IAM::Role").items():
        for policy in role.get("Properties", {}).get("Policies") or []:
            for statement in as_list((policy.get("PolicyDocument") or {}).get("Statement") or []):
                yield name, statement


def all_actions(cfn: Mapping[str, Any]) -> set[str]:
    return {a for _, s in role_statements(cfn) for a in as_list(s.get("Action") or []) if isinstance(a, str)}


def check_iam(cfn: Mapping[str, Any], resourceless: set[str]) -> list[str]:
    """Least privilege of every role in the transformed template (the functions', SAM's generated ones).

    No managed policy named *FullAccess (or Administrator/PowerUser); no wildcard action; no Allow on the
    resource "*" unless the action has no resource-level permissions at all (`resourceless`, from AWS's service
    authorization data): an action that can be scoped must be, whether it reads or writes.
    """
    problems = []
    for name, role in sorted(resources_of(cfn, "AWS::IAM::Role").items()):
        for arn in role.get("Properties", {}).get("ManagedPolicyArns") or []:
            if isinstance(arn, str) and BROAD_MANAGED_POLICY.search(arn):
                problems.append(f"{name}: managed policy {arn.rsplit('/', 1)[-1]} grants a whole service")
    for name, statement in role_statements(cfn):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{name}: an Allow with NotAction/NotResource")
        actions = [a for a in as_list(statement.get("Action") or []) if isinstance(a, str)]
        for action in actions:
            if "*" in action:
                problems.append(f"{name}: wildcard action {action}")
        if "*" in as_list(statement.get("Resource")):
            for action in actions:
                if "*" not in action and action.lower() not in resourceless:
                    problems.append(f'{name}: {action} on resource "*" (it can be scoped to the resources used)')
    return sorted(set(problems))


def references(value: Any, names: Mapping[str, Any]) -> set[str]:
    """The logical ids of `names` that a template fragment refers to (Ref, Fn::GetAtt, ${X} or ${X.Attr} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item, names)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (item[0], item[1]) if isinstance(item, list) else (item, {})
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z0-9_.]+)\}", text)} - set(variables)
                found |= references(variables, names)
            else:
                found |= references(item, names)
    return found & set(names)


def check_role_scope(cfn: Mapping[str, Any]) -> list[str]:
    """Each function's role names only the template resources that function uses.

    What a function uses: what its own properties refer to (its environment, with the Globals merged in by the
    transform) and what its event source mappings read (a queue). What its role grants: the resources its
    policies refer to. A role shared by functions must suit each of them.
    """
    resources = cfn.get("Resources", {})
    uses: dict[str, set[str]] = {}
    for name, fn in resources_of(cfn, "AWS::Lambda::Function").items():
        props = {k: v for k, v in fn.get("Properties", {}).items() if k not in ("Role", "Layers")}
        uses[name] = references(props, resources) | {name}
    for mapping in resources_of(cfn, "AWS::Lambda::EventSourceMapping").values():
        props = mapping.get("Properties", {})
        for fn_name in references(props.get("FunctionName"), resources) & set(uses):
            uses[fn_name] |= references(props.get("EventSourceArn"), resources)
    problems = []
    for name, fn in sorted(resources_of(cfn, "AWS::Lambda::Function").items()):
        role_ref = fn.get("Properties", {}).get("Role")
        roles = references(role_ref, resources)
        role = roles.pop() if len(roles) == 1 else ""
        if not role or resources[role].get("Type") != "AWS::IAM::Role":
            problems.append(f"{name}: its role is not a role of the template")
            continue
        granted = references(resources[role].get("Properties", {}).get("Policies"), resources)
        for extra in sorted(granted - uses[name]):
            problems.append(f"{name}: its role {role} grants access to {extra}, which {name} does not use")
    return problems


# ------------------------------------------------------------------ the state machine


def substitute_definition(definition_text: str, substitutions: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """The definition after DefinitionSubstitutions (intrinsics become ARN-shaped placeholders), and problems."""
    problems = []
    values = {}
    for key, value in substitutions.items():
        if isinstance(value, str):
            values[key] = value
        elif "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"][0]
            values[key] = f"arn:aws:lambda:us-east-1:123456789012:function:{target}"
        else:
            values[key] = f"rehearsal-{key}"
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition_text))
    for key in sorted(used - set(values)):
        problems.append(f"${{{key}}} in the definition has no DefinitionSubstitutions entry")
    for key in sorted(set(values) - used):
        problems.append(f"DefinitionSubstitutions {key} is not used by the definition")
    text = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: values.get(m.group(1), m.group(0)), definition_text)
    return json.loads(text), problems


def check_state_machine(definition: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The ASL schema (cfn-lint's), plus what a schema cannot say: every transition names a state of its scope."""
    import jsonschema

    # siblings of "$ref" count (cfn-lint reads the schema this way); Draft 7 would ignore them
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(definition)
    ]

    def scope_check(scope: Mapping[str, Any], where: str) -> None:
        states = scope.get("States") or {}
        if scope.get("StartAt") not in states:
            problems.append(f"{where or '<root>'}: StartAt {scope.get('StartAt')!r} is not a state")
        for name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices") or []]
            targets += [c.get("Next") for c in state.get("Catch") or []]
            for target in targets:
                if target is not None and target not in states:
                    problems.append(f"{where}{name}: transition to {target!r}, not a state of its scope")
            for sub in [state.get("ItemProcessor") or state.get("Iterator"), *(state.get("Branches") or [])]:
                if sub:
                    scope_check(sub, f"{where}{name}/")

    scope_check(definition, "")
    return problems
