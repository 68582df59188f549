"""The code's structure rules (docs/architecture.md): imports run one way, only settings.py reads the
environment, every function-local import says why it is there, and a function imports only the layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools import import_graph
from tools.import_graph import PACKAGE, Edge, allowed

ROOT = Path(__file__).resolve().parents[2]


def _python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_import_runs_upward() -> None:
    bad = [f"{e.module}:{e.line} imports {e.target}" for e in import_graph.violations()]
    assert bad == []


@pytest.mark.parametrize(
    ("source", "target", "ok"),
    [
        ("api", "services", True),
        ("services", "store", True),
        ("store", "keys", True),
        ("autoeval", "providers", True),  # the one same-tier edge family
        ("providers", "services", False),  # the gateway once imported the container
        ("providers", "autoeval", False),  # the offline judge once imported auto-eval
        ("store", "providers", False),
        ("services", "api", False),
        ("models", "store", False),
        ("cli", "services", False),  # the CLI is an HTTP client
        ("newthing", "keys", False),  # a new package must be given a tier
    ],
)
def test_the_rule_can_fail(source: str, target: str, ok: bool) -> None:
    assert allowed(Edge(source, target, f"evalgate.{source}.x", 1)) is ok


def test_the_checker_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    code = "def f():\n    from evalgate.services.container import container\n"
    node = ast.parse(code).body[0].body[0]  # type: ignore[attr-defined]
    assert import_graph.imported_modules(node, "evalgate.providers.gateway") == ["evalgate.services.container"]


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for path in _python_files():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli" or rel.name == "settings.py":  # the CLI is a client with its own environment
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            reads = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
            if reads and isinstance(node.value, ast.Name) and node.value.id == "os":  # type: ignore[attr-defined]
                readers.append(f"{rel}:{node.lineno}")
    assert readers == []


def _commented(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or on a line above it within its block of imports."""
    if "#" in lines[lineno - 1]:
        return True
    k = lineno - 2
    while k >= 0:
        text = lines[k].strip()
        if text.startswith("#"):
            return True
        if text.startswith(("import ", "from ")) or text.endswith((",", "(")) or text == ")":
            k -= 1
            continue
        return False
    return False


def test_every_function_local_import_says_why() -> None:
    silent = []
    for path in _python_files():
        text = path.read_text()
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import | ast.ImportFrom) and not _commented(lines, node.lineno):
                        silent.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert silent == []


def test_functions_import_only_the_layer_third_party_and_the_stdlib() -> None:
    siblings = {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()}
    offenders = []
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        for node in ast.walk(ast.parse(app.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["."]
            for name in names:
                top = name.split(".")[0]
                if name == "." or top in siblings or top in {"functions", "local", "tests", "bench", "tools"}:
                    offenders.append(f"{app.parent.name}: {name}")
    assert offenders == []
