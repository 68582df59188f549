"""`evalgate.evaluate`: run your own function over a dataset locally, score each output with evalgate's assertion
types (the deterministic ones, locally) or your own Python scorers, upload the results as an external run, and get
the run back with its statistics and the prompt's gate verdict.

    import evalgate

    result = evalgate.evaluate(
        [{"input": "2+2", "expected": "4"}, {"input": "capital of France", "expected": "Paris"}],
        task=lambda question: my_llm_app(question),
        scorers=["contains", {"type": "max-length", "value": 200}, lambda output, case: len(output) < 500],
        prompt_id=12,                       # the gate of this prompt decides
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
from evalgate.sdk.client import Client, EvalgateError, GateResult

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
    for a in normalized:
        spec = TYPES[a["type"]]  # normalized: the canonical name
        if spec.judge or spec.embedder:
            raise EvalgateError(
                f"the {a['type']!r} assertion needs a model (a judge or embeddings): evaluate() scores locally and "
                "supports the deterministic types and Python scorers; run model-graded ones in a suite run"
            )
    return normalized, functions


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
    text = output if isinstance(output, str) else json.dumps(output, default=str)
    exp = expected if expected is None or isinstance(expected, str) else json.dumps(expected, default=str)
    scores: list[float] = []
    statuses: list[str] = []
    scorer_results: dict[str, Any] = {}
    if assertions:
        case_output = CaseOutput(output=text, expected=exp, variables=variables, latency_ms=latency_ms)
        verdict = score_output(assertions, case_output)
        for a in verdict.assertions:
            name = a.metric or a.operator
            scorer_results[name] = {"score": a.score, "passed": a.status == "passed", "reason": a.reason}
        scores.append(verdict.score)
        statuses.append(verdict.status)
    for name, fn in functions:
        try:
            raw = _call_scorer(fn, output, {"id": case_id, "input": value, "expected": expected, "output": output})
        except Exception as error:  # a scorer that raises errors the case, it does not stop the run
            scorer_results[name] = {"score": None, "error": f"{type(error).__name__}: {error}"}
            statuses.append("errored")
            continue
        score = (1.0 if raw else 0.0) if isinstance(raw, bool) or raw is None else float(raw)
        passed = bool(raw) if isinstance(raw, bool) else score >= 0.5
        scorer_results[name] = {"score": score, "passed": passed}
        scores.append(score)
        statuses.append("passed" if passed else "failed")
    status = "errored" if "errored" in statuses else ("failed" if "failed" in statuses else "passed")
    score = sum(scores) / len(scores) if scores else 1.0
    return CaseResult(case_id, value, expected, output, status, round(score, 6), latency_ms, scorers=scorer_results)


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
) -> EvaluationResult:
    """Run `task` on each item's input (at most `max_concurrency` at once), score the outputs, upload them as an
    external run (unless `upload=False`) and, with a `prompt_id`, check that prompt's gate on it.

    A task that raises marks its case errored (the error is kept) and the run goes on. Scorers: evalgate
    assertion types by name or object (`"is-json"`, `{"type": "contains", "value": "{{expected}}"}`; an
    assertion without a value compares with the case's expected output), or Python functions taking
    (output), (output, expected) or (output, case) and returning a bool or a score in [0, 1]."""
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    assertions, functions = _split_scorers(scorers)
    if not assertions and not functions:
        raise ValueError("give at least one scorer")
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
        return _score(case_id, value, expected, variables, output, latency, assertions, functions)

    results: dict[int, CaseResult] = {}
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="evalgate") as pool:
        futures = {pool.submit(one, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.step()
    outcome = EvaluationResult(name=name, cases=[results[i] for i in range(len(items))])
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
