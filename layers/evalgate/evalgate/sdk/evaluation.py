"""`evalgate.evaluate`: run your own function over a dataset locally, score each output with evalgate's assertion
types (the deterministic ones locally; with a model-graded one such as `llm-rubric`, `factuality` or `similar`, all
of them on the server, `POST /api/v1/scores`, with the `judge` you name) or your own Python scorers, upload the
results as an external run, and get the run back with its statistics and the prompt's gate verdict.

    import evalgate

    result = evalgate.evaluate(
        [{"input": "2+2", "expected": "4"}, {"input": "capital of France", "expected": "Paris"}],
        task=lambda question: my_llm_app(question),
        scorers=["contains", {"type": "max-length", "value": 200}, lambda output, case: len(output) < 500],
        prompt_id=12,                       # the gate of this prompt decides
    )
    graded = evalgate.evaluate(
        data, task=my_llm_app,
        scorers=[{"type": "llm-rubric", "value": "answers the question politely"}],
        judge={"provider": "openai", "model": "gpt-4o-mini"},   # scored on the server
    )
    print(result.pass_rate, result.gate.verdict if result.gate else None)
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TextIO

from evalgate.scoring import TYPES, CaseOutput, validate_assertions
from evalgate.scoring import evaluate as score_output
from evalgate.sdk.client import SCORE_ITEMS_PER_REQUEST, Client, EvalgateError, GateResult

Scorer = str | Mapping[str, Any] | Callable[..., Any]
BAR_WIDTH = 28


@dataclass
class CaseResult:
    """One case: what the task returned (or raised) and how it scored."""

    id: str
    input: Any
    expected: Any
    output: Any
    status: str  # passed | failed | errored
    score: float | None
    latency_ms: float
    error: str | None = None
    scorers: dict[str, Any] = field(default_factory=dict)
    parts: list[tuple[float | None, str]] = field(default_factory=list, repr=False)  # (score, status) per scorer

    def add_verdict(self, verdict: Mapping[str, Any]) -> None:
        """The assertions' verdict (local or from the server: {status, score, assertions}) joins the case's."""
        for a in verdict.get("assertions") or []:
            name = a.get("metric") or a.get("operator")
            entry: dict[str, Any] = {"score": a.get("score"), "passed": a.get("status") == "passed"}
            entry["reason"] = a.get("reason")
            if a.get("status") == "errored":
                entry = {"score": None, "error": a.get("reason")}
            self.scorers[str(name)] = entry
        self.parts.append((float(verdict["score"]), str(verdict["status"])))

    def finish(self) -> CaseResult:
        """Status and score from the parts: errored if one errored, failed if one failed; the mean score."""
        if self.status == "errored" and not self.parts:
            return self  # the task raised
        statuses = [status for _, status in self.parts]
        scores = [score for score, _ in self.parts if score is not None]
        self.status = "errored" if "errored" in statuses else ("failed" if "failed" in statuses else "passed")
        self.score = round(sum(scores) / len(scores), 6) if scores else 1.0
        if self.status == "errored" and self.error is None:
            errors = [str(v["error"]) for v in self.scorers.values() if isinstance(v, dict) and v.get("error")]
            self.error = "; ".join(errors)[:2000] or "a scorer errored"
        return self

    def to_result(self) -> dict[str, Any]:
        """The EvalGuard result evalgate stores (an errored case sends neither a score nor a pass/fail)."""
        out: dict[str, Any] = {
            "id": self.id,
            "caseId": self.id,
            "input": self.input,
            "expectedOutput": self.expected,
            "actualOutput": self.output,
            "latency": round(self.latency_ms, 3),
            "scorerResults": self.scorers,
        }
        if self.status == "errored":
            out["error"] = self.error
        else:
            out["score"] = self.score
            out["passed"] = self.status == "passed"
        return out


@dataclass
class EvaluationResult:
    """What `evaluate` returns: every case, the uploaded run's id and statistics, and the gate's verdict."""

    name: str
    cases: list[CaseResult]
    run_id: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    gate: GateResult | None = None

    @property
    def passed(self) -> int:
        return sum(c.status == "passed" for c in self.cases)

    @property
    def errors(self) -> int:
        return sum(c.status == "errored" for c in self.cases)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.cases) if self.cases else 0.0

    @property
    def verdict(self) -> str:
        """The gate's verdict when it was checked; else passed when every case passed."""
        if self.gate is not None:
            return self.gate.verdict
        return "passed" if self.cases and self.passed == len(self.cases) else "failed"


def _case(i: int, item: Any) -> tuple[str, Any, Any, dict[str, Any]]:
    """(id, input, expected, variables) of one data item: a mapping (input / expected or expectedOutput / id or
    name / variables) or any value (the input itself)."""
    if not isinstance(item, Mapping):
        return f"case-{i + 1}", item, None, {}
    variables = dict(item.get("variables") or {})
    value = item.get("input", variables if variables else None)
    expected = item.get("expected", item.get("expectedOutput", item.get("expected_output")))
    ident = item.get("id", item.get("name", f"case-{i + 1}"))
    if not variables and isinstance(value, Mapping):
        variables = dict(value)
    variables.setdefault("input", value if isinstance(value, str) else json.dumps(value, default=str))
    return str(ident), value, expected, variables


def _split_scorers(scorers: Sequence[Scorer]) -> tuple[list[dict[str, Any]], list[tuple[str, Callable[..., Any]]]]:
    assertions: list[dict[str, Any]] = []
    functions: list[tuple[str, Callable[..., Any]]] = []
    for i, s in enumerate(scorers):
        if callable(s):
            functions.append((getattr(s, "__name__", f"scorer_{i}").replace("<lambda>", f"scorer_{i}"), s))
        elif isinstance(s, str):
            assertions.append({"type": s})
        elif isinstance(s, Mapping):
            assertions.append(dict(s))
        else:
            raise TypeError(f"scorers[{i}] must be an assertion type, an assertion object or a function")
    normalized = validate_assertions(assertions, field="scorers") if assertions else []
    return normalized, functions


def _needs_model(assertions: list[dict[str, Any]]) -> bool:
    """A model-graded assertion (a judge or embeddings) is scored on the server; then all of them are."""
    return any(TYPES[a["type"]].judge or TYPES[a["type"]].embedder for a in assertions)


def _call_scorer(fn: Callable[..., Any], output: Any, case: dict[str, Any]) -> Any:
    """A Python scorer gets (output), (output, expected) or (output, case), by the number of its parameters."""
    try:
        params = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = 2
    if params <= 1:
        return fn(output)
    second = case if (list(inspect.signature(fn).parameters)[1] in ("case", "item", "row")) else case.get("expected")
    return fn(output, second)


def _texts(output: Any, expected: Any) -> tuple[str, str | None]:
    text = output if isinstance(output, str) else json.dumps(output, default=str)
    exp = expected if expected is None or isinstance(expected, str) else json.dumps(expected, default=str)
    return text, exp


def _score(
    case_id: str,
    value: Any,
    expected: Any,
    variables: dict[str, Any],
    output: Any,
    latency_ms: float,
    assertions: list[dict[str, Any]],
    functions: list[tuple[str, Callable[..., Any]]],
) -> CaseResult:
    """The case with its local scores: the assertions given (deterministic ones) and the Python scorers."""
    case = CaseResult(case_id, value, expected, output, "passed", None, latency_ms)
    if assertions:
        text, exp = _texts(output, expected)
        case_output = CaseOutput(output=text, expected=exp, variables=variables, latency_ms=latency_ms)
        case.add_verdict(score_output(assertions, case_output).to_dict())
    for name, fn in functions:
        try:
            raw = _call_scorer(fn, output, {"id": case_id, "input": value, "expected": expected, "output": output})
        except Exception as error:  # a scorer that raises errors the case, it does not stop the run
            case.scorers[name] = {"score": None, "error": f"{type(error).__name__}: {error}"}
            case.parts.append((None, "errored"))
            continue
        score = (1.0 if raw else 0.0) if isinstance(raw, bool) or raw is None else float(raw)
        passed = bool(raw) if isinstance(raw, bool) else score >= 0.5
        case.scorers[name] = {"score": score, "passed": passed}
        case.parts.append((score, "passed" if passed else "failed"))
    return case


def _score_remotely(
    client: Client,
    cases: list[CaseResult],
    variables: dict[str, dict[str, Any]],
    assertions: list[dict[str, Any]],
    judge: Mapping[str, Any] | None,
    max_concurrency: int,
) -> None:
    """The assertions of every case the task answered, on the server (`POST /api/v1/scores`), a few requests at
    once; a request that fails errors its cases (with the reason) and the run goes on."""
    answered = [c for c in cases if not (c.status == "errored" and not c.parts and c.error is not None)]
    chunks = [answered[i : i + SCORE_ITEMS_PER_REQUEST] for i in range(0, len(answered), SCORE_ITEMS_PER_REQUEST)]

    def send(chunk: list[CaseResult]) -> None:
        items = []
        for c in chunk:
            text, exp = _texts(c.output, c.expected)
            item: dict[str, Any] = {"id": c.id, "output": text, "variables": variables[c.id]}
            item["latencyMs"] = round(c.latency_ms, 3)
            if exp is not None:
                item["expectedOutput"] = exp
            prompt = variables[c.id].get("input")
            if isinstance(prompt, str):
                item["prompt"] = prompt
            items.append(item)
        try:
            verdicts = {v["id"]: v for v in client.score(assertions, items, judge=judge)}
        except EvalgateError as error:  # the server refused or could not be reached: these cases error
            for c in chunk:
                c.scorers["assertions"] = {"score": None, "error": f"scoring on the server failed: {error}"}
                c.parts.append((None, "errored"))
            return
        for c in chunk:
            c.add_verdict(verdicts[c.id])

    with ThreadPoolExecutor(max_workers=max(1, min(4, max_concurrency, len(chunks) or 1))) as pool:
        list(pool.map(send, chunks))


class _Bar:
    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.every = max(1, total // 10)

    def step(self) -> None:
        self.done += 1
        if self.stream is None:
            return
        if self.tty:
            filled = round(self.done / self.total * BAR_WIDTH) if self.total else BAR_WIDTH
            self.stream.write(f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total}\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        elif self.done % self.every == 0 or self.done == self.total:
            self.stream.write(f"evalgate: {self.done}/{self.total} cases\n")
        self.stream.flush()


def evaluate(
    data: Iterable[Any],
    task: Callable[[Any], Any],
    scorers: Sequence[Scorer],
    *,
    name: str = "evalgate.evaluate",
    prompt_id: int | None = None,
    client: Client | None = None,
    upload: bool = True,
    max_concurrency: int = 8,
    control_run_id: int | None = None,
    check_gate: bool = True,
    metadata: Mapping[str, Any] | None = None,
    progress: bool | TextIO = True,
    judge: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Run `task` on each item's input (at most `max_concurrency` at once), score the outputs, upload them as an
    external run (unless `upload=False`) and, with a `prompt_id`, check that prompt's gate on it.

    A task that raises marks its case errored (the error is kept) and the run goes on. Scorers: evalgate
    assertion types by name or object (`"is-json"`, `{"type": "contains", "value": "{{expected}}"}`; an
    assertion without a value compares with the case's expected output), or Python functions taking
    (output), (output, expected) or (output, case) and returning a bool or a score in [0, 1].

    Model-graded assertions (`llm-rubric`, `factuality`, `similar`, …) are scored on the server by the model
    `judge` names ({"provider": ..., "model": ..., "params": {...}}), and then so are the other assertions (one
    verdict per case, the server's); an assertion the judge could not grade errors its case, with the reason."""
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    assertions, functions = _split_scorers(scorers)
    if not assertions and not functions:
        raise ValueError("give at least one scorer")
    remote = _needs_model(assertions)
    if remote and judge is None:
        graded = next(a["type"] for a in assertions if TYPES[a["type"]].judge or TYPES[a["type"]].embedder)
        raise EvalgateError(
            f"the {graded!r} assertion needs a model: pass judge={{'provider': ..., 'model': ...}} "
            "(it is scored on the server)"
        )
    if remote:
        client = client or Client()
    items = [_case(i, item) for i, item in enumerate(data)]
    seen: set[str] = set()
    for case_id, *_ in items:
        if case_id in seen:
            raise ValueError(f"two cases have the id {case_id!r}: ids pair results with the control run")
        seen.add(case_id)
    stream: TextIO | None = sys.stderr if progress is True else (progress or None)
    bar = _Bar(len(items), stream)

    def one(item: tuple[str, Any, Any, dict[str, Any]]) -> CaseResult:
        case_id, value, expected, variables = item
        started = time.perf_counter()
        try:
            output = task(value)
        except Exception as error:  # the case errors; the run goes on
            latency = (time.perf_counter() - started) * 1000
            why = f"{type(error).__name__}: {error}"
            return CaseResult(case_id, value, expected, None, "errored", None, latency, why)
        latency = (time.perf_counter() - started) * 1000
        local = [] if remote else assertions
        return _score(case_id, value, expected, variables, output, latency, local, functions)

    results: dict[int, CaseResult] = {}
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="evalgate") as pool:
        futures = {pool.submit(one, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.step()
    cases = [results[i] for i in range(len(items))]
    if remote:
        assert client is not None
        _score_remotely(client, cases, {i[0]: i[3] for i in items}, assertions, judge, max_concurrency)
    outcome = EvaluationResult(name=name, cases=[c.finish() for c in cases])
    if not upload:
        return outcome
    client = client or Client()
    run = client.create_eval(name, prompt_id=prompt_id, metadata={"source": "evalgate.evaluate", **(metadata or {})})
    run_id = int(run["id"])
    client.submit_results(run_id, [c.to_result() for c in outcome.cases])
    client.complete_eval(run_id, "passed" if outcome.passed == len(outcome.cases) else "failed")
    outcome.run_id = run_id
    if prompt_id is not None and control_run_id is None:
        control_run_id = client.get_gate(prompt_id).get("controlRunId")
    outcome.stats = client.eval_stats(run_id, control_run_id if control_run_id != run_id else None)
    if prompt_id is not None and check_gate:
        outcome.gate = client.check_gate(prompt_id, run_id)
    return outcome
