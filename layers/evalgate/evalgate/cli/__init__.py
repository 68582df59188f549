"""The `evalgate` command line (HTTP only): gate checks for CI and result uploads."""

from __future__ import annotations

import sys

# Imported before main() is defined: importing the submodule `evalgate.cli.main` binds the package
# attribute `main` to the module, and main() below must be what `from evalgate.cli import main` finds.
from evalgate.cli.main import run as _run


def main(argv: list[str] | None = None) -> int:
    return _run(sys.argv[1:] if argv is None else argv)
