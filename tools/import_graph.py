"""The import graph between the layer's packages, and the rule it must follow.

    .venv/bin/python tools/import_graph.py          # print the graph (package -> packages it imports)
    .venv/bin/python tools/import_graph.py --check  # exit 1 on an edge that runs upward (make test runs it too)

The rule (docs/architecture.md): functions/*/app.py -> api -> services -> (store, providers, scoring, stats,
autoeval, adapters, otlp, promptfoo_config) -> (keys, models, errors, settings and the small shared modules).
Inside the middle tier the only edges allowed are auto-eval's use of the judge's parts (autoeval -> providers,
scoring, stats) and the promptfoo config reader's use of the assertion types. The CLI is a client of the HTTP
API: it imports nothing of the service but that config reader. Every import counts, at module level, inside
a function, or under TYPE_CHECKING: a lazy import still is a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "layers" / "evalgate" / "evalgate"

# tier of each unit (a subpackage, or a top-level module of the package); higher tiers import lower ones
TIERS: dict[str, int] = {
    "api": 4,
    "services": 3,
    "store": 2,
    "providers": 2,
    "scoring": 2,
    "stats": 2,
    "autoeval": 2,
    "adapters": 2,
    "otlp": 2,
    "promptfoo_config": 2,
    # the base: domain models, errors, keys, settings and small pure helpers every tier may use
    "models": 1,
    "errors": 1,
    "keys": 1,
    "settings": 1,
    "aws": 1,
    "observability": 1,
    "auth": 1,
    "templating": 1,
    "schedules": 1,
    "importer": 1,
    "pools": 1,
    "__init__": 1,
}
# the only edges between units of one tier
SAME_TIER = {
    ("autoeval", "providers"),
    ("autoeval", "scoring"),
    ("autoeval", "stats"),
    ("promptfoo_config", "scoring"),  # a promptfoo config's assertion shorthands name evalgate's types
}
# units outside the tiers, with what they may import
CLIENTS = {
    "cli": {"__init__", "promptfoo_config"},  # the CLI reads promptfoo configs with the service's parser
    # the Python SDK: an HTTP client on the CLI's, scoring outputs locally with the assertion types
    "sdk": {"__init__", "cli", "scoring", "templating", "errors"},
}
# the package's lazy `evalgate.Client` / `evalgate.evaluate` (a function-level import, never at layer import)
LAZY_FACADE = {("__init__", "sdk")}


@dataclass(frozen=True)
class Edge:
    source: str  # unit
    target: str  # unit
    module: str  # importing module, dotted
    line: int


def unit_of(module: str) -> str:
    """`evalgate.store.runs` -> `store`; `evalgate.keys` -> `keys`; `evalgate` -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(node: ast.AST, current: str) -> list[str]:
    """The evalgate modules an import statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "evalgate" or a.name.startswith("evalgate.")]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = current.split(".")[: -node.level] if node.level else []
            base = ".".join([*anchor, base] if base else anchor)
        if base == "evalgate":  # `from evalgate import keys`: a module of its own; `__version__`: the package
            return [f"evalgate.{a.name}" if _is_module(a.name) else "evalgate" for a in node.names]
        if base.startswith("evalgate."):
            return [base]
    return []


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()


def edges() -> list[Edge]:
    found: list[Edge] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        current = module_name(path)
        source = unit_of(current)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target_module in imported_modules(node, current):
                target = unit_of(target_module)
                if target != source:
                    found.append(Edge(source, target, current, getattr(node, "lineno", 0)))
    return found


def allowed(edge: Edge) -> bool:
    if (edge.source, edge.target) in LAZY_FACADE:
        return True
    if edge.source in CLIENTS:
        return edge.target in CLIENTS[edge.source]
    if edge.target in CLIENTS:
        return False
    if edge.source not in TIERS or edge.target not in TIERS:
        return False  # a new unit must be given a tier first
    source, target = TIERS[edge.source], TIERS[edge.target]
    if source == 1 and target == 1:
        return True
    return target < source or (target == source and (edge.source, edge.target) in SAME_TIER)


def violations() -> list[Edge]:
    return [e for e in edges() if not allowed(e)]


def graph() -> dict[str, dict[str, int]]:
    """unit -> {imported unit: number of importing modules}."""
    result: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for e in edges():
        result[e.source][e.target].add(e.module)
    return {s: {t: len(m) for t, m in sorted(ts.items())} for s, ts in sorted(result.items())}


def main(argv: list[str]) -> int:
    by_tier = sorted(graph().items(), key=lambda kv: (-TIERS.get(kv[0], 5), kv[0]))
    for source, targets in by_tier:
        tier = TIERS.get(source, "client")
        shown = ", ".join(f"{t}({n})" for t, n in targets.items())
        print(f"[{tier}] {source:13} -> {shown}")
    bad = violations()
    for e in bad:
        print(f"UPWARD: {e.module} (line {e.line}) imports {e.target}: {e.source} may not depend on {e.target}")
    if "--check" in argv:
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
