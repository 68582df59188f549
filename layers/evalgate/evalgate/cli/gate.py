"""`evalgate gate check`: ask the service whether a run passes the prompt's quality gate; exit 0/1/2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evalgate.cli import junit
from evalgate.cli.client import ApiClient
from evalgate.cli.context import CliError, Context

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INCONCLUSIVE = 2
VERDICTS = ("passed", "failed", "inconclusive")


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


# said by the verdict line already
_NOT_SHOWN = {"verdict", "allowInconclusive", "runId"}


def format_figures(figures: dict[str, Any], *, compact: bool = True) -> str:
    """`key=value` pairs; compact: scalars only, no nulls, no long texts (the JUnit report has them all)."""
    shown = []
    for key, value in figures.items():
        if compact and (
            key in _NOT_SHOWN
            or value is None
            or isinstance(value, (dict, list))
            or (isinstance(value, str) and len(value) > 32)
        ):
            continue
        shown.append(f"{key}={format_value(value)}")
    return "  ".join(shown)


def parse_verdict(body: Any) -> tuple[str, str, dict[str, Any]]:
    """(verdict, reason, figures) from the response, refusing anything the gate cannot be read from."""
    if not isinstance(body, dict):
        raise CliError("the server's answer to the gate check is not a JSON object")
    verdict = body.get("verdict")
    if verdict is None and isinstance(body.get("passed"), bool):
        verdict = "passed" if body["passed"] else "failed"
    if verdict not in VERDICTS:
        raise CliError(f"the server's gate check answer has no known verdict (verdict={verdict!r})")
    figures = body.get("figures")
    reason = body.get("reason")
    return str(verdict), str(reason) if reason else "(no reason given)", figures if isinstance(figures, dict) else {}


def check(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    prompt_id: str = args.prompt
    name = f"gate check prompt {prompt_id}" + (f" run {args.run}" if args.run else " (latest completed run)")
    # the service's run ids are integers; anything else is sent as given, for the server to refuse
    payload: dict[str, Any] = {}
    if args.run:
        payload["runId"] = int(args.run) if args.run.isascii() and args.run.isdigit() else args.run
    started = ctx.clock()
    try:
        response = client.post_json(
            client.url("api", "prompts", prompt_id, "eval", "gate", "check"),
            json.dumps(payload).encode(),
        )
        verdict, reason, figures = parse_verdict(response.body)
    except CliError as error:
        if args.junit:
            record = junit.CheckRecord(
                name=name,
                outcome="error",
                message=ctx.redact(str(error)),
                seconds=ctx.clock() - started,
                properties={"evalgate.promptId": prompt_id, "evalgate.runId": args.run or ""},
            )
            try:
                _write_junit(ctx, args.junit, record)
            except CliError as junit_error:
                ctx.err(f"evalgate: {junit_error}")
        raise
    seconds = ctx.clock() - started

    run_id = args.run or figures.get("runId") or (response.body or {}).get("runId")
    allowed = bool(args.allow_inconclusive or figures.get("allowInconclusive") is True)
    where = f"prompt {prompt_id}, run {run_id}" if run_id else f"prompt {prompt_id}, latest completed run"
    ctx.out(f"gate check: {verdict.upper()} ({where})")
    ctx.out(f"  reason: {reason}")
    if line := format_figures(figures):
        ctx.out(f"  figures: {line}")
    if verdict == "inconclusive" and allowed:
        source = "--allow-inconclusive" if args.allow_inconclusive else "the gate's allowInconclusive setting"
        ctx.out(f"  inconclusive is allowed ({source}): exit 0")

    if args.junit:
        details = f"{verdict}: {reason}" + (f"\nfigures: {format_figures(figures, compact=False)}" if figures else "")
        record = junit.CheckRecord(
            name=name,
            outcome=verdict,
            message=ctx.redact(reason),
            seconds=seconds,
            details=ctx.redact(details),
            properties={
                "evalgate.promptId": prompt_id,
                "evalgate.runId": run_id or "",
                "evalgate.verdict": verdict,
                **figures,
            },
        )
        _write_junit(ctx, args.junit, record)

    if verdict == "passed":
        return EXIT_PASSED
    if verdict == "failed":
        return EXIT_FAILED
    return EXIT_PASSED if allowed else EXIT_INCONCLUSIVE


def _write_junit(ctx: Context, path: Path, record: junit.CheckRecord) -> None:
    try:
        junit.write(path, [record])
    except OSError as error:
        raise CliError(f"cannot write the JUnit report {path}: {error.strerror or error}") from error
    ctx.err(f"evalgate: JUnit report written to {path}")
