"""Cold start of every function in template.yaml against a bare handler, measured side by side.

Each measurement is a fresh interpreter that does what Lambda's INIT does: put the function folder
and the layer on sys.path, import `app.py` by path (which builds the module-level resolver). The
child times that import with time.perf_counter (wall) and time.process_time (CPU; what the goal is
judged on, as it does not depend on other load on the machine) - no -X importtime in timed runs, it
slows imports down - then "first construct": it builds each route's validation model (Powertools
does that lazily on the first request). Time spent in garbage collection is recorded with
gc.callbacks. Baseline and function runs are interleaved in random order over several rounds so that
drift (other load, CPU frequency) hits both alike.

sys.path is Lambda's: [function dir, layers/evalgate, a "layer site" holding only the pinned
requirements' distributions plus the boto3 that the Lambda runtime provides] - not the dev venv, whose
extra packages (requests, ...) the X-Ray patcher would otherwise import. The interpreter is this venv's
Python; Lambda runs 3.12 on arm64. Bytecode comes from a private, pre-warmed PYTHONPYCACHEPREFIX, so
nothing is written into the repository and every run reads .pyc as a deployed layer would.

One extra run per target with -X importtime gives the modules each function imports beyond the
baseline (sys.modules diff) and their self import time: what to make lazy.

    .venv/bin/python -m bench.cold_start [--rounds N] [--budget 100] [--trace-disabled] [--site venv]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._common import ROOT, percentile, table, write_results

LAYER = ROOT / "layers" / "evalgate"
BASELINE_DIR = ROOT / "bench" / "baseline_handler"
GOAL = 1.3
MARK = "@@COLD_START@@"

# Runs in the child: the timed part is only what Lambda's INIT would do.
CHILD = r"""
import gc, sys, time
code_dir, module_path, opts = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
if sys.path and sys.path[0] == "":
    del sys.path[0]
sys.path[0:0] = [code_dir, *sys.argv[4:]]
gc_ms, gc_full, gc_start = [0.0], [0], [0.0]
def on_gc(phase, info):
    if phase == "start":
        gc_start[0] = time.perf_counter()
    else:
        gc_ms[0] += (time.perf_counter() - gc_start[0]) * 1000
        gc_full[0] += info["generation"] == 2
gc.callbacks.append(on_gc)
if "gc-off" in opts:
    gc.disable()
import importlib.util
t0, c0 = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", module_path)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
t1, c1 = time.perf_counter(), time.process_time()
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
routes = 0
for value in list(vars(module).values()):
    if isinstance(value, ApiGatewayResolver):
        for route in value._static_routes + value._dynamic_routes:
            route.dependant
            route.body_field
            routes += 1
if "gc-off" in opts:
    gc.freeze()
    gc.enable()
t2, c2 = time.perf_counter(), time.process_time()
first_ms = first_cpu_ms = None
if "first" in opts:
    # what the first request sets up lazily, minus the network: evalgate's stores (settings, boto3,
    # the DynamoDB client, the codec) for a function; a boto3 DynamoDB client for the baseline
    if "evalgate" in sys.modules:
        from evalgate.services.container import container
        c = container()
        c.projects
        c.prompts
    else:
        import boto3
        boto3.session.Session().client("dynamodb")
    first_ms = (time.perf_counter() - t2) * 1000
    first_cpu_ms = (time.process_time() - c2) * 1000
import json, resource
out = {
    "import_ms": (t1 - t0) * 1000,
    "construct_ms": (t2 - t1) * 1000,
    "import_cpu_ms": (c1 - c0) * 1000,
    "construct_cpu_ms": (c2 - c1) * 1000,
    "first_request_setup_ms": first_ms,
    "first_request_setup_cpu_ms": first_cpu_ms,
    "gc_ms": gc_ms[0],
    "gc_full": gc_full[0],
    "routes": routes,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}
if "modules" in opts:
    out["modules"] = sorted(sys.modules)
sys.stdout.write("\n@@COLD_START@@" + json.dumps(out) + "\n")
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)\s*$")


@dataclass
class Target:
    name: str
    code_dir: Path
    env: dict[str, str]
    imports: list[dict[str, float]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def module_path(self) -> Path:
        return self.code_dir / "app.py"


# ---------------------------------------------------------------------------------- the layer site
def _closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions a pip install of `requirements` would bring (extras and markers applied)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, metadata.Distribution] = {}
    extras: dict[str, set[str]] = defaultdict(set)
    stack = [Requirement(r) for r in requirements]
    while stack:
        req = stack.pop()
        name = canonicalize_name(req.name)
        new = set(req.extras) - extras[name]
        if name in found and not new:
            continue
        extras[name] |= set(req.extras)
        dist = metadata.distribution(name)
        found[name] = dist
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in (extras[name] or {""})):
                stack.append(sub)
    return found


def _dist_files(dist: metadata.Distribution) -> list[Path]:
    root = Path(str(dist.locate_file("")))
    out = []
    for f in dist.files or []:
        if f.parts[0] == ".." or "__pycache__" in f.parts:
            continue
        out.append(root / f)
    return out


def _top_levels(dist: metadata.Distribution) -> set[str]:
    names = set()
    for f in dist.files or []:
        head = f.parts[0]
        if head in ("..", "__pycache__") or head.endswith((".dist-info", ".data", ".egg-info")):
            continue
        names.add(head)
    return names


def _requirements() -> list[str]:
    lines = (LAYER / "requirements.txt").read_text().splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def build_layer_site(into: Path) -> list[str]:
    """Symlink the distributions the deployed function would see (layer requirements + runtime boto3)."""
    dists = {**_closure(["boto3"]), **_closure(_requirements())}
    into.mkdir(parents=True, exist_ok=True)
    for dist in dists.values():
        root = Path(str(dist.locate_file("")))
        for top in _top_levels(dist):
            link = into / top
            if not link.exists() and (root / top).exists():
                link.symlink_to(root / top)
    return sorted(dists)


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def layer_report() -> dict[str, Any]:
    """Size of the layer source, of what its requirements install, and the cost of compiling its sources."""
    sources = [p for p in LAYER.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    py = [p for p in sources if p.suffix == ".py"]
    compile_ms = []
    for _ in range(3):
        started = time.perf_counter()
        for p in py:
            compile(p.read_bytes(), str(p), "exec")
        compile_ms.append((time.perf_counter() - started) * 1000)
    runtime_provided = set(_closure(["boto3"]))
    deps = []
    for name, dist in sorted(_closure(_requirements()).items()):
        files = _dist_files(dist)
        deps.append(
            {
                "name": name,
                "version": dist.version,
                "bytes": _size(files),
                "also_in_lambda_runtime": name in runtime_provided,
            }
        )
    return {
        "source_files": len(sources),
        "source_bytes": _size(sources),
        "python_files": len(py),
        "compile_ms": min(compile_ms),
        "requirements": _requirements(),
        "installed": deps,
        "installed_bytes": sum(d["bytes"] for d in deps),
        "installed_bytes_not_in_runtime": sum(d["bytes"] for d in deps if not d["also_in_lambda_runtime"]),
        "note": "sizes from the dev venv's installed files (x86_64/py3.11 wheels, .pyc excluded); "
        "the arm64 layer differs slightly",
    }


# ---------------------------------------------------------------------------------- targets and runs
def targets(trace_disabled: bool) -> tuple[Target, list[Target]]:
    from local import cfn, model, resources

    app = model.read(cfn.TEMPLATE)
    names = cfn.Names()
    resources.declare_names(app, names)

    def lambda_env(function_name: str, code_dir: Path, fn_env: dict[str, str]) -> dict[str, str]:
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        env.update(
            {
                "AWS_REGION": names.region,
                "AWS_DEFAULT_REGION": names.region,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_LAMBDA_FUNCTION_NAME": function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "_HANDLER": "app.lambda_handler",
            }
        )
        env.update(fn_env)
        if trace_disabled:
            env["POWERTOOLS_TRACE_DISABLED"] = "true"
        return env

    functions = []
    globals_env: dict[str, str] = {}
    for logical_id, fn in app.functions.items():
        fn_env = resources.function_environment(app, names, logical_id)
        globals_env = fn_env
        functions.append(Target(fn.code_dir.name, fn.code_dir, lambda_env(names.refs[logical_id], fn.code_dir, fn_env)))
    baseline = Target("(baseline)", BASELINE_DIR, lambda_env("evalgate-local-Baseline", BASELINE_DIR, globals_env))
    return baseline, functions


class Runner:
    def __init__(self, site: str, work: Path, *, gc_off: bool = False) -> None:
        self.gc_off = gc_off
        self.flags = ["-s"]
        self.paths = [str(LAYER)]
        self.pycache = work / "pycache"
        if site == "layer":
            layer_site = work / "layer-site"
            self.dists = build_layer_site(layer_site)
            self.flags = ["-S"]  # no site-packages: only the layer site, as on Lambda
            self.paths.append(str(layer_site))
        else:
            self.dists = []

    def env(self, target: Target) -> dict[str, str]:
        return {**target.env, "PYTHONPYCACHEPREFIX": str(self.pycache)}

    def prime(self, all_targets: list[Target]) -> float:
        """Import every target once in one process: compiles all bytecode into the private cache."""
        code = (
            "import sys, importlib.util\n"
            "del sys.path[0]\n"
            f"sys.path[0:0] = {self.paths!r}\n"
            "for i, path in enumerate(sys.argv[1:]):\n"
            "    spec = importlib.util.spec_from_file_location(f'app{i}', path)\n"
            "    mod = importlib.util.module_from_spec(spec)\n"
            "    sys.modules[spec.name] = mod\n"
            "    spec.loader.exec_module(mod)\n"
        )
        started = time.perf_counter()
        cmd = [sys.executable, *self.flags, "-c", code, *(str(t.module_path) for t in all_targets)]
        proc = subprocess.run(cmd, env=self.env(all_targets[0]), capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"priming failed:\n{proc.stderr[-3000:]}")
        return time.perf_counter() - started

    def run(self, target: Target, *, importtime: bool = False, first: bool = False) -> dict[str, Any]:
        cmd = [sys.executable, *self.flags]
        if importtime:
            cmd += ["-X", "importtime"]
        flags = ("modules" if importtime else "", "gc-off" if self.gc_off else "", "first" if first else "")
        opts = ",".join(o for o in flags if o) or "-"
        cmd += ["-c", CHILD, str(target.code_dir), str(target.module_path), opts, *self.paths]
        proc = subprocess.run(
            cmd, cwd=target.code_dir, env=self.env(target), capture_output=True, text=True, timeout=120
        )
        result_line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)), None)
        if proc.returncode != 0 or result_line is None:
            raise RuntimeError(f"{target.name}: the child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(result_line[len(MARK) :])
        if importtime:
            self_us: dict[str, int] = {}
            for line in proc.stderr.splitlines():
                m = _IMPORTTIME.match(line)
                if m:
                    self_us[m.group(3)] = self_us.get(m.group(3), 0) + int(m.group(1))
            result["self_us"] = self_us
        return result


# ---------------------------------------------------------------------------------- analysis
def _group(module: str) -> str:
    """evalgate modules stay by name (our code); third-party ones roll up to their top-level package."""
    if module == "app":
        return "app (the function module)"
    if module.startswith("evalgate"):
        return module
    return module.split(".", 1)[0]


def extras_of(fn: dict[str, Any], base: dict[str, Any]) -> tuple[dict[str, float], list[str], dict[str, str]]:
    """Modules the function imports that the baseline does not, grouped, with their self import time (ms)."""
    base_mods = set(base["modules"])
    extra = [m for m in fn["modules"] if m not in base_mods]
    fn_mods = set(fn["modules"])
    not_imported: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # group -> [skipped, of]
    for m in base["modules"]:
        if m != "app":
            counts = not_imported[_group(m)]
            counts[1] += 1
            counts[0] += m not in fn_mods
    missing = {g: f"{s}/{n}" for g, (s, n) in sorted(not_imported.items()) if s}
    grouped: dict[str, float] = defaultdict(float)
    for m in extra:
        grouped[_group(m)] += fn["self_us"].get(m, 0) / 1000
    return dict(sorted(grouped.items(), key=lambda kv: -kv[1])), extra, missing


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p90": percentile(values, 90), "min": min(values), "n": len(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="timed runs per function (default: as many as fit in --budget, between 3 and 7)",
    )
    parser.add_argument("--budget", type=float, default=105.0, help="seconds the whole run should take (default 105)")
    parser.add_argument("--baseline-every", type=int, default=8, help="a baseline run before every N functions")
    parser.add_argument("--only", nargs="*", help="function folder names to measure (default: all)")
    parser.add_argument("--trace-disabled", action="store_true", help="POWERTOOLS_TRACE_DISABLED=true (local runtime)")
    parser.add_argument(
        "--site",
        choices=["layer", "venv"],
        default="layer",
        help="layer: Lambda-like sys.path (default); venv: the dev venv's site-packages",
    )
    parser.add_argument(
        "--gc-off",
        action="store_true",
        help="what-if: gc disabled during INIT, then gc.freeze() (measures the cost of collections during init)",
    )
    parser.add_argument(
        "--first-runs", type=int, default=5, help="runs of the first-request setup probe (baseline and get_prompt)"
    )
    parser.add_argument("--heavy-ms", type=float, default=2.0, help="extra imports at least this slow are 'heavy'")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()

    baseline, functions = targets(args.trace_disabled)
    if args.only:
        functions = [f for f in functions if f.name in set(args.only)]
    failed: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="evalgate-cold-"))
    try:
        runner = Runner(args.site, work, gc_off=args.gc_off)
        prime_s = runner.prime([baseline, *functions])
        print(
            f"cold start: {len(functions)} functions vs {baseline.name}, "
            f"{args.rounds or f'as many rounds as fit in {args.budget:g}s'}; "
            f"site={args.site}, tracing={'disabled' if args.trace_disabled else 'active (template)'}, "
            f"gc={'off during INIT' if args.gc_off else 'default'}; "
            f"bytecode primed in {prime_s:.1f}s"
        )

        # one -X importtime run per target: which modules, and what each costs
        profiled = time.perf_counter()
        baseline.profile = runner.run(baseline, importtime=True)
        for t in functions:
            try:
                t.profile = runner.run(t, importtime=True)
            except RuntimeError as exc:  # a function that cannot even be imported is reported, not timed
                failed[t.name] = str(exc).strip().splitlines()[-1]
        functions = [f for f in functions if f.name not in failed]
        # timed runs are ~15% quicker than -X importtime ones
        per_run = 0.85 * (time.perf_counter() - profiled) / (len(functions) + len(failed) + 1)
        if args.rounds is None:
            per_round = per_run * (len(functions) + -(-len(functions) // args.baseline_every))
            left = args.budget - (time.perf_counter() - started) - 2 * args.first_runs * per_run
            args.rounds = max(3, min(7, int(left / per_round)))
        print(f"  ~{per_run:.2f}s per run: {args.rounds} rounds", flush=True)

        # timed rounds: functions shuffled, a baseline run interleaved every few functions
        for r in range(args.rounds):
            order = functions[:]
            rng.shuffle(order)
            for i, fn in enumerate(order):
                if i % args.baseline_every == 0:
                    baseline.imports.append(runner.run(baseline))
                if fn.name in failed:
                    continue
                try:
                    fn.imports.append(runner.run(fn))
                except RuntimeError as exc:  # the code changed under the benchmark
                    failed[fn.name] = str(exc).strip().splitlines()[-1]
            print(f"  round {r + 1}/{args.rounds} done ({time.perf_counter() - started:.0f}s)", flush=True)

        functions = [f for f in functions if f.name not in failed]
        # the work deferred to the first request is the same layer code in every function: measure it
        # on the baseline and one representative function only
        probe = next((f for f in functions if f.name == "get_prompt"), functions[0])
        first_runs: dict[str, list[dict[str, Any]]] = {baseline.name: [], probe.name: []}
        for _ in range(args.first_runs):
            for t in (baseline, probe):
                first_runs[t.name].append(runner.run(t, first=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def figures(t: Target) -> dict[str, Any]:
        runs = t.imports
        return {
            "import_ms": stats([x["import_ms"] for x in runs]),
            "construct_ms": stats([x["construct_ms"] for x in runs]),
            "total_ms": stats([x["import_ms"] + x["construct_ms"] for x in runs]),
            "import_cpu_ms": stats([x["import_cpu_ms"] for x in runs]),
            "total_cpu_ms": stats([x["import_cpu_ms"] + x["construct_cpu_ms"] for x in runs]),
            "gc_ms": stats([x["gc_ms"] for x in runs]),
            "gc_full_collections": statistics.median(x["gc_full"] for x in runs),
            "rss_mb": statistics.median(x["rss_mb"] for x in runs),
            "routes": runs[0]["routes"],
            "modules": len(t.profile["modules"]),
        }

    base = figures(baseline)
    out_functions: dict[str, dict[str, Any]] = {}
    union: dict[str, list[float]] = defaultdict(list)
    for fn in sorted(functions, key=lambda f: f.name):
        fig = figures(fn)
        for key in ("import_ms", "total_ms", "import_cpu_ms", "total_cpu_ms"):
            fig[f"ratio_{key.removesuffix('_ms')}"] = fig[key]["median"] / base[key]["median"]
        grouped, extra, missing = extras_of(fn.profile, baseline.profile)
        for k, v in grouped.items():
            union[k].append(v)
        fig.update(
            {
                "extra_modules": len(extra),
                "extra_import_ms_by_group": {k: round(v, 2) for k, v in grouped.items()},
                "heavy_extras": {k: round(v, 2) for k, v in grouped.items() if v >= args.heavy_ms},
                "baseline_modules_not_imported": missing,
            }
        )
        out_functions[fn.name] = fig

    def row(name: str, fig: dict[str, Any], note: str) -> list[str]:
        return [
            name,
            f"{fig['import_ms']['median']:.0f}",
            f"{fig['import_ms']['p90']:.0f}",
            f"{fig['import_cpu_ms']['median']:.0f}",
            f"{fig['construct_ms']['median']:.1f}",
            f"{fig['gc_ms']['median']:.0f}",
            f"{fig.get('ratio_import', 1.0):.2f}",
            f"{fig.get('ratio_import_cpu', 1.0):.2f}",
            f"{fig.get('ratio_total_cpu', 1.0):.2f}",
            f"{fig['rss_mb']:.0f}",
            str(fig.get("extra_modules", 0)),
            note,
        ]

    # a module's cost is the median of its self time over the functions that import it: one -X importtime
    # run per function is noisy on a busy machine, the median over functions is not
    typical = {k: statistics.median(v) for k, v in union.items()}
    rows = [row(baseline.name, base, f"{base['modules']} modules in all")]
    for name, fig in out_functions.items():
        mine = sorted(fig["extra_import_ms_by_group"], key=lambda k: -typical[k])
        heavy = [(k, typical[k]) for k in mine if typical[k] >= args.heavy_ms][:3]
        rows.append(row(name, fig, ", ".join(f"{k.removeprefix('evalgate.')} {v:.0f}" for k, v in heavy) or "-"))
    print()
    print(
        "Cold start, ms. INIT = importing app.py (what Lambda's INIT does): wall p50/p90 and CPU p50; routes = "
        "building the validation models the first request needs (wall); GC = time in garbage collection during both; "
        "x = ratio of medians to the baseline (CPU ratios are robust to other load on the machine)"
    )
    headers = ["function", "INIT p50", "p90", "CPU p50", "routes", "GC", "x wall", "x CPU", "x CPU+routes"]
    headers += ["RSS MB", "+mods", "heaviest extra imports (typical self ms)"]
    print(table(headers, rows))
    print(
        f"baseline: {base['import_ms']['n']} runs, INIT wall min {base['import_ms']['min']:.0f} ms; "
        f"functions: {args.rounds} runs each"
    )

    def by_package(profile: dict[str, Any]) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for module, us in profile["self_us"].items():
            top = module.split(".", 1)[0]
            out["evalgate (layer)" if top == "evalgate" else top] += us / 1000
        return out

    base_pkgs = by_package(baseline.profile)
    fn_pkgs = [by_package(f.profile) for f in functions]
    names = sorted(set(base_pkgs) | {k for p in fn_pkgs for k in p}, key=lambda k: -base_pkgs.get(k, 0.0))
    pkg_rows = []
    for k in names:
        fn_median = statistics.median(p.get(k, 0.0) for p in fn_pkgs)
        if max(base_pkgs.get(k, 0.0), fn_median) >= 3:
            pkg_rows.append([k, f"{base_pkgs.get(k, 0.0):.0f}", f"{fn_median:.0f}"])
    other_base = sum(v for k, v in base_pkgs.items() if k not in {r[0] for r in pkg_rows})
    other_fn = statistics.median(sum(v for k, v in p.items() if k not in {r[0] for r in pkg_rows}) for p in fn_pkgs)
    pkg_rows.append(["(everything else)", f"{other_base:.0f}", f"{other_fn:.0f}"])
    print()
    print("What INIT is made of: self import time by top-level package (one -X importtime run each, ms)")
    print(table(["package", "baseline", "functions (median)"], pkg_rows))

    print()
    print("Imported beyond the baseline (self import time from one -X importtime run per function, ms)")
    union_rows = sorted(union.items(), key=lambda kv: -statistics.median(kv[1]))
    print(
        table(
            ["module / package", "self ms (median)", "functions"],
            [[k, f"{statistics.median(v):.1f}", f"{len(v)}/{len(functions)}"] for k, v in union_rows[:12]],
        )
    )
    missing_all = set.intersection(*(set(f["baseline_modules_not_imported"]) for f in out_functions.values()))
    if missing_all:
        first = next(iter(out_functions.values()))["baseline_modules_not_imported"]
        listed = ", ".join(f"{g} {first[g]}" for g in sorted(missing_all))
        print(f"baseline imports that no function does (modules skipped/of the package): {listed}")

    probe_rows = []
    probe_out: dict[str, Any] = {}
    for name, runs in first_runs.items():
        keys = (
            "import_ms",
            "import_cpu_ms",
            "construct_cpu_ms",
            "first_request_setup_ms",
            "first_request_setup_cpu_ms",
        )
        med = {k: statistics.median(r[k] for r in runs) for k in keys}
        med["cold_total_cpu_ms"] = statistics.median(
            r["import_cpu_ms"] + r["construct_cpu_ms"] + r["first_request_setup_cpu_ms"] for r in runs
        )
        probe_out[name] = med
    base_total = probe_out[baseline.name]["cold_total_cpu_ms"]
    for name, med in probe_out.items():
        med["ratio_cpu"] = med["cold_total_cpu_ms"] / base_total
        probe_rows.append(
            [
                name,
                f"{med['import_cpu_ms']:.0f}",
                f"{med['construct_cpu_ms']:.1f}",
                f"{med['first_request_setup_cpu_ms']:.0f}",
                f"{med['cold_total_cpu_ms']:.0f}",
                f"{med['ratio_cpu']:.2f}",
            ]
        )
    print()
    print(
        f"Work deferred to the first request ({args.first_runs} runs each, CPU ms, medians): a function builds "
        "evalgate's stores (settings, boto3 import, DynamoDB client, codec); the baseline a boto3 DynamoDB client"
    )
    print(table(["target", "INIT", "routes", "1st-request setup", "cold total", "x"], probe_rows))

    layer = layer_report()
    print()
    print(
        f"Layer layers/evalgate (no __pycache__): {layer['source_files']} files, "
        f"{layer['source_bytes'] / 1024:.0f} KiB; "
        f"compiling its {layer['python_files']} .py files takes {layer['compile_ms']:.0f} ms "
        "(paid by every cold start if the layer ships without .pyc)"
    )
    print(
        f"Pinned requirements ({'; '.join(layer['requirements'])}) install "
        f"{layer['installed_bytes'] / 2**20:.1f} MiB ({layer['installed_bytes_not_in_runtime'] / 2**20:.1f} MiB not "
        "already in the Lambda runtime):"
    )
    print(
        table(
            ["distribution", "version", "MiB", "in Lambda runtime"],
            [
                [d["name"], d["version"], f"{d['bytes'] / 2**20:.2f}", "yes" if d["also_in_lambda_runtime"] else ""]
                for d in sorted(layer["installed"], key=lambda d: -d["bytes"])
            ],
        )
    )

    def worst(key: str) -> tuple[str, float]:
        name, fig = max(out_functions.items(), key=lambda kv: kv[1][key])
        return name, float(fig[key])

    verdict = {key: worst(key) for key in ("ratio_import_cpu", "ratio_total_cpu", "ratio_import", "ratio_total")}
    holds = all(verdict[k][1] <= GOAL for k in ("ratio_import_cpu", "ratio_total_cpu"))
    holds_wall = all(verdict[k][1] <= GOAL for k in ("ratio_import", "ratio_total"))
    results = {
        "method": "fresh interpreter per run; perf_counter and process_time around importing app.py by path (INIT), "
        "then building every route's validation model; Lambda-like sys.path; warm private bytecode cache; "
        "goal judged on CPU-time medians",
        "settings": {
            "rounds": args.rounds,
            "site": args.site,
            "tracing": "disabled" if args.trace_disabled else "active",
            "gc_off_during_init": args.gc_off,
            "python": sys.version.split()[0],
            "layer_site_distributions": runner.dists,
        },
        "goal_ratio": GOAL,
        "not_measured": failed,
        "baseline": base,
        "functions": out_functions,
        "extra_imports_union_ms": {k: statistics.median(v) for k, v in union_rows},
        "init_by_package_ms": {r[0]: {"baseline": float(r[1]), "functions_median": float(r[2])} for r in pkg_rows},
        "worst": {k: {"function": n, "ratio": r} for k, (n, r) in verdict.items()},
        "goal_holds_cpu": holds,
        "goal_holds_wall": holds_wall,
        "first_request_probe_ms": probe_out,
        "layer": layer,
        "elapsed_s": time.perf_counter() - started,
    }
    if failed:
        print()
        for name, why in failed.items():
            print(f"NOT MEASURED {name}: its app.py does not import: {why}")
    path = write_results("cold_start", results)
    print()
    print(f"figures written to {path.relative_to(ROOT)} ({results['elapsed_s']:.0f}s)")
    ic, tc = verdict["ratio_import_cpu"], verdict["ratio_total_cpu"]
    iw, tw = verdict["ratio_import"], verdict["ratio_total"]
    print(
        f"SUMMARY cold_start: baseline INIT p50 {base['import_ms']['median']:.0f} ms wall / "
        f"{base['import_cpu_ms']['median']:.0f} ms CPU; worst function/baseline: INIT {ic[1]:.2f}x CPU ({ic[0]}), "
        f"INIT+routes {tc[1]:.2f}x CPU ({tc[0]}); on wall time {iw[1]:.2f}x ({iw[0]}) and {tw[1]:.2f}x ({tw[0]}); "
        f"goal <= {GOAL}x: {'HOLDS' if holds else 'FAILS'} on CPU time, "
        f"{'holds' if holds_wall else 'fails'} on wall time"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
