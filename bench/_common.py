"""Small helpers shared by the benchmarks: percentiles, plain-text tables, the JSON results file, and the local
runtime as `make run` starts it (with an admin client session)."""

from __future__ import annotations

import json
import math
import platform
import statistics
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "mean": statistics.fmean(values) if values else math.nan,
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values) if values else math.nan,
        "max": max(values) if values else math.nan,
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1) -> str:
    """A plain-text table; the first `left` columns are left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in pairs)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def environment() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "environment": environment(), **data}, indent=2) + "\n")
    return path


def start_runtime(**settings: Any) -> Any:
    """The local runtime as `make run` starts it (durable, in a fresh state directory), in this process; started.
    `settings`: LocalRuntime fields a bench changes on purpose (it says why)."""
    layer = str(ROOT / "layers" / "evalgate")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from local.runtime import LocalRuntime  # lazy: the runtime (moto, the layer) only for the benches that start it

    runtime = LocalRuntime(port=0, state_dir=Path(tempfile.mkdtemp(prefix="evalgate-bench-")), **settings)
    runtime.start()
    return runtime


def admin_session(runtime: Any) -> Any:
    """A requests session carrying the runtime's admin key."""
    import requests  # lazy: as above

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {runtime.admin_secret}"
    return session
