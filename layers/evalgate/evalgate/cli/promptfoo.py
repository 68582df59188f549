"""`evalgate import promptfoo CONFIG` and `evalgate eval -c CONFIG [-o results.json]`.

The import turns the config's plan (promptfoo_config) into evalgate objects through the public API, matched by
name so that a re-import updates instead of duplicating:
- one prompt (named after the config's description, or --name), and one version per prompt x provider
  (an existing version with the same template and model settings is reused);
- one dataset `promptfoo tests` holding a case per test (variables only), replaced when the tests changed;
- one suite `promptfoo` whose tests group the cases by their assertions and threshold, replaced when changed.

`eval` imports, starts a run of the suite on every version, shows a progress bar, prints a results table (a
row per test, a column per prompt x provider, as promptfoo's) and exits as promptfoo does: 0 when the pass
rate reaches PROMPTFOO_PASS_RATE_THRESHOLD (default 100 %), else PROMPTFOO_FAILED_TEST_EXIT_CODE (default 100).
`-o results.json` writes the results in promptfoo's results-file shape.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalgate.cli.client import ApiClient
from evalgate.cli.context import CliError, Context
from evalgate.cli.promptfoo_config import Plan, PromptfooConfigError, load_plan

DATASET_NAME = "promptfoo tests"
SUITE_NAME = "promptfoo"
POLL_SECONDS = 0.5
DEFAULT_WAIT_S = 1800.0
TERMINAL = {"completed", "failed", "cancelled", "error"}


def _pages(client: ApiClient, *segments: str, limit: int = 100) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = client.call("GET", client.url(*segments) + query) or {}
        yield from page.get("items", [])
        cursor = page.get("nextCursor")
        if not cursor:
            return


def _find(items: Iterator[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((item for item in items if item.get("name") == name), None)


def _same_model(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return all(have.get(k) == v for k, v in want.items()) and all(
        have.get(k) is None for k in have if k not in want and k in ("temperature", "max_tokens", "top_p")
    )


def import_plan(ctx: Context, client: ApiClient, plan: Plan) -> dict[str, Any]:
    """Create or update the prompt, versions, dataset and suite of `plan`; what was done, for printing."""
    done: dict[str, Any] = {"created": [], "reused": [], "replaced": []}
    prompt = _find(_pages(client, "api", "prompts"), plan.name)
    if prompt is None:
        prompt = client.call("POST", client.url("api", "prompts"), {"name": plan.name, "description": plan.description})
        done["created"].append(f"prompt {prompt['id']} {plan.name!r}")
    else:
        done["reused"].append(f"prompt {prompt['id']} {plan.name!r}")
    pid = str(prompt["id"])
    versions = list(_pages(client, "api", "prompts", pid, "versions"))
    targets: list[dict[str, Any]] = []
    for p in plan.prompts:
        for provider in plan.providers:
            label = f"[{provider.label}] {p.label}"
            found = next(
                (
                    v
                    for v in versions
                    if v["template"] == p.template and _same_model(v.get("modelConfig") or {}, provider.model_config)
                ),
                None,
            )
            if found is None:
                found = client.call(
                    "POST",
                    client.url("api", "prompts", pid, "versions"),
                    {"template": p.template, "modelConfig": provider.model_config, "message": f"promptfoo: {label}"},
                )
                versions.append(found)
                done["created"].append(f"version {found['versionNo']} {label}")
            else:
                done["reused"].append(f"version {found['versionNo']} {label}")
            targets.append({"versionNo": found["versionNo"], "prompt": p, "provider": provider, "label": label})

    cases = [{"name": t.name, "variables": t.variables} for t in plan.tests]
    groups: dict[str, dict[str, Any]] = {}
    for t in plan.tests:
        key = json.dumps([t.assertions, t.threshold], sort_keys=True)
        group = groups.setdefault(key, {"assertions": t.assertions, "threshold": t.threshold, "cases": []})
        group["cases"].append(t.name)

    suite = _find(_pages(client, "api", "prompts", pid, "eval", "suites"), SUITE_NAME)
    dataset = _find(_pages(client, "api", "prompts", pid, "eval", "datasets"), DATASET_NAME)
    same_cases = dataset is not None and _dataset_cases(client, pid, dataset["id"]) == cases
    if dataset is not None and not same_cases:
        if suite is not None:  # its tests point at the dataset being replaced
            client.call("DELETE", client.url("api", "prompts", pid, "eval", "suites", str(suite["id"])))
            suite = None
        client.call("DELETE", client.url("api", "prompts", pid, "eval", "datasets", str(dataset["id"])))
        dataset = None
        done["replaced"].append(f"dataset {DATASET_NAME!r}")
    if dataset is None:
        dataset = client.call(
            "POST",
            client.url("api", "prompts", pid, "eval", "datasets"),
            {"name": DATASET_NAME, "description": "imported from a promptfoo config", "cases": cases},
        )
        done["created"].append(f"dataset {dataset['id']} {DATASET_NAME!r} ({len(cases)} cases)")
    else:
        done["reused"].append(f"dataset {dataset['id']} {DATASET_NAME!r} ({len(cases)} cases)")

    tests = [
        {
            "name": f"promptfoo {i + 1}",
            "datasetId": dataset["id"],
            "caseNames": g["cases"],
            "assertions": g["assertions"],
            "threshold": g["threshold"],
        }
        for i, g in enumerate(groups.values())
    ]
    config = {"judgeProvider": None, "judgeModel": None}
    if plan.judge:
        config = {"judgeProvider": plan.judge["provider"], "judgeModel": plan.judge["model"]}
    if suite is not None:
        _, have = _suite_tests(client, pid, suite["id"])
        if have == _comparable(tests) and all(suite["config"].get(k) == v for k, v in config.items()):
            done["reused"].append(f"suite {suite['id']} {SUITE_NAME!r} ({len(tests)} tests)")
        else:
            client.call("DELETE", client.url("api", "prompts", pid, "eval", "suites", str(suite["id"])))
            done["replaced"].append(f"suite {SUITE_NAME!r}")
            suite = None
    if suite is None:
        suite = client.call(
            "POST",
            client.url("api", "prompts", pid, "eval", "suites"),
            {"name": SUITE_NAME, "description": plan.description, "config": config, "tests": tests},
        )
        done["created"].append(f"suite {suite['id']} {SUITE_NAME!r} ({len(tests)} tests)")
    done.update(promptId=prompt["id"], suiteId=suite["id"], datasetId=dataset["id"], targets=targets)
    return done


def _dataset_cases(client: ApiClient, pid: str, dataset_id: int) -> list[dict[str, Any]]:
    got = client.call("GET", client.url("api", "prompts", pid, "eval", "datasets", str(dataset_id)) + "?limit=1000")
    return [{"name": c["name"], "variables": c["variables"]} for c in (got or {}).get("cases", [])]


def _comparable(tests: list[dict[str, Any]]) -> list[Any]:
    return sorted(
        json.dumps([t["name"], t["caseNames"], t["threshold"], len(t["assertions"])], sort_keys=True) for t in tests
    )


def _suite_tests(client: ApiClient, pid: str, suite_id: int) -> tuple[dict[str, Any], list[Any]]:
    got = client.call("GET", client.url("api", "prompts", pid, "eval", "suites", str(suite_id))) or {}
    return got, _comparable(got.get("tests", []))


def _print_import(ctx: Context, done: dict[str, Any]) -> None:
    for verb in ("created", "replaced", "reused"):
        for line in done[verb]:
            ctx.out(f"{verb:9s} {line}")


def _plan(ctx: Context, args: argparse.Namespace) -> Plan:
    try:
        plan = load_plan(Path(args.config), name=getattr(args, "name", None))
    except PromptfooConfigError as err:
        raise CliError(f"{args.config}: {err}") from err
    for warning in plan.warnings:
        ctx.err(f"evalgate: warning: {warning}")
    return plan


def import_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    plan = _plan(ctx, args)
    _print_import(ctx, import_plan(ctx, client, plan))
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
    headers = ["test", *(t["label"][:40] for t in targets)]
    rows = [[t.name[:40], *(_cell(results.get(t.name)) for results in by_target)] for t in plan.tests]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    ctx.out(line)
    ctx.out("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    ctx.out(line)
    for row in rows:
        ctx.out("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    ctx.out(line)


def eval_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    plan = _plan(ctx, args)
    done = import_plan(ctx, client, plan)
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


def _env_float(ctx: Context, name: str, default: float) -> float:
    raw = ctx.env.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        return default


# --- promptfoo's results file ----------------------------------------------------------------------------------


def promptfoo_results(
    plan: Plan, done: dict[str, Any], runs: list[dict[str, Any]], by_target: list[dict[str, dict]]
) -> dict[str, Any]:
    """The shape `promptfoo eval -o results.json` writes (version 3): results[] with prompt, provider, vars,
    response.output, success, score, latencyMs, gradingResult{pass, score, reason, componentResults}, testCase,
    testIdx, promptIdx; stats; the prompts."""
    rows: list[dict[str, Any]] = []
    stats: dict[str, Any] = {
        "successes": 0,
        "failures": 0,
        "errors": 0,
        "tokenUsage": {"prompt": 0, "completion": 0, "total": 0},
    }
    for prompt_idx, (target, results) in enumerate(zip(done["targets"], by_target, strict=True)):
        for test_idx, test in enumerate(plan.tests):
            r = results.get(test.name)
            if r is None:
                continue
            success = r["status"] == "passed"
            key = {"passed": "successes", "failed": "failures"}.get(r["status"], "errors")
            stats[key] += 1
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
            rows.append(
                {
                    "promptIdx": prompt_idx,
                    "testIdx": test_idx,
                    "prompt": {"raw": target["prompt"].template, "label": target["prompt"].label},
                    "provider": {"id": target["provider"].label, "label": target["provider"].label},
                    "vars": test.variables,
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
                    "testCase": {"description": test.description, "vars": test.variables, "assert": test.assertions},
                    "namedScores": {},
                    "failureReason": 0 if success else (2 if r["status"] == "errored" else 1),
                }
            )
    return {
        "evalId": f"evalgate-runs-{'-'.join(str(r['id']) for r in runs)}",
        "results": {
            "version": 3,
            "timestamp": datetime.now(UTC).isoformat(),
            "prompts": [
                {"raw": t["prompt"].template, "label": t["prompt"].label, "provider": t["provider"].label}
                for t in done["targets"]
            ],
            "results": rows,
            "stats": stats,
        },
        "config": {"description": plan.description},
        "shareableUrl": None,
    }
