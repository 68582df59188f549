"""Text metrics in pure Python, computed as promptfoo computes them: Levenshtein distance, ROUGE-N (js-rouge),
BLEU, GLEU, METEOR, and cosine similarity. Each metric tokenizes as its promptfoo counterpart does (see each).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence

from evalgate.scoring.base import Check, CheckError, Outcome, excerpt, num, summary

# Exact Levenshtein is O(len(a) * len(b)); above this many DP cells the banded search below takes over.
MAX_CELLS = 4_000_000


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


# --- ROUGE-N (js-rouge's Treebank tokenizer, promptfoo's clipped F1) -------------------------------------------

_CONTRACTIONS = [
    re.compile(rf"(?<!\w)({a})({b})(?!\w)", re.I)
    for a, b in (("can", "not"), ("d", "'ye"), ("gim", "me"), ("gon", "na"), ("got", "ta"), ("lem", "me"),
                 ("more", "'n"), ("'t", "is"), ("'t", "was"))
]  # fmt: skip
_WANNA = re.compile(r"(?<!\w)(wan)(na)(?= )(?!\w)", re.I)


def treebank_tokenize(sentence: str) -> list[str]:
    """Penn Treebank word tokens of one sentence (js-rouge's treeBankTokenize, without its quote heuristics:
    every double quote is split off as its own token)."""
    text = re.sub(r"[\s\u0085]+", " ", sentence).strip()
    if not text:
        return []
    text = re.sub(r'``|\'\'|"', ' " ', text)
    text = text.replace("...", " ... ")
    text = re.sub(r"[:,](?!\d)", r" \g<0> ", text)
    text = re.sub(r"[;@#$%&]", r" \g<0> ", text)
    text = re.sub(r"([^.])(?<!\b[A-Za-z]\.[A-Za-z])(\.)([\])}>'\s]*)$", r"\1 \2\3 ", text)
    text = re.sub(r"[?!]", r" \g<0> ", text)
    text = re.sub(r"[\][(){}<>]", r" \g<0> ", text)
    text = text.replace("--", " -- ")
    text = f" {text} "
    text = re.sub(r"([^'])' ", r"\1 ' ", text)
    text = re.sub(r"'([sSmMdD]) ", r" '\1 ", text)
    text = re.sub(r"('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r" \1 ", text)
    for pattern in (*_CONTRACTIONS, _WANNA):
        text = pattern.sub(r" \1 \2 ", text)
    return [t for t in re.sub(r" {2,}", " ", text).strip(" ").split(" ") if t]


def rouge_n(candidate: str, reference: str, n: int = 1) -> float:
    """promptfoo's ROUGE-N: both texts lowercased and Treebank-tokenized, clipped n-gram overlap
    (min of the two counts, Lin 2004), F1 of precision and recall; 0 when either has fewer than n tokens."""
    cand_tokens, ref_tokens = treebank_tokenize(candidate.lower()), treebank_tokenize(reference.lower())
    if len(cand_tokens) < n or len(ref_tokens) < n:
        return 0.0
    cand, ref = ngrams(cand_tokens, n), ngrams(ref_tokens, n)
    overlap = sum(min(count, ref[gram]) for gram, count in cand.items())
    if overlap == 0:
        return 0.0
    return f1(overlap / sum(cand.values()), overlap / sum(ref.values()))


def f1(p: float, r: float) -> float:
    """js-rouge's fMeasure with beta 1, in its order of operations (so 0.75 stays 0.75, not 0.7499...)."""
    if p == r:
        return p
    if p == 0 or r == 0:
        return 0.0
    if p > r:
        return min(p, r * (2 / (1 + r / p)))
    return min(r, p * (2 / (1 + p / r)))


# --- BLEU, GLEU (promptfoo's own implementations) ------------------------------------------------------------

BLEU_SMOOTHING = 1e-7  # a zero n-gram precision counts as 1e-7 (as promptfoo does) instead of zeroing the score
_JS_SPACE = re.compile(r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def js_words(text: str) -> list[str]:
    """text.toLowerCase().trim().split(/\\s+/): lowercased, split on JavaScript whitespace, punctuation kept
    ("world." and "world" differ). A blank text gives [""], as in JavaScript."""
    return _JS_SPACE.split(_JS_SPACE.sub(" ", text.lower()).strip(" "))


def _grams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)) if 0 < n <= len(words) else Counter()


def bleu(candidate: str, references: Sequence[str], max_n: int = 4) -> float:
    """promptfoo's sentence BLEU: clipped n-gram precisions (n = 1..4, uniform weights, a zero precision
    smoothed to 1e-7, orders the candidate is too short for left out and the weights renormalised), the best
    clipped count over the references, times the brevity penalty exp(1 - r/c) against the closest reference
    length (ties to the shorter). A blank candidate scores 0."""
    if not candidate.strip():
        return 0.0
    cand = js_words(candidate)
    refs = [js_words(r) for r in references]
    c = len(cand)
    r = min((abs(len(ref) - c), len(ref)) for ref in refs)[1]
    log_sum, weight_sum = 0.0, 0.0
    for n in range(1, max_n + 1):
        grams = _grams(cand, n)
        total = sum(grams.values())
        if total == 0:
            continue
        best = max(sum(min(count, ref_grams[g]) for g, count in grams.items()) for ref_grams in
                   (_grams(ref, n) for ref in refs))  # fmt: skip
        precision = best / total
        log_sum += math.log(precision if precision > 0 else BLEU_SMOOTHING) / max_n
        weight_sum += 1 / max_n
    if weight_sum == 0:
        return 0.0
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_sum / weight_sum)


def _gleu_words(text: str) -> list[str]:
    words = [w.rstrip(".") for w in js_words(text)]
    return words if any(words) else []


def gleu(candidate: str, references: Sequence[str], min_n: int = 1, max_n: int = 4) -> float:
    """promptfoo's GLEU: per reference, min(precision, recall) of the n-gram matches summed over n = 1..4
    (identical token lists score 1); the best reference wins. Tokens: lowercased, whitespace-split, trailing
    dots dropped."""
    cand = _gleu_words(candidate)
    if not cand:
        return 0.0
    scores: list[float] = []
    for reference in references:
        ref = _gleu_words(reference)
        if ref == cand:
            scores.append(1.0)
            continue
        matches = cand_total = ref_total = 0
        for n in range(min_n, max_n + 1):
            cg, rg = _grams(cand, n), _grams(ref, n)
            matches += sum(min(count, rg[g]) for g, count in cg.items())
            cand_total += sum(cg.values())
            ref_total += sum(rg.values())
        scores.append(0.0 if cand_total == 0 or ref_total == 0 else min(matches / cand_total, matches / ref_total))
    return max(scores)


# --- METEOR (exact and Porter-stem stages; no WordNet synonyms) -----------------------------------------------


def _match(cand: list[tuple[int, str]], ref: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """promptfoo's matchExactEnums: from the last candidate word back, pair it with the last equal reference
    word still free. Matched words are removed from both lists (in place)."""
    pairs: list[tuple[int, int]] = []
    for i in range(len(cand) - 1, -1, -1):
        for j in range(len(ref) - 1, -1, -1):
            if cand[i][1] == ref[j][1]:
                pairs.append((cand[i][0], ref[j][0]))
                del cand[i]
                del ref[j]
                break
    return pairs


def _meteor_one(reference: list[str], candidate: list[str], alpha: float, beta: float, gamma: float) -> float:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring.stemmer import stem

    cand = [(i, w.lower()) for i, w in enumerate(candidate)]
    ref = [(i, w.lower()) for i, w in enumerate(reference)]
    size_c, size_r = len(cand), len(ref)
    exact = _match(cand, ref)
    cand_stems, ref_stems = [(i, stem(w)) for i, w in cand], [(i, stem(w)) for i, w in ref]
    matches = sorted(exact + _match(cand_stems, ref_stems))
    if not matches or size_c == 0 or size_r == 0:
        return 0.0
    precision, recall = len(matches) / size_c, len(matches) / size_r
    denominator = alpha * precision + (1 - alpha) * recall
    if denominator == 0:
        return 0.0
    fmean = precision * recall / denominator
    chunks = 1 + sum(1 for a, b in itertools.pairwise(matches) if b[0] != a[0] + 1 or b[1] != a[1] + 1)
    return (1 - gamma * (chunks / len(matches)) ** beta) * fmean


def _meteor_words(text: str) -> list[str]:
    return [re.sub(r"\.+$", "", w) for w in re.split(r"\s+", text)]


def meteor(
    candidate: str, references: Sequence[str], alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5
) -> float:
    """promptfoo's METEOR (its exact and stem stages): harmonic mean weighted by alpha, fragmentation penalty
    gamma * (chunks / matches) ** beta; the best reference wins."""
    words = _meteor_words(candidate)
    return max(_meteor_one(_meteor_words(r), words, alpha, beta, gamma) for r in references)


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
    ok = distance <= limit
    shown = f"{distance}" if exact else f"more than {distance - 1}"
    reason = f"Edit distance {shown} is {'within' if ok else 'over'} the maximum of {num(limit)}."
    return Outcome(ok, float(ok), excerpt(reference), distance, reason)


def _metric(c: Check, name: str, score: float, limit: float, references: list[str]) -> Outcome:
    ok = score >= limit
    reason = f"{name} {score:.4f} is {'at or above' if ok else 'below'} the threshold {num(limit)}."
    expected = excerpt(references[0]) if len(references) == 1 else summary(references)
    return Outcome(ok, score, expected, round(score, 4), reason)


def check_rouge_n(c: Check) -> Outcome:
    reference = c.reference()
    n = int(c.spec.get("n") or 1)
    limit = c.threshold if c.threshold is not None else 0.75
    return _metric(c, f"ROUGE-{n}", rouge_n(c.output, reference, n), limit, [reference])


def check_bleu(c: Check) -> Outcome:
    references = c.references()
    limit = c.threshold if c.threshold is not None else 0.5
    return _metric(c, "BLEU", bleu(c.output, references), limit, references)


def check_gleu(c: Check) -> Outcome:
    references = c.references()
    limit = c.threshold if c.threshold is not None else 0.5
    return _metric(c, "GLEU", gleu(c.output, references), limit, references)


def check_meteor(c: Check) -> Outcome:
    references = c.references()
    if not c.output:
        raise CheckError("METEOR is undefined for an empty output.")
    limit = c.threshold if c.threshold is not None else 0.5
    spec = c.spec
    score = meteor(c.output, references, spec.get("alpha", 0.9), spec.get("beta", 3.0), spec.get("gamma", 0.5))
    return _metric(c, "METEOR", score, limit, references)
