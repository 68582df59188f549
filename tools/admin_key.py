"""The first admin key of a deployed stack (every route needs a key, and only an admin key creates projects).

`make admin-key ENV=dev` runs `python -m tools.admin_key --config-env dev`: it reads the stack name from
samconfig.toml, the table from the stack's outputs (AWS credentials of your shell, as `sam deploy` uses), and
writes a root project with its admin key straight into the table, the way `make run` seeds the local one. The
secret is printed once, here, and stored only as its hash. Each run makes another root project.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def stack_name(config_env: str, samconfig: Path = ROOT / "samconfig.toml") -> str:
    config = tomllib.loads(samconfig.read_text())
    env = config.get(config_env) or {}
    for section in ("deploy", "global"):
        name = (env.get(section) or {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    raise SystemExit(f"no stack_name for config env {config_env!r} in {samconfig}")


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def create_admin_key(table_name: str, dynamodb: Any, project_name: str) -> tuple[str, str]:
    """A root project with an admin key in the deployed table: (project id, the key's secret)."""
    from evalgate.services.projects import create_project
    from evalgate.store.projects import ProjectStore
    from evalgate.store.table import Table

    project, _key, secret = create_project(
        None, project_name, "created by make admin-key", store=ProjectStore(Table(table_name, dynamodb))
    )
    return project.id, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make admin-key", description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", default="default", help="the samconfig.toml environment (ENV=)")
    parser.add_argument("--stack", help="the stack name (default: samconfig.toml's for --config-env)")
    parser.add_argument("--project-name", default="default")
    args = parser.parse_args(argv)

    import boto3

    name = args.stack or stack_name(args.config_env)
    outputs = stack_outputs(boto3.client("cloudformation"), name)
    project_id, secret = create_admin_key(outputs["TableName"], boto3.client("dynamodb"), args.project_name)
    print(f"stack        {name}")
    print(f"base URL     {outputs.get('ApiUrl', '?')}")
    print(f"project      {project_id}")
    print(f"admin key    {secret}   (shown once; only its hash is stored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
