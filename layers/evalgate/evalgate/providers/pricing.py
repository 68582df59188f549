"""Cost table: USD per million input / output tokens, matched by model-id prefix.

Dated and versioned ids resolve to their family by the longest matching prefix that ends at a boundary
("gpt-4o-mini-2024-07-18" -> "gpt-4o-mini", never "gpt-4o"; "gpt-4omega" matches nothing). Vendor and
cross-region prefixes of Bedrock ids ("us.anthropic.", "meta.", "amazon.") and router prefixes
("openai/", "anthropic/", "bedrock/") are stripped first. An unknown model costs 0.0 with `priced=False`;
modelConfig params `input_cost_per_mtok` / `output_cost_per_mtok` override the table (and price any model).

List prices of the providers' standard (on-demand, non-batch, non-cached) tiers; Bedrock prices are
us-east-1 on-demand. Prices change: override them per prompt version rather than trusting them for billing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float = 0.0


@dataclass(frozen=True)
class Cost:
    usd: float
    priced: bool
    price: Price | None = None


# family prefix -> price (USD per 1M tokens)
PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o1": Price(15.00, 60.00),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "text-embedding-3-small": Price(0.02),
    "text-embedding-3-large": Price(0.13),
    "text-embedding-ada-002": Price(0.10),
    # Anthropic (direct API and Bedrock list the same prices)
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-sonnet": Price(3.00, 15.00),
    "claude-3-opus": Price(15.00, 75.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    # Amazon (Bedrock)
    "nova-micro": Price(0.035, 0.14),
    "nova-lite": Price(0.06, 0.24),
    "nova-pro": Price(0.80, 3.20),
    "titan-embed-text-v2": Price(0.02),
    "titan-embed-text-v1": Price(0.10),
    # Meta Llama (Bedrock)
    "llama3-8b-instruct": Price(0.30, 0.60),
    "llama3-70b-instruct": Price(2.65, 3.50),
    "llama3-1-8b-instruct": Price(0.22, 0.22),
    "llama3-1-70b-instruct": Price(0.72, 0.72),
    "llama3-1-405b-instruct": Price(2.40, 2.40),
    "llama3-2-1b-instruct": Price(0.10, 0.10),
    "llama3-2-3b-instruct": Price(0.15, 0.15),
    "llama3-3-70b-instruct": Price(0.72, 0.72),
}

_ROUTER_PREFIX = re.compile(r"^(?:openai|anthropic|bedrock|azure|openrouter)/")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|us-gov|global)\.")
_VENDOR_PREFIX = re.compile(r"^(?:anthropic|amazon|meta|mistral|cohere|ai21)\.")
_BOUNDARY = "-:@_/"  # not ".": "gpt-4.5" is no "gpt-4"


def normalize_model_id(model: str) -> str:
    m = model.strip().lower()
    m = _ROUTER_PREFIX.sub("", m)
    m = _REGION_PREFIX.sub("", m)
    m = _VENDOR_PREFIX.sub("", m)
    if m.startswith("claude"):  # "claude-3.5-sonnet" (router spelling) -> "claude-3-5-sonnet"
        m = re.sub(r"(\d)\.(\d)", r"\1-\2", m)
    return m


def price_for(model: str) -> Price | None:
    """The table price of a model id (dated, versioned, Bedrock or router ids included), or None."""
    m = normalize_model_id(model)
    best: str | None = None
    for prefix in PRICES:
        at_boundary = m.startswith(prefix) and (len(m) == len(prefix) or m[len(prefix)] in _BOUNDARY)
        if at_boundary and (best is None or len(prefix) > len(best)):
            best = prefix
    return PRICES[best] if best is not None else None


def _override(params: Mapping[str, Any] | None, name: str) -> float | None:
    if not params or params.get(name) is None:
        return None
    try:
        value = float(params[name])
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def cost_of(model: str, input_tokens: int, output_tokens: int, params: Mapping[str, Any] | None = None) -> Cost:
    """USD cost of one call; modelConfig overrides win over the table, a model neither knows costs 0.0."""
    table = price_for(model)
    in_override = _override(params, "input_cost_per_mtok")
    out_override = _override(params, "output_cost_per_mtok")
    if in_override is None and out_override is None and table is None:
        return Cost(0.0, priced=False)
    price = Price(
        in_override if in_override is not None else (table.input_per_mtok if table else 0.0),
        out_override if out_override is not None else (table.output_per_mtok if table else 0.0),
    )
    usd = (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1_000_000
    return Cost(round(usd, 10), priced=True, price=price)
