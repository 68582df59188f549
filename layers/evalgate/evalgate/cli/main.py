"""The `evalgate` command line: argument parsing, connection settings, errors → exit codes.

Exit codes: 0 success (gate passed), 1 gate failed, 2 gate inconclusive,
3 usage, connection or server error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import urllib.parse
from pathlib import Path
from typing import NoReturn

from evalgate import __version__
from evalgate.cli import gate, github, promptfoo, submit
from evalgate.cli import run as run_cmd
from evalgate.cli.client import ApiClient
from evalgate.cli.context import CliError, Context, UsageError

EXIT_ERROR = 3
EXIT_INTERRUPTED = 130
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

DESCRIPTION = """\
Talk to an evalgate service over HTTP: check a prompt's quality gate in CI, upload results.

The service URL and API key come from --url/--key or EVALGATE_URL/EVALGATE_API_KEY (the flags win);
prefer the environment for the key, which --key leaves in shell history and process listings."""

EPILOG = """\
exit codes: 0 success / gate passed, 1 gate failed, 2 gate inconclusive,
            3 usage, connection or server error, 130 interrupted

examples:
  evalgate run --prompt 12 --suite 3 --version 7 --markdown report.md --junit gate.xml
  evalgate gate check --prompt pr_123 --junit reports/gate.xml
  evalgate runs submit run_456 results.jsonl --batch-size 500
  evalgate import promptfoo promptfooconfig.yaml
  evalgate eval -c promptfooconfig.yaml -o results.json"""

EVAL_EPILOG = """\
exit codes (as promptfoo's): 0 when the pass rate reaches $PROMPTFOO_PASS_RATE_THRESHOLD (default 100),
else $PROMPTFOO_FAILED_TEST_EXIT_CODE (default 100); 3 for a config, usage, connection or server error"""

GATE_CHECK_EPILOG = """\
exit codes: 0 passed (or inconclusive when allowed), 1 failed, 2 inconclusive, 3 error"""

SUBMIT_EPILOG = f"""\
Each line is one result (input, expectedOutput, actualOutput, score, passed, latency,
tokenUsage, scorerResults, optional id); a result without an id gets `line-<n>`.
A request holds at most --batch-size results and {submit.MAX_REQUEST_BYTES:,} bytes of JSON.
Each batch carries an Idempotency-Key derived from the run, the batch index and the batch
content: a batch sent twice is never stored twice.
Interrupted? Re-run the same command: the state file records the batches already stored."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a UsageError (exit 3), not SystemExit(2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, usage=self.format_usage())


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # on subcommands the default is SUPPRESS, so a value given before the subcommand survives
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=default, help="service base URL (default: $EVALGATE_URL)")
    group.add_argument("--key", default=default, metavar="KEY", help="API key (default: $EVALGATE_API_KEY)")
    group.add_argument(
        "--timeout", type=float, default=60.0 if top else argparse.SUPPRESS, help="seconds per request (default: 60)"
    )


def build_parser() -> Parser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(prog="evalgate", description=DESCRIPTION, epilog=EPILOG, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"evalgate {__version__}")
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    gate_parser = commands.add_parser("gate", help="quality gates", description="Quality gates.")
    gate_commands = gate_parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=Parser)
    check = gate_commands.add_parser(
        "check",
        help="check a run against the prompt's quality gate",
        description="Check a run against the prompt's quality gate (by default the latest completed run).",
        epilog=GATE_CHECK_EPILOG,
        formatter_class=formatter,
    )
    check.add_argument("--prompt", required=True, metavar="ID", help="prompt id")
    check.add_argument("--run", metavar="RUN_ID", help="run id (default: the latest completed run)")
    check.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report to FILE")
    check.add_argument("--allow-inconclusive", action="store_true", help="exit 0 when the verdict is inconclusive")
    _connection_options(check, top=False)
    check.set_defaults(handler=gate.check)

    runs_parser = commands.add_parser("runs", help="evaluation runs", description="Evaluation runs.")
    runs_commands = runs_parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=Parser)
    upload = runs_commands.add_parser(
        "submit",
        help="upload a JSON Lines file of results to a run",
        description="Upload a JSON Lines file of results to a run, in idempotent and resumable batches.",
        epilog=SUBMIT_EPILOG,
        formatter_class=formatter,
    )
    upload.add_argument("run_id", metavar="RUN_ID", help="run id")
    upload.add_argument("file", metavar="RESULTS.jsonl", help="one result (a JSON object) per line")
    upload.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help=f"results per request, 1-{submit.MAX_BATCH_SIZE} (default: {submit.DEFAULT_BATCH_SIZE}, "
        "or the interrupted upload's size when resuming)",
    )
    upload.add_argument(
        "--state-file", metavar="PATH", help="where progress is kept (default: ./.evalgate-submit-<RUN_ID>.json)"
    )
    upload.add_argument(
        "--restart", action="store_true", help="ignore the state of an earlier upload and send every batch"
    )
    _connection_options(upload, top=False)
    upload.set_defaults(handler=submit.submit)

    import_parser = commands.add_parser(
        "import", help="import another tool's config", description="Import another tool's config."
    )
    import_commands = import_parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=Parser)
    imp = import_commands.add_parser(
        "promptfoo",
        help="turn a promptfooconfig.yaml into a prompt, its versions, a dataset and a suite",
        description=promptfoo.__doc__,
        formatter_class=formatter,
    )
    imp.add_argument("config", metavar="CONFIG", help="path of promptfooconfig.yaml")
    imp.add_argument("--name", help="prompt name (default: the config's description)")
    _connection_options(imp, top=False)
    imp.set_defaults(handler=promptfoo.import_command)

    ev = commands.add_parser(
        "eval",
        help="import a promptfoo config, run it on the service and print the results",
        description="Import a promptfoo config, run every prompt x provider on the service, print the results.",
        epilog=EVAL_EPILOG,
        formatter_class=formatter,
    )
    ev.add_argument("-c", "--config", required=True, metavar="CONFIG", help="path of promptfooconfig.yaml")
    ev.add_argument("-o", "--output", metavar="FILE", help="write the results in promptfoo's results JSON shape")
    ev.add_argument("--name", help="prompt name (default: the config's description)")
    ev.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the runs (default: 1800)")
    _connection_options(ev, top=False)
    ev.set_defaults(handler=promptfoo.eval_command)

    exp = commands.add_parser(
        "export",
        help="write a finished run in promptfoo's results JSON shape",
        description="Write a finished suite run (a promptfoo import's included) in the shape "
        "`promptfoo eval -o results.json` writes, for tooling that reads promptfoo's results.",
        formatter_class=formatter,
    )
    exp.add_argument("run_id", metavar="RUN_ID", help="run id")
    exp.add_argument("--prompt", required=True, metavar="ID", help="the run's prompt id")
    exp.add_argument("-o", "--output", metavar="FILE", help="where to write it (default: standard output)")
    _connection_options(exp, top=False)
    exp.set_defaults(handler=promptfoo.export_command)

    run_cmd.add_parser(commands, formatter, _connection_options, Parser)
    github_parser = github.add_parser(commands, formatter, Parser)

    parser.set_defaults(
        subparsers={"gate": gate_parser, "runs": runs_parser, "import": import_parser, "github": github_parser}
    )
    return parser


def connect(ctx: Context, args: argparse.Namespace) -> ApiClient:
    url = (args.url or ctx.env.get("EVALGATE_URL") or "").strip()
    key = (args.key or ctx.env.get("EVALGATE_API_KEY") or "").strip()
    if not url:
        raise UsageError("no service URL: pass --url or set EVALGATE_URL")
    if not key:
        raise UsageError("no API key: set EVALGATE_API_KEY or pass --key")
    ctx.secret = key
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http:// or https:// URL, not {url!r}")
    if parts.query or parts.fragment:
        raise UsageError("--url must not carry a query or a fragment")
    if parts.scheme == "http" and (parts.hostname or "") not in LOCAL_HOSTS:
        ctx.err(f"evalgate: warning: the API key is sent unencrypted over plain http to {parts.hostname}")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    return ApiClient(url, key, ctx, timeout=args.timeout)


def run(argv: list[str], ctx: Context | None = None) -> int:
    """Run one command; returns its exit code (argparse's own exits, for --help, included)."""
    ctx = ctx or Context.default()
    parser = build_parser()
    try:
        try:
            with contextlib.redirect_stdout(ctx.stdout), contextlib.redirect_stderr(ctx.stderr):
                args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, --version
            return exit_.code if isinstance(exit_.code, int) else 0
        handler = getattr(args, "handler", None)
        if handler is None:  # `evalgate`, `evalgate gate`: no (sub)command
            shown = args.subparsers.get(args.command, parser)
            ctx.err(shown.format_help().rstrip())
            return EXIT_ERROR
        if getattr(args, "offline", False):  # talks to GitHub, not to evalgate
            return int(handler(ctx, args))
        client = connect(ctx, args)
        return int(handler(ctx, client, args))
    except UsageError as error:
        if error.usage:
            ctx.err(error.usage.rstrip())
        ctx.err(f"evalgate: error: {error}")
        return EXIT_ERROR
    except CliError as error:
        ctx.err(f"evalgate: error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        ctx.err("evalgate: interrupted")
        return EXIT_INTERRUPTED
