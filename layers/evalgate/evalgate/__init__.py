"""evalgate: the shared layer (models, store, auth, services, api wiring), and for its users the Python SDK:
`evalgate.Client` and `evalgate.evaluate` (loaded on first use, so importing the layer stays light)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # annotations only: the SDK is loaded on first use
    from evalgate.sdk import Client, EvaluationResult, GateResult, evaluate

_SDK = frozenset({"Client", "evaluate", "EvaluationResult", "CaseResult", "GateResult", "EvalgateError", "ApiError"})
__all__ = ["Client", "EvaluationResult", "GateResult", "__version__", "evaluate"]


def __getattr__(name: str) -> Any:
    if name in _SDK:
        # lazy: the SDK (and the scoring it uses) only for code that asks for it; Lambdas never do
        from evalgate import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'evalgate' has no attribute {name!r}")
