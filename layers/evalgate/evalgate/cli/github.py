"""`evalgate github report`: publish an `evalgate run --markdown` report from a GitHub Actions job: append it to the
job summary ($GITHUB_STEP_SUMMARY) and, on a pull request, post it as a comment, or update the comment an earlier
run posted (found by the report's hidden marker line), so a pull request carries one comment per prompt.

Reads GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH (the pull request's number), GITHUB_REPOSITORY, GITHUB_API_URL
(default https://api.github.com) and GITHUB_TOKEN; without a token or outside a pull request it only writes the
summary."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from evalgate.cli.client import ApiClient
from evalgate.cli.context import CliError, Context, UsageError

MARKER = re.compile(r"<!-- evalgate-report [^>]*-->")
MAX_PAGES = 30  # 3,000 comments
MAX_BODY = 65_000  # GitHub refuses comments over 65,536 characters


def pull_request_number(ctx: Context) -> int | None:
    path = ctx.env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read the GitHub event {path}: {error}") from error
    pr = event.get("pull_request") or (event.get("issue") if (event.get("issue") or {}).get("pull_request") else None)
    number = (pr or {}).get("number")
    return int(number) if isinstance(number, int) else None


def find_comment(api: ApiClient, repo: str, number: int, marker: str) -> int | None:
    for page in range(1, MAX_PAGES + 1):
        url = api.url("repos", *repo.split("/"), "issues", str(number), "comments") + f"?per_page=100&page={page}"
        comments = api.call("GET", url) or []
        for comment in comments:
            if marker in str(comment.get("body") or ""):
                return int(comment["id"])
        if len(comments) < 100:
            return None
    return None


def publish(ctx: Context, markdown: str) -> str:
    """Write the summary and post or update the comment; what was done, in words."""
    done = []
    summary = ctx.env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown.rstrip("\n") + "\n\n")
        done.append("job summary written")
    number = pull_request_number(ctx)
    token = ctx.env.get("GITHUB_TOKEN", "").strip()
    repo = ctx.env.get("GITHUB_REPOSITORY", "")
    if number is None or not token or "/" not in repo:
        why = "not a pull request" if number is None else "no GITHUB_TOKEN" if not token else "no GITHUB_REPOSITORY"
        done.append(f"no comment ({why})")
        return ", ".join(done)
    found = MARKER.search(markdown)
    if not found:
        raise UsageError("the report has no evalgate marker line: make it with `evalgate run --markdown`")
    body = markdown if len(markdown) <= MAX_BODY else markdown[: MAX_BODY - 40] + "\n\n…(cut: the report is too long)\n"
    ctx.secret = token
    api = ApiClient(ctx.env.get("GITHUB_API_URL") or "https://api.github.com", token, ctx)
    existing = find_comment(api, repo, number, found.group(0))
    owner, name = repo.split("/", 1)
    if existing is None:
        api.call("POST", api.url("repos", owner, name, "issues", str(number), "comments"), {"body": body})
        done.append(f"comment posted on #{number}")
    else:
        api.call("PATCH", api.url("repos", owner, name, "issues", "comments", str(existing)), {"body": body})
        done.append(f"comment {existing} updated on #{number}")
    return ", ".join(done)


def report_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        markdown = Path(args.markdown).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the report {args.markdown}: {error.strerror or error}") from error
    ctx.err(f"evalgate: {publish(ctx, markdown)}")
    return 0


def add_parser(commands: Any, formatter: Any, parser_class: Any) -> Any:
    gh = commands.add_parser("github", help="GitHub Actions helpers", description="GitHub Actions helpers.")
    sub = gh.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=parser_class)
    p = sub.add_parser(
        "report",
        help="write a run report to the job summary and post or update the pull request comment",
        description=__doc__,
        formatter_class=formatter,
    )
    p.add_argument("--markdown", required=True, metavar="FILE", help="the report from `evalgate run --markdown`")
    p.set_defaults(handler=report_command, offline=True)
    return gh
