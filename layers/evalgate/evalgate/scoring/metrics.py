"""Text metrics in pure Python: Levenshtein distance, ROUGE-N recall, BLEU, cosine similarity.

Tokenization (ROUGE and BLEU): lowercased word tokens, `\\w+` with inner apostrophes kept ("don't" is one
token); punctuation is dropped, so "world." and "world" match.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from evalgate.scoring.base import Check, CheckError, Outcome, excerpt, num, summary

_WORD = re.compile(r"\w+(?:'\w+)*")
# Exact Levenshtein is O(len(a) * len(b)); above this many DP cells the banded search below takes over.
MAX_CELLS = 4_000_000


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


# --- Levenshtein ---------------------------------------------------------------------------------------------


def _full(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _banded(a: str, b: str, k: int) -> int | None:
    """The distance if it is <= k (only cells with |i - j| <= k are computed), else None."""
    la, lb = len(a), len(b)
    if abs(la - lb) > k:
        return None
    inf = k + 1
    previous = {j: j for j in range(min(lb, k) + 1)}
    for i in range(1, la + 1):
        current: dict[int, int] = {}
        lo, hi = max(0, i - k), min(lb, i + k)
        for j in range(lo, hi + 1):
            if j == 0:
                current[j] = i
                continue
            best = previous.get(j - 1, inf) + (a[i - 1] != b[j - 1])
            best = min(best, previous.get(j, inf) + 1, current.get(j - 1, inf) + 1)
            current[j] = min(best, inf)
        previous = current
    distance = previous.get(lb, inf)
    return distance if distance <= k else None


def levenshtein(a: str, b: str, *, at_most: int | None = None, max_cells: int = MAX_CELLS) -> tuple[int, bool]:
    """(distance, exact). Exact whenever the distance is <= `at_most` or the strings are small enough; for
    huge, very different strings it returns a lower bound and exact=False (the pass/fail decision against
    `at_most` is still right)."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    end = 0
    while end < min(len(a), len(b)) and a[-1 - end] == b[-1 - end]:
        end += 1
    if end:
        a, b = a[:-end], b[:-end]
    if not a or not b:
        return max(len(a), len(b)), True
    if len(a) * len(b) <= max_cells:
        return _full(a, b), True
    k = max(at_most or 0, abs(len(a) - len(b)), 1)
    first = True
    while True:
        cells = (2 * k + 1) * max(len(a), len(b))
        if not first and cells > max_cells:
            return k // 2 + 1, False
        found = _banded(a, b, k)
        if found is not None:
            return found, True
        first = False
        k *= 2


def levenshtein_similarity(distance: int, a: str, b: str) -> float:
    """1 - distance / max(len): 1.0 for identical strings, 0.0 for completely different ones."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else max(0.0, 1.0 - distance / longest)


# --- ROUGE-N -------------------------------------------------------------------------------------------------


def rouge_n(candidate: str, reference: str, n: int = 1) -> float:
    """ROUGE-N recall: the share of the reference's n-grams (with multiplicity) found in the candidate."""
    ref = ngrams(tokenize(reference), n)
    total = sum(ref.values())
    if total == 0:
        return 0.0
    cand = ngrams(tokenize(candidate), n)
    overlap = sum(min(count, cand[gram]) for gram, count in ref.items())
    return overlap / total


# --- BLEU ----------------------------------------------------------------------------------------------------

BLEU_SMOOTHING = 1e-7  # a zero n-gram precision counts as 1e-7 (as promptfoo does) instead of zeroing the score


def bleu(candidate: str, references: Sequence[str], max_n: int = 4) -> float:
    """Sentence BLEU (Papineni et al. 2002): geometric mean of clipped n-gram precisions (n = 1..4, uniform
    weights) times the brevity penalty exp(1 - r/c) when the candidate is not longer than the closest
    reference. References that are blank are ignored; a blank candidate scores 0."""
    cand_tokens = tokenize(candidate)
    refs = [tokenize(r) for r in references]
    refs = [r for r in refs if r]
    if not cand_tokens or not refs:
        return 0.0
    c = len(cand_tokens)
    # closest reference length; ties go to the shorter reference
    r = min((abs(len(ref) - c), len(ref)) for ref in refs)[1]
    log_sum = 0.0
    for n in range(1, max_n + 1):
        cand = ngrams(cand_tokens, n)
        total = sum(cand.values())
        max_ref: Counter[tuple[str, ...]] = Counter()
        for ref in refs:
            for gram, count in ngrams(ref, n).items():
                max_ref[gram] = max(max_ref[gram], count)
        clipped = sum(min(count, max_ref[gram]) for gram, count in cand.items())
        precision = clipped / total if total else 0.0
        log_sum += math.log(precision if precision > 0 else BLEU_SMOOTHING) / max_n
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_sum)


# --- embeddings ----------------------------------------------------------------------------------------------


def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    if len(u) != len(v):
        raise ValueError(f"embedding sizes differ ({len(u)} vs {len(v)})")
    dot = sum(x * y for x, y in zip(u, v, strict=True))
    nu = math.sqrt(sum(x * x for x in u))
    nv = math.sqrt(sum(y * y for y in v))
    if nu == 0 or nv == 0:
        return 0.0
    return dot / (nu * nv)


# --- checks --------------------------------------------------------------------------------------------------


def check_levenshtein(c: Check) -> Outcome:
    reference = c.reference()
    limit = c.threshold if c.threshold is not None else 5.0
    distance, exact = levenshtein(c.output, reference, at_most=int(limit))
    score = levenshtein_similarity(distance, c.output, reference)
    ok = distance <= limit
    shown = f"{distance}" if exact else f"more than {distance - 1}"
    reason = f"Edit distance {shown} is {'within' if ok else 'over'} the maximum of {num(limit)}."
    return Outcome(ok, score, excerpt(reference), distance, reason)


def check_rouge_n(c: Check) -> Outcome:
    reference = c.reference()
    n = int(c.spec.get("n") or 1)
    limit = c.threshold if c.threshold is not None else 0.75
    if not ngrams(tokenize(reference), n):
        raise CheckError(
            f"The reference has fewer than {n} word(s), so ROUGE-{n} is undefined.", expected=excerpt(reference)
        )
    score = rouge_n(c.output, reference, n)
    ok = score >= limit
    reason = f"ROUGE-{n} recall {score:.3f} is {'at or above' if ok else 'below'} the threshold {num(limit)}."
    return Outcome(ok, score, excerpt(reference), round(score, 4), reason)


def check_bleu(c: Check) -> Outcome:
    references = c.references()
    limit = c.threshold if c.threshold is not None else 0.5
    if not any(tokenize(r) for r in references):
        raise CheckError("The reference text is empty, so BLEU is undefined.")
    score = bleu(c.output, references)
    ok = score >= limit
    reason = f"BLEU {score:.3f} is {'at or above' if ok else 'below'} the threshold {num(limit)}."
    expected = excerpt(references[0]) if len(references) == 1 else summary(references)
    return Outcome(ok, score, expected, round(score, 4), reason)
