"""What the assertion engine takes and returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

PASSED = "passed"
FAILED = "failed"
ERRORED = "errored"


@dataclass
class CaseOutput:
    """One model output and what is known about the case that produced it."""

    output: str
    expected: str | None = None  # the case's expected output (used when an assertion has no value)
    variables: dict[str, Any] = field(default_factory=dict)  # rendered into assertion values with {{var}}
    prompt: str = ""  # the rendered prompt (answer-relevance, g-eval, llm-rubric context)
    context: str | None = None  # retrieved docs (context-faithfulness); may also come from variables["context"]
    latency_ms: float | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None  # the provider's stop/finish reason (finish-reason)
    logprobs: list[float] | None = None  # per-token log probabilities, when the provider returns them (perplexity)


class Judge(Protocol):
    """A grading model. Implementations should call the model deterministically (temperature 0) and return
    its raw text; the engine asks for JSON and parses it (code fences and surrounding prose are tolerated)."""

    def judge(self, prompt: str) -> str: ...


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


@dataclass
class AssertionResult:
    operator: str  # the type as the user wrote it, with not- prefix if negated
    status: str  # passed | failed | errored
    expected: Any  # the assertion's value (rendered), or a readable summary ("<= 500 ms")
    actual: Any  # what was measured: an output excerpt (<= 200 chars), a number, a label
    score: float  # in [0, 1]
    weight: float
    reason: str  # one human sentence
    metric: str | None = None  # the assertion's `metric` name, when it has one (per-scorer stats use it)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["metric"] is None:  # Echostash's assertion shape, plus `metric` only when one was named
            del out["metric"]
        return out


@dataclass
class Verdict:
    status: str  # passed | failed | errored
    score: float  # weighted mean of the counted assertion scores (1.0 when nothing is counted)
    assertions: list[AssertionResult]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "score": self.score, "assertions": [a.to_dict() for a in self.assertions]}
