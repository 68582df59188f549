"""The Python SDK: `Client` (the public API, typed) and `evaluate` (your function over a dataset, scored, uploaded
as a run, gated). `import evalgate` exposes both lazily: a Lambda importing the layer never loads them."""

from evalgate.sdk.client import ApiError, Client, ConnectionFailed, EvalgateError, GateResult
from evalgate.sdk.evaluation import CaseResult, EvaluationResult, evaluate

__all__ = [
    "ApiError",
    "CaseResult",
    "Client",
    "ConnectionFailed",
    "EvalgateError",
    "EvaluationResult",
    "GateResult",
    "evaluate",
]
