"""Offline providers: echo, scripted (matching, default, latency, scripted failures) and hashing embeddings."""

from __future__ import annotations

import math
from typing import Any

import pytest

from evalgate.providers.base import ModelRequest, ProviderError
from evalgate.providers.offline import EchoProvider, ScriptedProvider, hashing_embedding
from evalgate.providers.tokens import estimate_chat_tokens, estimate_tokens


def _req(prompt: str, provider: str = "scripted", **params: Any) -> ModelRequest:
    return ModelRequest(provider=provider, model="m", prompt=prompt, params=params)


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# -- echo -------------------------------------------------------------------------------------------
def test_echo_returns_the_prompt_with_offline_token_counts_and_no_cost() -> None:
    request = ModelRequest(provider="echo", model="any", prompt="Say hello", system="Be kind")
    c = EchoProvider().complete(request)
    assert c.text == "Say hello"
    assert c.input_tokens == estimate_chat_tokens("Say hello", "Be kind")
    assert c.output_tokens == estimate_tokens("Say hello")
    assert c.cost_usd == 0.0 and c.priced and not c.cached
    assert c.model == "any"


def test_echo_prefix() -> None:
    assert EchoProvider().complete(_req("world", "echo", prefix="hello ")).text == "hello world"


# -- scripted ---------------------------------------------------------------------------------------
RESPONSES = [
    {"match": "capital of France", "output": "Paris"},
    {"match": r"^\d+ \+ \d+", "output": "a sum"},
    {"match": "France", "output": "never: the first rule wins"},
]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is the capital of France?", "Paris"),  # substring, first match wins
        ("2 + 2 = ?", "a sum"),  # regex
        ("Tell me about France", "never: the first rule wins"),
        ("Something else", "I don't know"),  # default
    ],
)
def test_scripted_rules_are_tried_in_order(prompt: str, expected: str) -> None:
    c = ScriptedProvider().complete(_req(prompt, responses=RESPONSES, default="I don't know"))
    assert c.text == expected
    assert c.cost_usd == 0.0


def test_scripted_substring_with_regex_metacharacters_matches_literally() -> None:
    rules = [{"match": "What is 2+2?", "output": "4"}]
    assert ScriptedProvider().complete(_req("Q: What is 2+2? A:", responses=rules)).text == "4"


def test_scripted_invalid_regex_is_only_a_substring() -> None:
    rules = [{"match": "([unclosed", "output": "x"}]
    assert ScriptedProvider().complete(_req("no match here", responses=rules, default="d")).text == "d"


def test_scripted_without_default_echoes_the_prompt() -> None:
    assert ScriptedProvider().complete(_req("hello")).text == "hello"


def test_scripted_latency_sleeps_through_the_injected_sleep() -> None:
    slept: list[float] = []
    ScriptedProvider(sleep=slept.append).complete(_req("x", latency_ms=250))
    assert slept == [0.25]


def test_fail_on_regex_raises_a_retryable_error_by_default() -> None:
    with pytest.raises(ProviderError) as info:
        ScriptedProvider().complete(_req("please FAIL now", fail_on="FAIL"))
    assert info.value.retryable


def test_fail_on_can_be_non_retryable() -> None:
    with pytest.raises(ProviderError) as info:
        ScriptedProvider().complete(_req("FAIL", fail_on="FAIL", fail_retryable=False))
    assert not info.value.retryable


def test_fail_on_only_hits_matching_prompts() -> None:
    assert ScriptedProvider().complete(_req("fine", fail_on="FAIL", default="ok")).text == "ok"


def test_fail_on_object_with_status_retry_after_and_times() -> None:
    provider = ScriptedProvider()
    spec = {"match": "flaky", "status": 429, "retry_after": 1.5, "times": 2, "message": "slow down"}
    for _ in range(2):
        with pytest.raises(ProviderError) as info:
            provider.complete(_req("a flaky call", fail_on=spec, default="ok"))
        assert (info.value.status, info.value.retry_after, info.value.retryable) == (429, 1.5, True)
        assert str(info.value) == "slow down"
    # the third call succeeds: the failure budget of this provider instance is spent
    assert provider.complete(_req("a flaky call", fail_on=spec, default="ok")).text == "ok"


def test_fail_on_of_a_wrong_type_is_a_non_retryable_error() -> None:
    with pytest.raises(ProviderError) as info:
        ScriptedProvider().complete(_req("x", fail_on=42))
    assert not info.value.retryable


# -- hashing embeddings -----------------------------------------------------------------------------
def test_embeddings_are_deterministic_normalised_and_sized_by_the_model_name() -> None:
    vectors = EchoProvider().embed(["the cat sat on the mat", "the cat sat on the mat"], "hashing-64")
    assert len(vectors[0]) == 64
    assert vectors[0] == vectors[1]
    assert math.isclose(math.sqrt(sum(v * v for v in vectors[0])), 1.0)
    assert len(ScriptedProvider().embed(["x"], "default")[0]) == 256


def test_embeddings_are_lexical() -> None:
    a, b, c, d = (
        hashing_embedding("the cat sat on the mat"),
        hashing_embedding("a cat sat on a mat"),
        (hashing_embedding("stock markets fell sharply today")),
        hashing_embedding("The CAT sat on the mat!"),
    )
    assert _cos(a, b) > 0.4 > 0.1 > abs(_cos(a, c))
    assert _cos(a, d) == pytest.approx(1.0)  # case and punctuation do not count


def test_text_without_words_embeds_to_zeros() -> None:
    assert hashing_embedding("  ...  ", 16) == [0.0] * 16
