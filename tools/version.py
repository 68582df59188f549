"""The version `make deploy` stamps into the stack, and the parameter overrides that carry it.

    python tools/version.py                  # 0.1.0+g1a2b3c4 (".dirty" when the work tree has changes)
    python tools/version.py --overrides dev  # samconfig.toml's parameter_overrides of [dev] + Version=...

`sam deploy --parameter-overrides` replaces the config file's overrides instead of adding to them, so the
Makefile passes the config environment's own overrides with the version appended.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def version() -> str:
    base = package_version()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return base
    return f"{base}+g{sha}" + (".dirty" if dirty.strip() else "")


def overrides(env: str) -> str:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    section = config.get(env, {}).get("deploy", {}).get("parameters", {})
    if "parameter_overrides" not in section:
        section = config.get("default", {}).get("deploy", {}).get("parameters", {})
    given = str(section.get("parameter_overrides", ""))
    kept = [p for p in shlex.split(given) if not p.startswith("Version=")]
    return " ".join([*kept, f"Version={version()}"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--overrides"]:
        print(overrides(sys.argv[2] if len(sys.argv) > 2 else "default"))
    else:
        print(version())
