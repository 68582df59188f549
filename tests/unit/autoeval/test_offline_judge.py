"""The offline judge `offline-judge`: deterministic structured answers to judge_request prompts, no network."""

from __future__ import annotations

import json

import pytest

from evalgate.autoeval.judge import CRITERIA, JudgeInput, judge_request, judgment_schema, parse_judgment
from evalgate.autoeval.offline_judge import OfflineJudgeProvider, content_words
from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.gateway import ModelGateway
from evalgate.providers.offline import EchoProvider
from evalgate.scoring.schema import validate
from evalgate.services.container import Container
from evalgate.settings import Settings

GROUNDED = JudgeInput(
    trace_id="t-1",
    input="What is the capital of France?",
    output="The capital of France is Paris.",
    context="Paris is the capital city of France.",
)


class Counting:
    """Wraps a provider and counts its calls."""

    def __init__(self, inner: OfflineJudgeProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def complete(self, request: ModelRequest) -> Completion:
        self.calls += 1
        return self.inner.complete(request)

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        return self.inner.embed(texts, model)


def _judge(sample: JudgeInput, criteria: tuple[str, ...] | list[str] = CRITERIA, **kwargs: object) -> dict:
    request = judge_request(sample, criteria, provider="offline-judge", model="any", **kwargs)  # type: ignore[arg-type]
    text = OfflineJudgeProvider().complete(request).text
    return parse_judgment(text, criteria, float(kwargs.get("threshold", 0.5)))  # type: ignore[arg-type]


def test_the_service_gateway_knows_the_offline_judge() -> None:
    gateway = Container(Settings(table_name="t", bucket_name="b")).gateway
    assert isinstance(gateway.provider("offline-judge"), OfflineJudgeProvider)
    assert gateway.provider("offline-judge").name == "offline-judge"


def test_one_call_per_sample_for_all_criteria_through_the_gateway_at_no_cost() -> None:
    provider = Counting(OfflineJudgeProvider())
    gateway = ModelGateway(None, providers={"offline-judge": provider}, sleep=lambda s: None)
    samples = [JudgeInput(f"t{i}", f"question {i} about France", f"answer {i} about France", None) for i in range(25)]
    for sample in samples:
        completion = gateway.complete(
            judge_request(sample, CRITERIA, provider="offline-judge", model="m"), project_id="p"
        )
        assert set(parse_judgment(completion.text, CRITERIA)) == set(CRITERIA)
        assert completion.cost_usd == 0.0 and completion.input_tokens > 0 and completion.output_tokens > 0
    assert provider.calls == len(samples)


def test_the_reply_follows_the_schema_and_is_deterministic() -> None:
    request = judge_request(GROUNDED, CRITERIA, provider="offline-judge", model="m")
    first = OfflineJudgeProvider().complete(request).text
    assert OfflineJudgeProvider().complete(request).text == first
    assert validate(json.loads(first), judgment_schema(CRITERIA)) == []


def test_a_grounded_relevant_answer_passes_everything() -> None:
    results = _judge(GROUNDED)
    assert all(r.passed for r in results.values()), results
    assert results["hallucination"].score == 1.0


def test_the_fail_marker_fails_every_criterion() -> None:
    marked = JudgeInput("t", GROUNDED.input, GROUNDED.output + " [[fail]]", GROUNDED.context)
    results = _judge(marked)
    assert all(not r.passed and r.score == 0.0 for r in results.values())
    assert "[[fail]]" in results["rubric"].reason


def test_words_absent_from_the_context_are_a_hallucination() -> None:
    made_up = JudgeInput(
        "t", GROUNDED.input, "Paris is the capital, founded by Julius Caesar in 52 BC.", GROUNDED.context
    )
    results = _judge(made_up)
    hallucination = results["hallucination"]
    assert not hallucination.passed and 0.0 < hallucination.score < 1.0
    assert (
        "'caesar'" in hallucination.reason
        and "'founded'" in hallucination.reason
        and "'julius'" in hallucination.reason
    )
    # words of the input count as grounded: restating the question is not a hallucination
    restating = JudgeInput("t", "Tell me about the Louvre in Paris", "The Louvre is in Paris.", "Paris has museums.")
    assert _judge(restating, ["hallucination"])["hallucination"].passed


def test_without_a_context_nothing_is_flagged_as_hallucinated() -> None:
    results = _judge(JudgeInput("t", "Who won?", "Team Rocket won the 1998 cup.", None), ["hallucination"])
    assert results["hallucination"].passed and "No context" in results["hallucination"].reason


def test_relevance_by_word_overlap_with_the_input() -> None:
    off_topic = JudgeInput("t", "How do I reset my router password?", "Bananas are rich in potassium.", None)
    assert not _judge(off_topic, ["relevance"])["relevance"].passed
    on_topic = JudgeInput("t", "How do I reset my router password?", "Hold the router reset button for 10s.", None)
    assert _judge(on_topic, ["relevance"])["relevance"].score == 1.0


def test_factuality_against_the_reference_and_the_threshold_from_the_prompt() -> None:
    sample = JudgeInput("t", "Capital?", "Paris, France, Europe.", None, expected="Paris France Europe Seine River")
    result = _judge(sample, ["factuality"])["factuality"]
    assert result.score == pytest.approx(0.6) and result.passed
    assert not _judge(sample, ["factuality"], threshold=0.9)["factuality"].passed


def test_an_empty_output_fails_the_rubric() -> None:
    assert not _judge(JudgeInput("t", "Say hi", "", None), ["rubric"])["rubric"].passed


def test_a_prompt_that_is_not_a_judge_prompt_is_refused() -> None:
    with pytest.raises(ProviderError) as info:
        OfflineJudgeProvider().complete(ModelRequest("offline-judge", "m", "Hello there"))
    assert not info.value.retryable and "<output>" in str(info.value)


def test_content_words() -> None:
    assert content_words("The cats sat on the mats, and it was OK!") == {"cat", "sat", "mat"}
    assert content_words("glass boss Julius basis") == {"glass", "boss", "julius", "basis"}


def test_the_other_offline_providers_are_unchanged() -> None:
    request = ModelRequest("echo", "m", "<output>\nx\n</output>")
    assert EchoProvider().complete(request).text == request.prompt
