"""Keys of the model-response cache: equal requests, equal digests.

The digest is the SHA-256 of the canonical JSON of (provider, model, params, system, prompt); the control
params (`timeout_s`, the cost overrides) and None values are left out, so they never split the cache.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from evalgate.providers.base import CONTROL_PARAMS, ModelRequest

CACHE_VERSION = 1


def _canonical(value: Any) -> Any:
    """JSON-stable form: sorted keys (by json.dumps), tuples as lists, 1.0 as 1, Decimals as numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("params must be finite numbers")
        return int(value) if value.is_integer() else value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def cache_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params that can change a reply: everything but the control params and None values."""
    return {k: v for k, v in params.items() if k not in CONTROL_PARAMS and v is not None}


def cache_digest(request: ModelRequest) -> str:
    """SHA-256 of (provider, model, canonical params, system, prompt): equal requests, equal digests."""
    document = {
        "v": CACHE_VERSION,
        "provider": request.provider,
        "model": request.model,
        "params": cache_params(request.params),
        "system": request.system,
        "prompt": request.prompt,
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def embedding_digest(provider: str, model: str, text: str) -> str:
    document = {"v": CACHE_VERSION, "kind": "embedding", "provider": provider, "model": model, "text": text}
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
