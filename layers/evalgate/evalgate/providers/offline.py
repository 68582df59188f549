"""Offline providers for tests, demos and local runs: no network, no key, $0.

- `echo`: returns the rendered prompt, or `params["prefix"]` + the prompt.
- `scripted`: deterministic replies from `params["responses"]`, a list of `{"match": ..., "output": ...}`
  tried in order against the prompt (`match` is a substring, or a regular expression searched in the
  prompt), else `params["default"]` (default: the prompt itself). `params["latency_ms"]` sleeps that long;
  `params["fail_on"]` makes matching prompts fail, to exercise error paths:
  a regex string (retryable unless `params["fail_retryable"]` is false), or
  `{"match": regex, "retryable": bool, "status": int, "retry_after": float, "times": n, "message": str}`
  where `times` fails only the first n matching calls of this provider instance (then succeeds).

- `offline-judge`: answers auto-eval judge prompts (evalgate.autoeval.judge.judge_request) with the structured
  JSON they ask for, deterministically from the prompt's material (see OfflineJudgeProvider). Lexical rules,
  for tests, demos and local runs: never a verdict on meaning.

Tokens are counted with the offline estimator (tokens.py). Embeddings (both providers) are the hashing
trick over word unigrams and bigrams: a fixed-size, L2-normalised vector, deterministic across processes.
They are LEXICAL: texts that share words are close, paraphrases with other words are not. Use them to
exercise code paths, never to judge meaning.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.tokens import estimate_chat_tokens, estimate_tokens

DEFAULT_DIMENSIONS = 256
_WORD = re.compile(r"\w+", re.UNICODE)
_DIM_IN_MODEL = re.compile(r"(\d+)$")


def hashing_embedding(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """Signed hashing trick over lower-cased word unigrams and bigrams; a zero vector for a text without words."""
    vector = [0.0] * dimensions
    words = _WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for gram in grams:
        digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def _dimensions(model: str) -> int:
    """`hashing-512` (or any model name ending in a number from 8 to 4096) picks the size; else 256."""
    m = _DIM_IN_MODEL.search(model or "")
    if m and 8 <= int(m.group(1)) <= 4096:
        return int(m.group(1))
    return DEFAULT_DIMENSIONS


class _Offline:
    name = "offline"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def _completion(self, request: ModelRequest, text: str, started: float) -> Completion:
        return Completion(
            text=text,
            input_tokens=estimate_chat_tokens(request.prompt, request.system),
            output_tokens=estimate_tokens(text),
            latency_ms=(time.perf_counter() - started) * 1000,
            cost_usd=0.0,
            model=request.model,
            raw={"finish_reason": "stop", "offline": True},
            priced=True,
        )

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        size = _dimensions(model)
        return [hashing_embedding(t, size) for t in texts]


class EchoProvider(_Offline):
    name = "echo"

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        prefix = request.params.get("prefix") or ""
        return self._completion(request, f"{prefix}{request.prompt}", started)


class ScriptedProvider(_Offline):
    name = "scripted"

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(sleep=sleep)
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        params = request.params
        latency = params.get("latency_ms")
        if latency:
            self._sleep(float(latency) / 1000)
        self._maybe_fail(request)
        text = self.reply(request.prompt, params)
        return self._completion(request, text, started)

    @staticmethod
    def reply(prompt: str, params: dict[str, Any]) -> str:
        for rule in params.get("responses") or []:
            if not isinstance(rule, dict):
                continue
            if _matches(str(rule.get("match", "")), prompt):
                return str(rule.get("output", ""))
        default = params.get("default")
        return prompt if default is None else str(default)

    def _maybe_fail(self, request: ModelRequest) -> None:
        spec = request.params.get("fail_on")
        if not spec:
            return
        if isinstance(spec, str):
            spec = {"match": spec, "retryable": request.params.get("fail_retryable", True)}
        if not isinstance(spec, dict):
            raise ProviderError("scripted: fail_on must be a regex or an object", retryable=False)
        pattern = str(spec.get("match", ""))
        if not _matches(pattern, request.prompt):
            return
        times = spec.get("times")
        if times is not None:
            with self._lock:
                seen = self._failures.get(pattern, 0)
                if seen >= int(times):
                    return
                self._failures[pattern] = seen + 1
        status = spec.get("status")
        retry_after = spec.get("retry_after")
        raise ProviderError(
            str(spec.get("message") or f"scripted failure for a prompt matching {pattern!r}"),
            retryable=bool(spec.get("retryable", True)),
            status=int(status) if status is not None else None,
            retry_after=float(retry_after) if retry_after is not None else None,
        )


def _matches(pattern: str, prompt: str) -> bool:
    """A substring, or a regular expression searched in the prompt; the empty pattern matches everything."""
    if pattern in prompt:
        return True
    try:
        return re.search(pattern, prompt) is not None
    except re.error:
        return False


# --- offline-judge -------------------------------------------------------------------------------------------

_MIN_CONTENT = 3
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    yes yet may might must shall one two
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _content(text: str) -> dict[str, str]:
    """Content words of a text: {normalized: as first written (lower-cased)}."""
    words: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) < _MIN_CONTENT or word in _STOPWORDS:
            continue
        key = word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) else word
        words.setdefault(key, word)
    return words


def content_words(text: str) -> set[str]:
    """Lower-cased words of at least 3 characters that are not stop words, a plural `s` dropped
    (not from -ss, -us, -is)."""
    return set(_content(text))


def _quoted(words: set[str], limit: int = 6) -> str:
    shown = sorted(words)[:limit]
    more = f" and {len(words) - limit} more" if len(words) > limit else ""
    return ", ".join(f"'{w}'" for w in shown) + more


class OfflineJudgeProvider(_Offline):
    """A deterministic judge for auto-eval prompts, no model involved.

    The prompt is read with evalgate.autoeval.judge.read_judge_prompt: the criteria (from the JSON schema
    in `params.response_format`, else the prompt's `- name: ...` lines), the pass threshold, and the
    <input>, <context>, <reference> and <output> blocks. Rules:

    - an output carrying the marker `[[fail]]` fails every criterion (score 0), so tests and demos can
      inject known failures;
    - hallucination: with a context, score = share of the output's content words found in the context or
      the input; it passes only when every content word is found (the reason lists the others); without
      a context, 1.0;
    - relevance: share of the input's content words that the output repeats, doubled and capped at 1
      (1.0 when the input has none);
    - factuality: share of the reference's content words in the output when there is a reference, else
      the hallucination rule's score against the context, else 1.0;
    - rubric: 1.0 for an output with content words, 0.0 for an empty one;
    - any other criterion: 1.0.

    "Content words": lower-cased words of 3+ characters that are not stop words, plural `s` dropped.
    A prompt without an <output> block is not a judge prompt: ProviderError (not retryable).
    """

    name = "offline-judge"

    def complete(self, request: ModelRequest) -> Completion:
        started = time.perf_counter()
        text = self.reply(request.prompt, request.params)
        return self._completion(request, text, started)

    @classmethod
    def reply(cls, prompt: str, params: dict[str, Any]) -> str:
        from evalgate.autoeval.judge import FAIL_MARKER, read_judge_prompt

        asked = read_judge_prompt(prompt, params)
        if "output" not in asked.material:
            raise ProviderError("offline-judge: the prompt has no <output> block to judge", retryable=False)
        if not asked.criteria:
            raise ProviderError("offline-judge: the prompt names no criteria", retryable=False)
        m = asked.material
        if FAIL_MARKER in m["output"]:
            failed = {"reason": f"The output carries the {FAIL_MARKER} marker.", "score": 0.0, "passed": False}
            return json.dumps({"criteria": dict.fromkeys(asked.criteria, failed)}, ensure_ascii=False)
        results = {
            name: cls.judge(
                name, m["output"], m.get("input", ""), m.get("context"), m.get("reference"), asked.threshold
            )
            for name in asked.criteria
        }
        return json.dumps({"criteria": results}, ensure_ascii=False)

    @staticmethod
    def judge(
        name: str, output: str, input_text: str, context: str | None, reference: str | None, threshold: float
    ) -> dict[str, Any]:
        said = content_words(output)
        asked = content_words(input_text)
        grounded = content_words(context) if context else None
        unsupported = said - grounded - asked if grounded is not None else set()
        support = (1.0 - len(unsupported) / len(said)) if grounded is not None and said else 1.0
        if name == "hallucination":
            if grounded is None:
                return {
                    "reason": "No context was given: nothing to check the output against.",
                    "score": 1.0,
                    "passed": True,
                }
            if unsupported:
                written = _content(output)
                reason = f"Not supported by the context: {_quoted({written[w] for w in unsupported})}."
                return {"reason": reason, "score": round(support, 4), "passed": False}
            return {
                "reason": "Every content word of the output is found in the context or the input.",
                "score": 1.0,
                "passed": True,
            }
        if name == "relevance":
            score = min(1.0, 2.0 * len(said & asked) / len(asked)) if asked else 1.0
            reason = f"The output repeats {len(said & asked)} of the input's {len(asked)} content words."
        elif name == "factuality":
            if reference and content_words(reference):
                expected = content_words(reference)
                score = len(said & expected) / len(expected)
                reason = f"The output has {len(said & expected)} of the reference's {len(expected)} content words."
            elif grounded is not None:
                score = support
                reason = f"{round(100 * support)}% of the output's content words are found in the context or input."
            else:
                score, reason = 1.0, "No reference or context was given: nothing to check the facts against."
        elif name == "rubric":
            score = 1.0 if said else 0.0
            reason = "The output has content." if said else "The output is empty."
        else:
            score, reason = 1.0, f"The offline judge has no rule for {name!r}."
        score = round(score, 4)
        return {"reason": reason, "score": score, "passed": score >= threshold}
