"""The `evalgate` command line (HTTP only): gate checks for CI and result uploads."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from evalgate.cli.main import run

    return run(sys.argv[1:] if argv is None else argv)
