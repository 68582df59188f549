"""What the Humanloop-compatible services share: limits, status words, ids, run views, prompt lookups."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalgate.errors import InvalidInput, NotFound
from evalgate.models.domain import (
    Dataset,
    Principal,
    Prompt,
    PromptVersion,
    Run,
    RunStatus,
)
from evalgate.models.evaluations import Evaluation, EvaluationRun
from evalgate.services.container import container

MAX_EVALUATORS = 25
MAX_ASSERTION_BYTES = 10_000
MAX_RUNS = 200
OPEN = (RunStatus.pending, RunStatus.queued, RunStatus.running)
EVALUATION_ID = re.compile(r"^evr_[0-9a-f]{20}$")

# our lifecycle -> Humanloop's four statuses: a run that failed or errored has finished (nothing more will
# happen to it), so it reads as completed; `evalgate_status` in the run shape tells the two apart.
HUMANLOOP_STATUS: dict[RunStatus, str] = {
    RunStatus.pending: "pending",
    RunStatus.queued: "pending",
    RunStatus.running: "running",
    RunStatus.completed: "completed",
    RunStatus.failed: "completed",
    RunStatus.error: "completed",
    RunStatus.cancelled: "cancelled",
}


def humanloop_status(run: Run) -> str:
    return HUMANLOOP_STATUS[run.status]


@dataclass
class RunView:
    """A run as one evaluation sees it."""

    run: Run
    member: EvaluationRun
    control: bool
    prompt: Prompt | None
    version: PromptVersion | None
    dataset: Dataset | None


# -- ids ---------------------------------------------------------------------------------------------
def new_evaluation_id() -> str:
    """`evr_` + the creation time in ms (12 hex digits) + 8 random hex digits: ids sort by creation."""
    return f"evr_{int(time.time() * 1000):012x}{secrets.token_hex(4)}"


def parse_evaluation_id(raw: str) -> str:
    if not EVALUATION_ID.match(raw):
        raise NotFound(f"evaluation {raw} not found")
    return raw


def parse_run_id(raw: str) -> int:
    """Run ids are our integer run ids, as strings; anything else names no run."""
    if not raw.isdigit() or len(raw) > 16:
        raise NotFound(f"run {raw} not found")
    return int(raw)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prompt_of_file(principal: Principal, file: dict[str, Any]) -> Prompt:
    """Humanloop's `file`: `id` is one of our prompt ids, `path` a prompt name."""
    c = container()
    file_id, path = file.get("id"), file.get("path")
    if file_id is not None:
        if not str(file_id).isdigit() or len(str(file_id)) > 16:
            raise InvalidInput(f"file {file_id} not found: file.id is the id of one of your prompts", field="file.id")
        try:
            prompt = c.prompts.get_prompt(principal.project_id, int(file_id))
        except NotFound as exc:
            raise InvalidInput(f"file {file_id} not found: no such prompt", field="file.id") from exc
        if path is not None and path != prompt.name:
            raise InvalidInput(f"prompt {file_id} is named {prompt.name!r}, not {path!r}", field="file.path")
        return prompt
    matches = [p for p in all_prompts(principal) if p.name == path]
    if not matches:
        raise InvalidInput(f"file {path!r} not found: no prompt has that name", field="file.path")
    if len(matches) > 1:
        raise InvalidInput(f"{len(matches)} prompts are named {path!r}: give file.id instead", field="file.path")
    return matches[0]


def all_prompts(principal: Principal) -> list[Prompt]:
    c = container()
    out: list[Prompt] = []
    cursor = None
    while True:
        page = c.prompts.list_prompts(principal.project_id, limit=100, cursor=cursor)
        out += page.items
        cursor = page.next_cursor
        if not cursor:
            return out


class Lookups:
    """Prompts, versions and datasets read once per request."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.cache: dict[tuple[str, int, int], Any] = {}

    def _get(self, key: tuple[str, int, int], load: Callable[[], Any]) -> Any:
        if key not in self.cache:
            try:
                self.cache[key] = load()
            except NotFound:
                self.cache[key] = None
        return self.cache[key]

    def view(self, ev: Evaluation, member: EvaluationRun, run: Run) -> RunView:
        c = container()
        pid = self.principal.project_id
        prompt = version = dataset = None
        if run.prompt_id is not None:
            prompt_id = run.prompt_id
            prompt = self._get(("p", prompt_id, 0), lambda: c.prompts.get_prompt(pid, prompt_id))
            if prompt is not None and run.version_no is not None:
                version_no = run.version_no
                version = self._get(
                    ("v", prompt_id, version_no), lambda: c.prompts.get_version(pid, prompt_id, version_no)
                )
            if member.dataset_id is not None:
                dataset_id = member.dataset_id
                dataset = self._get(
                    ("d", prompt_id, dataset_id), lambda: c.datasets.get_dataset(pid, prompt_id, dataset_id)
                )
        return RunView(run, member, ev.control_run_id == run.id, prompt, version, dataset)
