"""Run one case: render the prompt, call the model through the gateway, score the output.

The same code serves suite runs (Step Functions task) and explore (synchronous, nothing persisted)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from evalgate.models.domain import ModelConfig, PromptVersion, RunResult, SuiteConfig, SuiteTest
from evalgate.observability import logger
from evalgate.templating import render

JUDGE_DEFAULT_PARAMS = {"temperature": 0}


@dataclass
class CaseSpec:
    index: int
    test: SuiteTest
    case_name: str | None
    variables: dict[str, Any]
    expected: str | None
    repeat: int = 0
    context: str | None = None

    @property
    def name(self) -> str:
        label = self.test.name + (f" [{self.case_name}]" if self.case_name else "")
        return label + (f" #{self.repeat + 1}" if self.test.repeat > 1 else "")


@dataclass
class Executor:
    """Everything a case needs besides its own data; built once per invocation."""

    project_id: str
    version: PromptVersion
    model: ModelConfig
    suite_config: SuiteConfig = field(default_factory=SuiteConfig)
    gateway: Any = None  # evalgate.providers.gateway.ModelGateway
    use_cache: bool = True
    write_cache: bool = True

    def _request(self, prompt: str) -> Any:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.base import ModelRequest

        params = self.model.model_dump(exclude={"provider", "model"}, exclude_none=True)
        return ModelRequest(provider=self.model.provider, model=self.model.model, prompt=prompt, params=params)

    def request_for(self, spec: CaseSpec) -> Any:
        """The model request a case will make (None when its prompt cannot be rendered)."""
        try:
            return self._request(render(self.version.template, spec.variables))
        except KeyError:
            return None

    def judge(self) -> _GatewayJudge:
        provider = self.suite_config.judge_provider or self.model.provider
        model = self.suite_config.judge_model or self.model.model
        return _GatewayJudge(self, provider, model)

    def embedder(self) -> _GatewayEmbedder:
        provider = self.suite_config.judge_provider or self.model.provider
        return _GatewayEmbedder(self, provider)

    def run(self, spec: CaseSpec) -> RunResult:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.base import ProviderError
        from evalgate.scoring import CaseOutput, evaluate

        started = time.perf_counter()
        base: dict[str, Any] = {
            "index": spec.index,
            "name": spec.name,
            "test_id": spec.test.id,
            "case_name": spec.case_name,
            "repeat": spec.repeat,
            "weight": spec.test.weight,
            "variables": spec.variables,
            "expected": spec.expected,
        }
        try:
            prompt = render(self.version.template, spec.variables)
        except KeyError as exc:
            return RunResult(
                **base,
                status="errored",
                score=0.0,
                duration_ms=0.0,
                error=f"the case has no value for template variable {exc.args[0]!r}",
            )
        try:
            completion = self.gateway.complete(
                self._request(prompt),
                project_id=self.project_id,
                use_cache=self.use_cache,
                write_cache=self.write_cache,
            )
        except ProviderError as exc:
            logger.info("case errored", index=spec.index, reason=str(exc)[:200])
            return RunResult(
                **base,
                status="errored",
                score=0.0,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=f"model call failed: {exc}",
            )
        verdict = evaluate(
            spec.test.assertions,
            CaseOutput(
                output=completion.text,
                expected=spec.expected,
                variables=spec.variables,
                prompt=prompt,
                context=spec.context,
                latency_ms=completion.latency_ms,
                cost_usd=completion.cost_usd,
                input_tokens=completion.input_tokens,
                output_tokens=completion.output_tokens,
                finish_reason=(completion.raw or {}).get("finish_reason"),
            ),
            judge=self.judge(),
            embedder=self.embedder(),
            threshold=spec.test.threshold,
        )
        return RunResult(
            **base,
            status=verdict.status,
            score=verdict.score,
            duration_ms=completion.latency_ms,
            output=completion.text,
            assertions=[
                {
                    "operator": a.operator,
                    "status": a.status,
                    "expected": a.expected,
                    "actual": a.actual,
                    "score": a.score,
                    "weight": a.weight,
                    "reason": a.reason,
                    **({"metric": a.metric} if a.metric else {}),
                }
                for a in verdict.assertions
            ],
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=0.0 if completion.cached else completion.cost_usd,  # a cache hit spends nothing
            cached=completion.cached,
        )


@dataclass
class _GatewayJudge:
    executor: Executor
    provider: str
    model: str

    def judge(self, prompt: str) -> str:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.base import ModelRequest

        request = ModelRequest(
            provider=self.provider,
            model=self.model,
            prompt=prompt,
            params={**JUDGE_DEFAULT_PARAMS, **self.executor.suite_config.judge_params},
        )
        ex = self.executor
        return str(
            ex.gateway.complete(
                request, project_id=ex.project_id, use_cache=ex.use_cache, write_cache=ex.write_cache
            ).text
        )


@dataclass
class _GatewayEmbedder:
    executor: Executor
    provider: str

    def embed(self, texts: list[str]) -> list[list[float]]:
        provider = self.executor.suite_config.judge_params.get("embedding_provider") or self.provider
        if provider == "anthropic":  # Anthropic offers no embeddings
            provider = "openai"
        model = self.executor.suite_config.judge_params.get("embedding_model") or (
            "text-embedding-3-small" if provider == "openai" else "default"
        )
        return list(
            self.executor.gateway.embed(texts, provider=provider, model=model, project_id=self.executor.project_id)
        )
