"""`offline-judge`: answers auto-eval judge prompts (evalgate.autoeval.judge.judge_request) with the
structured JSON they ask for, deterministically from the prompt's material. Lexical rules, for tests, demos
and local runs: never a verdict on meaning. It lives beside the judge prompt it reads (not in providers, which
know nothing of auto-eval); the container hands it to the model gateway under its name."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from evalgate.autoeval.judge import FAIL_MARKER, read_judge_prompt
from evalgate.providers.base import Completion, ModelRequest, ProviderError
from evalgate.providers.offline import OfflineProvider

_WORD = re.compile(r"\w+", re.UNICODE)

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


class OfflineJudgeProvider(OfflineProvider):
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
