"""`evalgate run`: start a suite run (or an orchestrated eval over a dataset) for a prompt version, follow it with a
progress bar, print the failures, check the gate and exit with its verdict (0 passed, 1 failed, 2 inconclusive,
3 error). Ctrl-C cancels the run on the service."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evalgate.cli import report
from evalgate.cli.client import ApiClient, ApiError
from evalgate.cli.context import CliError, Context, UsageError

EXIT_CODES = {"passed": 0, "failed": 1, "inconclusive": 2, "error": 3}
EXIT_INTERRUPTED = 130
TERMINAL = {"completed", "failed", "cancelled", "error"}
BAR_WIDTH = 28
RESULT_PAGES = 20  # pages of 500 results read for the failures table and the regressions (10,000 cases)


class RunProgress:
    """A redrawn bar on a terminal; otherwise a plain line when the status changes or another tenth is done."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tty = ctx.stderr_is_tty()
        self.last: tuple[str, int] | None = None
        self.drawn = False

    def update(self, status: str, done: int, total: int) -> None:
        if self.tty:
            share = done / total if total else 0.0
            filled = round(share * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.ctx.err(f"\r[{bar}] {done}/{total or '?'} cases  {status}\x1b[K", end="")
            self.drawn = True
            return
        tenth = (10 * done // total) if total else 0
        if self.last != (status, tenth):
            self.ctx.err(f"evalgate: run {status}: {done}/{total or '?'} cases")
            self.last = (status, tenth)

    def finish(self) -> None:
        if self.tty and self.drawn:
            self.ctx.err("")
            self.drawn = False


def _read_template(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the template file {path}: {error.strerror or error}") from error


def start(ctx: Context, client: ApiClient, args: argparse.Namespace) -> tuple[int, int | None]:
    """Create the run; (run id, prompt version it tests)."""
    prompt = args.prompt
    version = args.version
    if args.template:
        template = _read_template(args.template)
        # the new version keeps the model settings of the latest one: only the template changes
        latest = client.call("GET", client.url("api", "prompts", prompt))["latestVersion"]
        body: dict[str, Any] = {"template": template, "message": args.message or "evalgate run --template"}
        if latest:
            base = client.call("GET", client.url("api", "prompts", prompt, "versions", str(latest)))
            body["modelConfig"] = base.get("modelConfig") or {}
        created = client.call("POST", client.url("api", "prompts", prompt, "versions"), body)
        version = int(created["versionNo"])
        ctx.err(f"evalgate: created version {version} of prompt {prompt} from {args.template}")
    if args.suite:
        if version is None:
            raise UsageError("give --version N or --template FILE: the prompt version to run")
        body = {"suiteId": int(args.suite), "versionNo": int(version)}
        if args.dataset_version:
            body["datasetVersion"] = _dataset_versions(args.dataset_version)
        run = client.call("POST", client.url("api", "prompts", prompt, "eval", "run"), body)
        return int(run["id"]), version
    scorers: list[Any] = [_scorer(s) for s in args.scorer or []]
    if not scorers:
        raise UsageError("an eval over a dataset needs at least one --scorer (e.g. --scorer contains:Hello)")
    body = {"name": args.name or f"evalgate run prompt {prompt}", "promptId": int(prompt), "datasetId": args.dataset}
    body["scorers"] = scorers
    if version is not None:
        body["promptVersion"] = int(version)
    if args.dataset_version:
        pinned = _dataset_versions(args.dataset_version)
        if not isinstance(pinned, int):
            raise UsageError("with --dataset, --dataset-version is one number N (the eval reads one dataset)")
        body["datasetVersion"] = pinned
    run = client.call("POST", client.url("api", "v1", "evals"), body)
    return int(run["id"]), version


def _dataset_versions(values: list[str]) -> int | dict[str, int]:
    """`--dataset-version N` (the one dataset the run reads) or `--dataset-version ID=N` repeated (several)."""
    if len(values) == 1 and values[0].strip().isdigit():
        return int(values[0])
    pins: dict[str, int] = {}
    for value in values:
        dataset, _, number = value.partition("=")
        if not (dataset.strip().isdigit() and number.strip().isdigit()):
            raise UsageError(f"--dataset-version {value!r}: give N, or DATASET_ID=N for each of several datasets")
        pins[dataset.strip()] = int(number)
    return pins


def _scorer(text: str) -> Any:
    """`TYPE` or `TYPE:VALUE` (e.g. `contains:Hello`), or a JSON object."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise UsageError(f"--scorer {text!r} is not valid JSON") from error
    kind, sep, value = text.partition(":")
    return {"type": kind, "value": value} if sep else kind


def follow(ctx: Context, client: ApiClient, prompt: str, run_id: int, *, interval: float, wait: float) -> dict:
    """Poll the run until it ends; Ctrl-C cancels it on the service (then KeyboardInterrupt goes on)."""
    progress = RunProgress(ctx)
    url = client.url("api", "prompts", prompt, "eval", "runs", str(run_id), "status")
    started = ctx.clock()
    try:
        while True:
            run = client.call("GET", url)
            status = str(run.get("status"))
            done = int((run.get("progress") or {}).get("done") or 0)
            total = int((run.get("progress") or {}).get("total") or 0)
            progress.update(status, done, total)
            if status in TERMINAL:
                progress.finish()
                return dict(run)
            if ctx.clock() - started > wait:
                progress.finish()
                raise CliError(f"run {run_id} still {status} after {wait:.0f} s (--wait); it goes on on the service")
            ctx.sleep(interval)
    except KeyboardInterrupt:
        progress.finish()
        ctx.err(f"evalgate: interrupted: cancelling run {run_id}")
        try:
            client.call("POST", client.url("api", "prompts", prompt, "eval", "runs", str(run_id), "cancel"))
            ctx.err(f"evalgate: run {run_id} cancelled")
        except CliError as error:
            ctx.err(f"evalgate: could not cancel run {run_id}: {error}")
        raise


def results_of(client: ApiClient, prompt: str, run_id: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(RESULT_PAGES):
        url = client.url("api", "prompts", prompt, "eval", "runs", str(run_id)) + "?limit=500"
        if cursor:
            url += "&cursor=" + cursor
        page = client.call("GET", url)
        out += page.get("results") or []
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return out


def _key(result: dict[str, Any]) -> str:
    """A case's identity across two runs: its name, repeat and content (a case edited since is another case)."""
    content = json.dumps([result.get("variables"), result.get("expectedOutput")], sort_keys=True)
    return f"{result.get('caseName') or result.get('name')}#{result.get('repeat', 0)}#{content}"


def _why(result: dict[str, Any]) -> str:
    if result.get("error"):
        return str(result["error"])
    for a in result.get("assertions") or []:
        if a.get("status") != "passed":
            return f"{a.get('operator')}: {a.get('reason') or a.get('status')}"
    return str(result.get("status"))


def _row(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": result.get("caseName") or result.get("name"),
        "status": result.get("status"),
        "score": result.get("score"),
        "why": _why(result),
    }


def summarize(
    client: ApiClient, prompt: str, run: dict[str, Any], gate: dict[str, Any], control: int | None
) -> dict[str, Any]:
    """The JSON summary every output is made from."""
    run_id = int(run["id"])
    stats_url = client.url("api", "v1", "evals", str(run_id), "stats")
    if control is not None and control != run_id:
        stats_url += f"?controlRunId={control}"
    stats = client.call("GET", stats_url)
    results = results_of(client, prompt, run_id)
    failures = [_row(r) for r in results if r.get("status") != "passed"]
    regressions: list[dict[str, Any]] = []
    comparison = stats.get("comparison")
    if comparison and control is not None:
        before = {_key(r): r for r in results_of(client, prompt, control)}
        regressions = [
            _row(r)
            for r in results
            if r.get("status") != "passed" and (before.get(_key(r)) or {}).get("status") == "passed"
        ]
    return {
        "prompt": int(prompt) if str(prompt).isdigit() else prompt,
        "run": {
            "id": run_id,
            "status": run.get("status"),
            "versionNo": run.get("versionNo"),
            "configHash": run.get("configHash"),
            "datasetVersions": run.get("datasetVersions") or {},
        },
        "stats": {
            "count": stats.get("count"),
            "passed": stats.get("passed"),
            "failed": stats.get("failed"),
            "errors": stats.get("errors"),
            "passRate": (stats.get("passRate") or {}).get("value"),
            "score": (stats.get("score") or {}).get("mean"),
        },
        "comparison": comparison,
        "gate": gate,
        "verdict": gate.get("verdict", "error"),
        "failures": failures[:100],
        "failureCount": len(failures),
        "regressions": regressions[:100],
    }


def _write(ctx: Context, path: Path, data: bytes, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write the {what} {path}: {error.strerror or error}") from error
    ctx.err(f"evalgate: {what} written to {path}")


def write_outputs(ctx: Context, args: argparse.Namespace, summary: dict[str, Any]) -> None:
    if args.json:
        _write(ctx, args.json, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode(), "JSON summary")
    if args.markdown:
        _write(ctx, args.markdown, report.render_markdown(summary).encode(), "Markdown report")
    if args.junit:
        _write(ctx, args.junit, report.render_junit(summary), "JUnit report")


def run_command(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    if bool(args.suite) == bool(args.dataset):
        raise UsageError("give exactly one of --suite ID (a suite run) or --dataset ID (an eval over a dataset)")
    if args.version is not None and args.template:
        raise UsageError("give --version or --template, not both")
    prompt = str(args.prompt)
    run_id, _ = start(ctx, client, args)
    ctx.err(f"evalgate: started run {run_id} of prompt {prompt}")
    try:
        run = follow(ctx, client, prompt, run_id, interval=args.interval, wait=args.wait)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    status = str(run.get("status"))
    gate: dict[str, Any]
    if status != "completed":
        gate = {"verdict": "error", "reason": f"run {run_id} ended {status}: {run.get('error') or 'no reason given'}"}
    else:
        try:
            gate = client.call("POST", client.url("api", "prompts", prompt, "eval", "gate", "check"), {"runId": run_id})
        except ApiError as error:
            gate = {"verdict": "error", "reason": f"the gate check failed: {error}"}
    control = args.control
    if control is None:
        settings = client.call("GET", client.url("api", "prompts", prompt, "eval", "gate"))
        control = settings.get("controlRunId")
    summary = summarize(client, prompt, run, gate, control)
    stats = summary["stats"]
    ctx.out(
        f"run {run_id}: {status}, {stats['passed']}/{stats['count']} passed"
        + (f", pass rate {100 * stats['passRate']:.1f}%" if isinstance(stats["passRate"], float | int) else "")
        + (f", mean score {stats['score']:.3f}" if isinstance(stats["score"], float | int) else "")
    )
    comparison: dict[str, Any] | None = summary["comparison"]
    if comparison:
        rate = comparison.get("passRate") or {}
        delta = rate.get("delta")
        ctx.out(
            f"vs control run {comparison.get('controlRunId')}: {comparison.get('verdict')}"
            + (f", pass rate {100 * delta:+.1f} pts" if isinstance(delta, float | int) else "")
            + f" over {comparison.get('sharedCases')} shared cases"
        )
    datasets: dict[str, Any] | None = gate.get("datasets") or (comparison or {}).get("datasets")
    if datasets and not datasets.get("same"):
        ctx.out(f"note: {datasets.get('message')}")
    if summary["failures"]:
        ctx.out("")
        ctx.out(f"failures ({summary['failureCount']}):")
        for line in report.render_table(summary["failures"][: args.max_failures]):
            ctx.out("  " + line)
        if summary["failureCount"] > args.max_failures:
            ctx.out(f"  ...and {summary['failureCount'] - args.max_failures} more")
        ctx.out("")
    verdict = str(gate.get("verdict"))
    ctx.out(f"gate: {verdict.upper()}: {gate.get('reason')}")
    write_outputs(ctx, args, summary)
    allowed = args.allow_inconclusive or (gate.get("figures") or {}).get("allowInconclusive") is True
    if verdict == "inconclusive" and allowed:
        return 0
    return EXIT_CODES.get(verdict, 3)


def add_parser(commands: Any, formatter: Any, connection_options: Any, parser_class: Any) -> None:
    p = commands.add_parser(
        "run",
        help="run a suite (or a dataset) for a prompt version, then check the gate",
        description=__doc__,
        epilog="exit codes: 0 passed, 1 failed, 2 inconclusive, 3 error, 130 interrupted (the run is cancelled)",
        formatter_class=formatter,
    )
    p.add_argument("--prompt", required=True, metavar="ID", help="prompt id")
    p.add_argument("--suite", metavar="ID", help="suite to run")
    p.add_argument("--dataset", type=int, metavar="ID", help="run this dataset of the prompt as an orchestrated eval")
    p.add_argument("--scorer", action="append", metavar="TYPE[:VALUE]", help="with --dataset: an assertion (repeat)")
    p.add_argument("--version", type=int, metavar="N", help="prompt version to test")
    p.add_argument("--template", metavar="FILE", help="create a new prompt version from this template file and test it")
    p.add_argument("--message", help="with --template: the new version's message")
    p.add_argument(
        "--dataset-version",
        action="append",
        metavar="N|ID=N",
        help="pin the dataset version (default: the latest); over several datasets, ID=N per dataset (repeat)",
    )
    p.add_argument("--control", type=int, metavar="RUN_ID", help="compare with this run (default: the gate's control)")
    p.add_argument("--name", help="with --dataset: the eval's name")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON summary")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="write the Markdown report (a PR comment)")
    p.add_argument("--allow-inconclusive", action="store_true", help="exit 0 when the verdict is inconclusive")
    p.add_argument("--max-failures", type=int, default=20, metavar="N", help="failures shown (default: 20)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between two polls (default: 1)")
    p.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the run (default: 1800)")
    connection_options(p, top=False)
    p.set_defaults(handler=run_command)
