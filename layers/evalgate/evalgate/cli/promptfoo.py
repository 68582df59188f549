"""`evalgate import promptfoo CONFIG` and `evalgate eval -c CONFIG [-o results.json]`.

The import reads the config and the files it references (they live on this machine), inlines them and sends
the config to POST /api/v1/promptfoo/imports, which creates or updates, matched by name (a re-import never
duplicates): a prompt (named after the config's description, or --name), a version per prompt x provider,
the dataset `promptfoo tests` (a case per test) and the suite `promptfoo`.

`eval` imports, starts a run of the suite on every version, shows a progress bar, prints a results table (a
row per test, a column per prompt x provider, as promptfoo's) and exits as promptfoo does: 0 when the pass
rate reaches PROMPTFOO_PASS_RATE_THRESHOLD (default 100 %), else PROMPTFOO_FAILED_TEST_EXIT_CODE (default 100).
`-o results.json` writes the results in promptfoo's results-file shape.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalgate.cli.client import ApiClient
from evalgate.cli.context import CliError, Context
from evalgate.promptfoo_config import Plan, PromptfooConfigError, build_plan, inline_files, load_config

POLL_SECONDS = 0.5
DEFAULT_WAIT_S = 1800.0
TERMINAL = {"completed", "failed", "cancelled", "error"}
COMPARISON_TYPES = ("select-best", "max-score")


def _load(ctx: Context, args: argparse.Namespace) -> tuple[dict[str, Any], Plan]:
    """The config with its files inlined (what the API takes) and its plan (for the table and the export)."""
    path = Path(args.config)
    name = getattr(args, "name", None)
    try:
        inlined = inline_files(load_config(path), path.resolve().parent)
        plan = build_plan(inlined, None, name=name)
    except PromptfooConfigError as err:
        raise CliError(f"{args.config}: {err}") from err
    for warning in plan.warnings:
        ctx.err(f"evalgate: warning: {warning}")
    return inlined, plan


def import_plan(ctx: Context, client: ApiClient, inlined: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """POST the inlined config to /api/v1/promptfoo/imports; the answer, with the versions paired with the
    plan's prompts and providers (the service lists them in the same order)."""
    done: dict[str, Any] = client.call(
        "POST", client.url("api", "v1", "promptfoo", "imports"), {"config": inlined, "name": plan.name}
    )
    pairs = [(p, provider) for p in plan.prompts for provider in plan.providers]
    done["targets"] = [
        {"versionNo": v["versionNo"], "prompt": p, "provider": provider, "label": v["label"]}
        for v, (p, provider) in zip(done["versions"], pairs, strict=True)
    ]
    return done


def _print_import(ctx: Context, done: dict[str, Any]) -> None:
    for verb in ("created", "replaced", "reused"):
        for line in done[verb]:
            ctx.out(f"{verb:9s} {line}")


def import_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    inlined, plan = _load(ctx, args)
    _print_import(ctx, import_plan(ctx, client, inlined, plan))
    return 0


# --- eval ----------------------------------------------------------------------------------------------------


def _wait(ctx: Context, client: ApiClient, pid: str, runs: list[dict[str, Any]], deadline: float) -> None:
    total = sum(r["progress"]["total"] or 0 for r in runs) or 1
    while True:
        for r in runs:
            if r["status"] not in TERMINAL:
                r.update(client.call("GET", client.url("api", "prompts", pid, "eval", "runs", str(r["id"]), "status")))
        done = sum(r["progress"]["done"] for r in runs)
        total = max(total, sum(r["progress"]["total"] for r in runs))
        width = 30
        filled = int(width * done / total) if total else width
        if ctx.stderr_is_tty():
            ctx.err(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} results", end="")
        if all(r["status"] in TERMINAL for r in runs):
            if ctx.stderr_is_tty():
                ctx.err("")
            else:
                ctx.err(f"{done}/{total} results")
            return
        if ctx.clock() > deadline:
            raise CliError("the runs did not finish in time (--wait); they go on in the service")
        ctx.sleep(POLL_SECONDS)


def _results(client: ApiClient, pid: str, run_id: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = client.call("GET", client.url("api", "prompts", pid, "eval", "runs", str(run_id)) + query) or {}
        out += page.get("results", [])
        cursor = page.get("nextCursor")
        if not cursor:
            return out


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "-"
    word = {"passed": "PASS", "failed": "FAIL", "errored": "ERROR"}.get(result["status"], result["status"])
    return f"[{word}] {result.get('score', 0):.2f}"


def _table(ctx: Context, plan: Plan, targets: list[dict[str, Any]], by_target: list[dict[str, dict]]) -> None:
    order = promptfoo_order(plan)  # columns as promptfoo shows them: each provider's prompts in turn
    headers = ["test", *(targets[i]["label"][:40] for i in order)]
    rows = [[t.name[:40], *(_cell(by_target[i].get(t.name)) for i in order)] for t in plan.tests]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    ctx.out(line)
    ctx.out("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    ctx.out(line)
    for row in rows:
        ctx.out("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    ctx.out(line)


def eval_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    inlined, plan = _load(ctx, args)
    done = import_plan(ctx, client, inlined, plan)
    _print_import(ctx, done)
    pid = str(done["promptId"])
    runs = [
        client.call(
            "POST",
            client.url("api", "prompts", pid, "eval", "run"),
            {"suiteId": done["suiteId"], "versionNo": target["versionNo"]},
        )
        for target in done["targets"]
    ]
    ctx.out(f"started {len(runs)} run(s): {', '.join(str(r['id']) for r in runs)}")
    _wait(ctx, client, pid, runs, ctx.clock() + args.wait)
    by_target: list[dict[str, dict]] = []
    for run in runs:
        results = _results(client, pid, run["id"])
        by_target.append({r["caseName"]: r for r in results if r.get("caseName")})
    if any(_compares(t.assertions) for t in plan.tests) and len(runs) >= 2:
        apply_comparisons(client, pid, plan, runs, by_target)
    _table(ctx, plan, done["targets"], by_target)
    counts = {"passed": 0, "failed": 0, "errored": 0}
    for by_case in by_target:
        for r in by_case.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
    total = sum(counts.values())
    pass_rate = 100.0 * counts["passed"] / total if total else 0.0
    ctx.out(
        f"Successes: {counts['passed']}  Failures: {counts['failed']}  Errors: {counts['errored']}  "
        f"Pass Rate: {pass_rate:.2f}%"
    )
    for run in runs:
        if run["status"] in ("failed", "error", "cancelled") and run.get("error"):
            ctx.err(f"evalgate: run {run['id']} {run['status']}: {run['error']}")
    if args.output:
        Path(args.output).write_text(
            json.dumps(promptfoo_results(plan, done, runs, by_target), indent=2, ensure_ascii=False) + "\n"
        )
        ctx.out(f"wrote {args.output}")
    threshold = _env_float(ctx, "PROMPTFOO_PASS_RATE_THRESHOLD", 100.0)
    failed_code = int(_env_float(ctx, "PROMPTFOO_FAILED_TEST_EXIT_CODE", 100.0))
    if pass_rate < threshold:
        if "PROMPTFOO_PASS_RATE_THRESHOLD" in ctx.env:
            ctx.err(f"Pass rate {pass_rate:.2f}% is below the threshold of {threshold:g}%")
        return failed_code
    return 0


def _compares(assertions: list[dict[str, Any]]) -> bool:
    return any(str(a.get("type", "")) in COMPARISON_TYPES for a in assertions if isinstance(a, dict))


def promptfoo_order(plan: Plan) -> list[int]:
    """The targets (prompt-major: prompt x provider) in promptfoo's output order: each provider's prompts in turn
    (promptIdx 0 = the first prompt on the first provider, 1 = the second prompt on it, ...)."""
    n_prov = len(plan.providers)
    return [p * n_prov + q for q in range(n_prov) for p in range(len(plan.prompts))]


def apply_comparisons(
    client: ApiClient, pid: str, plan: Plan, runs: list[dict[str, Any]], by_target: list[dict[str, dict]]
) -> None:
    """promptfoo's comparison pass: POST …/eval/compare over every run (page by page) and fold each output's
    select-best / max-score results into its result (status, score, assertions)."""
    order = promptfoo_order(plan)
    run_ids = [runs[i]["id"] for i in order]
    target_of = {runs[i]["id"]: i for i in order}
    cursor: str | None = None
    while True:
        body: dict[str, Any] = {"runIds": run_ids, "limit": 50, **({"cursor": cursor} if cursor else {})}
        page = client.call("POST", client.url("api", "prompts", pid, "eval", "compare"), body) or {}
        for case in page.get("cases", []):
            for out in case["outputs"]:
                r = by_target[target_of[out["runId"]]].get(case.get("caseName") or "")
                if r is None:
                    continue
                r["status"], r["score"] = out["status"], out["score"]
                r.setdefault("assertions", []).extend(
                    {**c, "expected": None, "weight": 1.0} for c in out["comparisons"]
                )
        cursor = page.get("nextCursor")
        if not cursor:
            return


def _env_float(ctx: Context, name: str, default: float) -> float:
    raw = ctx.env.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        return default


# --- promptfoo's results file ----------------------------------------------------------------------------------


def _empty_stats() -> dict[str, Any]:
    return {"successes": 0, "failures": 0, "errors": 0, "tokenUsage": {"prompt": 0, "completion": 0, "total": 0}}


def _row(
    stats: dict[str, Any],
    r: dict[str, Any],
    *,
    prompt_idx: int,
    test_idx: int,
    prompt: dict[str, str],
    provider: str,
    test_case: dict[str, Any],
) -> dict[str, Any]:
    """One entry of results[] for one evalgate result, counted into `stats`."""
    success = r["status"] == "passed"
    stats[{"passed": "successes", "failed": "failures"}.get(r["status"], "errors")] += 1
    usage = {"prompt": r.get("inputTokens", 0), "completion": r.get("outputTokens", 0)}
    usage["total"] = usage["prompt"] + usage["completion"]
    for k in usage:
        stats["tokenUsage"][k] += usage[k]
    components = [
        {
            "pass": a["status"] == "passed",
            "score": a["score"],
            "reason": a["reason"],
            "assertion": {"type": a["operator"], "value": a.get("expected")},
        }
        for a in r.get("assertions", [])
    ]
    reasons = [c["reason"] for c in components if not c["pass"]]
    return {
        "promptIdx": prompt_idx,
        "testIdx": test_idx,
        "prompt": prompt,
        "provider": {"id": provider, "label": provider},
        "vars": test_case.get("vars") or {},
        "response": {"output": r.get("output"), "tokenUsage": usage, "cached": r.get("cached", False)},
        "error": r.get("error"),
        "success": success,
        "score": r["score"],
        "latencyMs": round(r.get("durationMs") or 0),
        "cost": r.get("costUsd", 0.0),
        "gradingResult": {
            "pass": success,
            "score": r["score"],
            "reason": "All assertions passed" if success else "; ".join(reasons) or (r.get("error") or ""),
            "componentResults": components,
        },
        "testCase": test_case,
        "namedScores": {},
        "failureReason": 0 if success else (2 if r["status"] == "errored" else 1),
    }


def _results_file(
    eval_id: str, prompts: list[dict[str, str]], rows: list[dict[str, Any]], stats: dict[str, Any], description: str
) -> dict[str, Any]:
    return {
        "evalId": eval_id,
        "results": {
            "version": 3,
            "timestamp": datetime.now(UTC).isoformat(),
            "prompts": prompts,
            "results": rows,
            "stats": stats,
        },
        "config": {"description": description},
        "shareableUrl": None,
    }


def promptfoo_results(
    plan: Plan, done: dict[str, Any], runs: list[dict[str, Any]], by_target: list[dict[str, dict]]
) -> dict[str, Any]:
    """The shape `promptfoo eval -o results.json` writes (version 3): results[] with prompt, provider, vars,
    response.output, success, score, latencyMs, gradingResult{pass, score, reason, componentResults}, testCase,
    testIdx, promptIdx; stats; the prompts."""
    rows: list[dict[str, Any]] = []
    stats = _empty_stats()
    order = promptfoo_order(plan)  # promptIdx as promptfoo numbers them: each provider's prompts in turn
    for prompt_idx, i in enumerate(order):
        target, results = done["targets"][i], by_target[i]
        prompt = {"raw": target["prompt"].template, "label": target["prompt"].label}
        for test_idx, test in enumerate(plan.tests):
            r = results.get(test.name)
            if r is None:
                continue
            test_case = {"description": test.description, "vars": test.variables, "assert": test.assertions}
            rows.append(
                _row(
                    stats,
                    r,
                    prompt_idx=prompt_idx,
                    test_idx=test_idx,
                    prompt=prompt,
                    provider=target["provider"].label,
                    test_case=test_case,
                )
            )
    prompts = [
        {"raw": t["prompt"].template, "label": t["prompt"].label, "provider": t["provider"].label}
        for t in (done["targets"][i] for i in order)
    ]
    return _results_file(
        f"evalgate-runs-{'-'.join(str(r['id']) for r in runs)}", prompts, rows, stats, plan.description
    )


def run_results_file(
    run: dict[str, Any], version: dict[str, Any] | None, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """promptfoo's results file for one finished evalgate run (any run: suite, promptfoo import, EvalGuard):
    one prompt (the run's version, when it has one), one test per case, in the order the results list them."""
    if version is not None:
        model = version.get("modelConfig") or {}
        provider = ":".join(str(p) for p in (model.get("provider"), model.get("model")) if p) or "evalgate"
        prompt = {"raw": version.get("template", ""), "label": f"v{version.get('versionNo')}"}
    else:
        provider, prompt = "evalgate", {"raw": "", "label": f"run {run['id']}"}
    stats = _empty_stats()
    tests: dict[str, int] = {}
    rows = []
    for r in results:
        name = r.get("caseName") or r.get("name") or ""
        test_idx = tests.setdefault(name, len(tests))
        test_case = {
            "description": name,
            "vars": r.get("variables") or {},
            "assert": [{"type": a["operator"], "value": a.get("expected")} for a in r.get("assertions", [])],
        }
        if r.get("expectedOutput") is not None:
            test_case["expectedOutput"] = r["expectedOutput"]
        rows.append(
            _row(stats, r, prompt_idx=0, test_idx=test_idx, prompt=prompt, provider=provider, test_case=test_case)
        )
    return _results_file(
        f"evalgate-run-{run['id']}", [{**prompt, "provider": provider}], rows, stats, f"evalgate run {run['id']}"
    )


def export_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    """`evalgate export RUN_ID --prompt ID -o results.json`: a finished run in promptfoo's results shape."""
    pid, run_id = str(args.prompt), str(args.run_id)
    run = client.call("GET", client.url("api", "prompts", pid, "eval", "runs", run_id) + "?limit=1") or {}
    if run.get("status") in ("pending", "running"):
        raise CliError(f"run {run_id} is still {run['status']}: export it when it has finished")
    version = None
    if run.get("versionNo") is not None:
        version = client.call("GET", client.url("api", "prompts", pid, "versions", str(run["versionNo"])))
    results = _results(client, pid, int(run_id))
    document = run_results_file(run, version, results)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output in (None, "-"):
        ctx.out(text.rstrip("\n"))
    else:
        Path(args.output).write_text(text)
        ctx.out(f"wrote {args.output} ({len(results)} results of run {run_id})")
    return 0
