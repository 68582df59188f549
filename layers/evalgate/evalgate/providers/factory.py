"""Providers by name. Each provider module is imported only when its name is first asked for (cold start)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evalgate.providers.base import Provider, ProviderError

if TYPE_CHECKING:
    from evalgate.providers.config import ProviderSettings


def provider_for(name: str, settings: ProviderSettings) -> Provider:
    """A new provider for a name: "openai" and configured OpenAI-compatible names, "anthropic" (and
    configured Anthropic-compatible names), "bedrock", "echo", "scripted", "local-minilm". Providers that
    belong to a higher layer (the auto-eval `offline-judge`) are handed to the gateway by the container."""
    # lazy imports below: a function loads only the provider (and its SDK) that it calls
    if name == "echo":
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.offline import EchoProvider

        return EchoProvider()
    if name == "scripted":
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.offline import ScriptedProvider

        return ScriptedProvider()
    if name == "bedrock":
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.bedrock import BedrockProvider

        return BedrockProvider()
    if name == "local-minilm":
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.local_embedding import LocalMiniLMProvider

        return LocalMiniLMProvider(Path(settings.minilm_dir) if settings.minilm_dir else None)
    endpoint = settings.endpoint(name)
    if endpoint is None:
        raise ProviderError(
            f"unknown provider {name!r}: use openai, anthropic, bedrock, echo, scripted, or configure "
            "EVALGATE_PROVIDER_<NAME>_BASE_URL for an OpenAI-compatible endpoint",
            retryable=False,
        )
    if endpoint.kind == "anthropic":
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.providers.anthropic import AnthropicProvider

        return AnthropicProvider(endpoint)
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(endpoint)
