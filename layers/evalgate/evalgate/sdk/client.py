"""`evalgate.Client`: typed methods for evalgate's public HTTP API, on the CLI's HTTP client (Bearer auth, no
redirects, retries with backoff on 429/5xx and dropped connections, Retry-After honoured)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalgate.cli.client import ApiClient, ApiError, ConnectionFailed
from evalgate.cli.context import CliError, Context

__all__ = ["ApiError", "Client", "ConnectionFailed", "EvalgateError", "GateResult"]

EvalgateError = CliError  # every error the client raises is one (ApiError: the server said no)
RESULTS_PER_REQUEST = 500
SCORE_ITEMS_PER_REQUEST = 50  # the most POST /api/v1/scores takes at once
TERMINAL = frozenset({"completed", "failed", "cancelled", "error"})


@dataclass(frozen=True)
class GateResult:
    """A prompt's quality gate on one run: `verdict` is passed, failed or inconclusive."""

    verdict: str
    passed: bool
    reason: str
    run_id: int
    figures: dict[str, Any] = field(default_factory=dict)
    datasets: dict[str, Any] | None = None  # with a control run: did both read the same dataset versions

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> GateResult:
        return cls(
            verdict=str(body.get("verdict")),
            passed=bool(body.get("passed")),
            reason=str(body.get("reason") or ""),
            run_id=int(body.get("runId") or 0),
            figures=dict(body.get("figures") or {}),
            datasets=body.get("datasets"),
        )


class Client:
    """A client of one evalgate service.

    >>> client = Client("https://evalgate.example.com", api_key="eg_...")   # or EVALGATE_URL / EVALGATE_API_KEY
    >>> for prompt in client.list_prompts(): ...
    >>> run = client.start_run(prompt_id=12, suite_id=3, version_no=7)
    >>> client.wait_for_run(12, run["id"]); client.check_gate(12, run["id"]).verdict
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        ctx = Context.default()
        env = ctx.env
        url = (url or env.get("EVALGATE_URL") or "").strip()
        key = (api_key or env.get("EVALGATE_API_KEY") or "").strip()
        if not url:
            raise EvalgateError("no service URL: pass url= or set EVALGATE_URL")
        if not key:
            raise EvalgateError("no API key: pass api_key= or set EVALGATE_API_KEY")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EvalgateError(f"the URL must be http:// or https://, not {url!r}")
        self._ctx = Context(stdout=sys.stderr, stderr=sys.stderr, env=env, sleep=sleep, secret=key)
        self._http = ApiClient(url, key, self._ctx, timeout=timeout)
        self._http.on_retry = lambda _message: None  # retries are silent in a library
        self.url = url.rstrip("/")

    # -- plumbing -----------------------------------------------------------------------------------
    def _u(self, *segments: object, query: Mapping[str, Any] | None = None) -> str:
        url = self._http.url(*(str(s) for s in segments))
        params = {k: v for k, v in (query or {}).items() if v is not None}
        return url + ("?" + urllib.parse.urlencode(params) if params else "")

    def request(self, method: str, *segments: object, body: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        """Any route: `client.request("GET", "api", "prompts", 12)`; the decoded JSON answer."""
        return self._http.call(method, self._u(*segments, query=query), body)

    def pages(self, *segments: object, items: str = "items", query: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a cursor-paged list, page by page (`nextCursor`)."""
        cursor: str | None = None
        while True:
            page = self.request("GET", *segments, query={**(query or {}), "cursor": cursor})
            yield from page.get(items) or []
            cursor = page.get("nextCursor")
            if not cursor:
                return

    # -- prompts ------------------------------------------------------------------------------------
    def list_prompts(self) -> Iterator[dict[str, Any]]:
        return self.pages("api", "prompts")

    def get_prompt(self, prompt_id: int) -> dict[str, Any]:
        return dict(self.request("GET", "api", "prompts", prompt_id))

    def create_prompt(
        self, name: str, template: str | None = None, model_config: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if template is not None:
            body["template"] = template
        if model_config is not None:
            body["modelConfig"] = dict(model_config)
        return dict(self.request("POST", "api", "prompts", body=body))

    def create_version(
        self, prompt_id: int, template: str, model_config: Mapping[str, Any] | None = None, message: str = ""
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"template": template, "message": message}
        if model_config is not None:
            body["modelConfig"] = dict(model_config)
        return dict(self.request("POST", "api", "prompts", prompt_id, "versions", body=body))

    # -- datasets -----------------------------------------------------------------------------------
    def list_datasets(self, prompt_id: int) -> Iterator[dict[str, Any]]:
        return self.pages("api", "prompts", prompt_id, "eval", "datasets")

    def create_dataset(self, prompt_id: int, name: str, cases: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        body = {"name": name, "cases": [dict(c) for c in cases]}
        return dict(self.request("POST", "api", "prompts", prompt_id, "eval", "datasets", body=body))

    def get_dataset(self, prompt_id: int, dataset_id: int, version: int | None = None) -> dict[str, Any]:
        """The dataset (at `version`, default the latest) with all its cases."""
        segments = ("api", "prompts", prompt_id, "eval", "datasets", dataset_id)
        first = dict(self.request("GET", *segments, query={"version": version, "limit": 1000}))
        cases, cursor = list(first.get("cases") or []), first.get("nextCursor")
        while cursor:
            page = self.request("GET", *segments, query={"version": version, "limit": 1000, "cursor": cursor})
            cases += page.get("cases") or []
            cursor = page.get("nextCursor")
        return {**first, "cases": cases, "nextCursor": None}

    def list_dataset_versions(self, prompt_id: int, dataset_id: int) -> Iterator[dict[str, Any]]:
        """The dataset's versions, newest first: `version`, `contentHash`, `caseCount`, `change`, `createdAt`."""
        return self.pages("api", "prompts", prompt_id, "eval", "datasets", dataset_id, "versions")

    def add_case(self, prompt_id: int, dataset_id: int, case: Mapping[str, Any]) -> dict[str, Any]:
        segments = ("api", "prompts", prompt_id, "eval", "datasets", dataset_id, "cases")
        return dict(self.request("POST", *segments, body=dict(case)))

    # -- suite runs ---------------------------------------------------------------------------------
    def start_run(
        self,
        prompt_id: int,
        suite_id: int,
        version_no: int,
        *,
        dataset_version: int | Mapping[int | str, int] | None = None,
    ) -> dict[str, Any]:
        """Start a suite run; `dataset_version` pins the version of the one dataset it reads (a number), or of some
        of several ({dataset_id: version}; the others read their latest)."""
        body: dict[str, Any] = {"suiteId": suite_id, "versionNo": version_no}
        if isinstance(dataset_version, Mapping):
            body["datasetVersion"] = {str(k): int(v) for k, v in dataset_version.items()}
        elif dataset_version is not None:
            body["datasetVersion"] = dataset_version
        return dict(self.request("POST", "api", "prompts", prompt_id, "eval", "run", body=body))

    def get_run(self, prompt_id: int, run_id: int) -> dict[str, Any]:
        return dict(self.request("GET", "api", "prompts", prompt_id, "eval", "runs", run_id, "status"))

    def run_results(self, prompt_id: int, run_id: int) -> Iterator[dict[str, Any]]:
        return self.pages("api", "prompts", prompt_id, "eval", "runs", run_id, items="results", query={"limit": 500})

    def cancel_run(self, prompt_id: int, run_id: int) -> dict[str, Any]:
        return dict(self.request("POST", "api", "prompts", prompt_id, "eval", "runs", run_id, "cancel"))

    def wait_for_run(
        self, prompt_id: int, run_id: int, *, timeout: float = 1800, interval: float = 1.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(prompt_id, run_id)
            if run.get("status") in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise EvalgateError(f"run {run_id} still {run.get('status')} after {timeout:.0f} s")
            self._ctx.sleep(interval)

    # -- external runs (EvalGuard) ------------------------------------------------------------------
    def create_eval(
        self, name: str, *, prompt_id: int | None = None, model: str = "", metadata: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "model": model, "metadata": dict(metadata or {})}
        if prompt_id is not None:
            body["promptId"] = prompt_id
        return dict(self.request("POST", "api", "v1", "evals", body=body))

    def submit_results(self, run_id: int | str, results: Sequence[Mapping[str, Any]]) -> int:
        """Upload results in batches, each with an Idempotency-Key from its content: a retried batch is stored once."""
        sent = 0
        for start in range(0, len(results), RESULTS_PER_REQUEST):
            batch = [dict(r) for r in results[start : start + RESULTS_PER_REQUEST]]
            raw = json.dumps({"results": batch}, ensure_ascii=False, default=str).encode()
            digest = hashlib.sha256(raw).hexdigest()[:32]
            self._http.send(
                "POST",
                self._u("api", "v1", "evals", run_id, "results"),
                raw,
                {"Idempotency-Key": f"sdk-{run_id}-{start}-{digest}"},
            )
            sent += len(batch)
        return sent

    def complete_eval(self, run_id: int | str, status: str) -> dict[str, Any]:
        """Mark an external run finished: `passed`, `failed` or `error`."""
        return dict(self.request("PATCH", "api", "v1", "evals", run_id, body={"status": status}))

    def eval_stats(self, run_id: int | str, control_run_id: int | None = None) -> dict[str, Any]:
        return dict(self.request("GET", "api", "v1", "evals", run_id, "stats", query={"controlRunId": control_run_id}))

    # -- scoring ------------------------------------------------------------------------------------
    def score(
        self,
        assertions: Sequence[Mapping[str, Any]],
        items: Sequence[Mapping[str, Any]],
        *,
        judge: Mapping[str, Any] | None = None,
        threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        """Score outputs made elsewhere on the server, model-graded assertions included (`judge`: its provider,
        model and params), `SCORE_ITEMS_PER_REQUEST` items per request. Each item is {id, output, expectedOutput?,
        variables?, prompt?, context?, latencyMs?}; the answer is each item's {id, status, score, assertions}."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(items), SCORE_ITEMS_PER_REQUEST):
            body: dict[str, Any] = {
                "assertions": [dict(a) for a in assertions],
                "items": [dict(i) for i in items[start : start + SCORE_ITEMS_PER_REQUEST]],
            }
            if judge is not None:
                body["judge"] = dict(judge)
            if threshold is not None:
                body["threshold"] = threshold
            out += self.request("POST", "api", "v1", "scores", body=body)["results"]
        return out

    # -- the gate -----------------------------------------------------------------------------------
    def get_gate(self, prompt_id: int) -> dict[str, Any]:
        return dict(self.request("GET", "api", "prompts", prompt_id, "eval", "gate"))

    def set_gate(self, prompt_id: int, **settings: Any) -> dict[str, Any]:
        """E.g. `set_gate(12, mode="non-inferiority", margin=0.05, controlRunId=40)` (the API's camelCase names)."""
        return dict(self.request("PUT", "api", "prompts", prompt_id, "eval", "gate", body=settings))

    def check_gate(self, prompt_id: int, run_id: int | None = None) -> GateResult:
        body = {"runId": int(run_id)} if run_id is not None else {}
        return GateResult.of(self.request("POST", "api", "prompts", prompt_id, "eval", "gate", "check", body=body))
