"""Cost table: prefix matching of dated / Bedrock / router ids, unknown models, overrides."""

from __future__ import annotations

import pytest

from evalgate.providers.pricing import PRICES, cost_of, normalize_model_id, price_for


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4.1", "gpt-4.1"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o3", "o3"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-3-haiku-20240307", "claude-3-haiku"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("amazon.nova-lite-v1:0", "nova-lite"),
        ("us.amazon.nova-pro-v1:0", "nova-pro"),
        ("meta.llama3-8b-instruct-v1:0", "llama3-8b-instruct"),
        ("meta.llama3-70b-instruct-v1:0", "llama3-70b-instruct"),
        ("text-embedding-3-small", "text-embedding-3-small"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("GPT-4o-Mini", "gpt-4o-mini"),
    ],
)
def test_model_ids_resolve_to_their_family(model: str, family: str) -> None:
    assert price_for(model) == PRICES[family]


@pytest.mark.parametrize("model", ["gpt-4omega", "gpt-4.5-preview", "llama-local", "my-finetune", "o", ""])
def test_unknown_or_lookalike_models_have_no_price(model: str) -> None:
    assert price_for(model) is None


def test_cost_is_tokens_times_price_per_million() -> None:
    # gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens
    cost = cost_of("gpt-4o-mini-2024-07-18", 1_000_000, 500_000)
    assert cost.priced
    assert cost.usd == pytest.approx(0.15 + 0.30)
    assert cost_of("claude-3-5-sonnet-20241022", 1000, 1000).usd == pytest.approx(0.003 + 0.015)


def test_unknown_model_costs_nothing_and_says_so() -> None:
    cost = cost_of("my-local-llama", 1000, 1000)
    assert cost.usd == 0.0
    assert cost.priced is False
    assert cost.price is None


def test_overrides_win_and_price_unknown_models() -> None:
    params = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0}
    assert cost_of("gpt-4o", 1_000_000, 1_000_000, params).usd == pytest.approx(3.0)
    unknown = cost_of("my-vllm-model", 2_000_000, 0, params)
    assert unknown.priced and unknown.usd == pytest.approx(2.0)


def test_one_sided_override_keeps_the_table_for_the_other_side() -> None:
    cost = cost_of("gpt-4o", 1_000_000, 1_000_000, {"output_cost_per_mtok": 1.0})
    assert cost.usd == pytest.approx(2.50 + 1.0)


@pytest.mark.parametrize("bad", ["abc", -1, None])
def test_invalid_overrides_are_ignored(bad: object) -> None:
    assert cost_of("gpt-4o", 1_000_000, 0, {"input_cost_per_mtok": bad}).usd == pytest.approx(2.50)


def test_normalize_strips_router_region_and_vendor_prefixes() -> None:
    assert normalize_model_id("bedrock/us.anthropic.claude-3-haiku-20240307-v1:0") == "claude-3-haiku-20240307-v1:0"
