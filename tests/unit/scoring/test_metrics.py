"""Levenshtein, ROUGE-N, BLEU, cosine and the token estimate against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from evalgate.scoring import CaseOutput, estimate_tokens, evaluate
from evalgate.scoring.metrics import (
    bleu,
    cosine,
    gleu,
    levenshtein,
    levenshtein_similarity,
    meteor,
    rouge_n,
    treebank_tokenize,
)
from evalgate.scoring.stemmer import stem


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),  # k->s, e->i, +g
        ("flaw", "lawn", 2),  # -f, +n
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("gumbo", "gambol", 2),
        ("héllo", "hello", 1),  # code points, not bytes
    ],
)
def test_levenshtein_distances(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == (distance, True)
    assert levenshtein(b, a) == (distance, True)


def test_levenshtein_banded_search_on_long_strings_is_exact_within_the_limit() -> None:
    # Given strings too big for the full table that differ by 3 edits in the middle
    a = "x" * 3000 + "abc" + "y" * 3000
    b = "x" * 3000 + "abd" + "y" * 2998 + "zz"
    # When measured with a small cell budget / Then the banded search still finds the exact distance
    assert levenshtein(a, b, at_most=5, max_cells=10_000) == (levenshtein(a, b)[0], True)
    assert levenshtein(a, b)[0] == 3


def test_levenshtein_on_huge_different_strings_returns_a_lower_bound() -> None:
    distance, exact = levenshtein("a" * 5000, "b" * 5000, at_most=5, max_cells=200_000)
    assert not exact
    assert 5 < distance <= 5000


def test_levenshtein_similarity_is_one_minus_distance_over_longest() -> None:
    assert levenshtein_similarity(3, "kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert levenshtein_similarity(0, "", "") == 1.0


def test_levenshtein_assertion_reports_distance_with_a_binary_score() -> None:
    # promptfoo scores levenshtein 1 when the distance is within the threshold, else 0
    [result] = evaluate([{"type": "levenshtein", "value": "kitten"}], CaseOutput(output="sitting")).assertions
    assert (result.status, result.actual, result.score) == ("passed", 3, 1.0)  # default maximum distance is 5


def test_treebank_tokenize_splits_punctuation_and_contractions() -> None:
    assert treebank_tokenize("Hello, World! Don't stop.") == ["Hello", ",", "World", "!", "Do", "n't", "stop", "."]
    assert treebank_tokenize("I cannot gimme 3,000 (now)") == ["I", "can", "not", "gim", "me", "3,000", "(", "now", ")"]


def test_rouge_1_recall_by_hand() -> None:
    # reference unigrams: the x2, cat, sat, on, mat (6); candidate matches the x1, cat, on, mat -> 4/6
    assert rouge_n("the cat lay on a mat", "the cat sat on the mat") == pytest.approx(4 / 6)


def test_rouge_2_recall_by_hand() -> None:
    # reference bigrams: the cat, cat sat, sat on, on the, the mat (5); the candidate shares only "the cat"
    assert rouge_n("the cat lay on a mat", "the cat sat on the mat", n=2) == pytest.approx(1 / 5)


def test_rouge_lowercases_but_counts_punctuation_tokens() -> None:
    # "hello , world ." vs "hello world": P 2/4, R 2/2 -> F1 2/3 (promptfoo lowercases, Treebank keeps punctuation)
    assert rouge_n("Hello, WORLD.", "hello world") == pytest.approx(2 / 3)
    assert rouge_n("the cat sat down.", "the cat sat") == 0.75  # js-rouge's order of operations: exactly 0.75


def test_rouge_assertion_uses_n_and_reports_recall() -> None:
    out = CaseOutput(output="the cat lay on a mat")
    [r1, r2] = evaluate(
        [
            {"type": "rouge-n", "value": "the cat sat on the mat", "threshold": 0.6},
            {"type": "rouge-n", "value": "the cat sat on the mat", "n": 2, "threshold": 0.6},
        ],
        out,
    ).assertions
    assert (r1.status, r1.actual, r1.score) == ("passed", round(4 / 6, 4), pytest.approx(4 / 6))
    assert (r2.status, r2.actual) == ("failed", 0.2)


def test_rouge_with_reference_shorter_than_n_scores_zero() -> None:
    [result] = evaluate([{"type": "rouge-n", "value": "hello", "n": 2}], CaseOutput(output="hello")).assertions
    assert (result.status, result.score) == ("failed", 0.0)
    assert "ROUGE-2" in result.reason


def test_bleu_identical_is_one() -> None:
    assert bleu("the cat sat on the mat", ["the cat sat on the mat"]) == pytest.approx(1.0)


def test_bleu_with_all_precisions_positive_by_hand() -> None:
    # candidate (7 words) vs reference (6): p1 6/7, p2 5/6, p3 4/5, p4 3/4; c > r so no brevity penalty
    expected = (6 / 7 * 5 / 6 * 4 / 5 * 3 / 4) ** 0.25  # = (3/7) ** 0.25
    assert bleu("the cat sat on the mat today", ["the cat sat on the mat"]) == pytest.approx(expected)


def test_bleu_brevity_penalty_by_hand() -> None:
    # every n-gram of the 5-word candidate is in the 6-word reference: precisions 1, BP = exp(1 - 6/5)
    assert bleu("the cat sat on the", ["the cat sat on the mat"]) == pytest.approx(math.exp(-0.2))


def test_bleu_zero_precision_is_smoothed_like_promptfoo() -> None:
    # p1 5/6, p2 3/5, p3 1/4, p4 0 -> 1e-7; equal lengths
    expected = math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(1e-7)) / 4)
    assert bleu("the cat sat on the mat", ["the cat is on the mat"]) == pytest.approx(expected)


def test_bleu_clips_by_the_best_reference_and_uses_the_closest_length() -> None:
    # the second reference is identical; the closest length (6) is also the identical one
    assert bleu("the cat sat on the mat", ["a dog", "the cat sat on the mat"]) == pytest.approx(1.0)


def test_bleu_of_empty_candidate_is_zero() -> None:
    assert bleu("", ["the cat"]) == 0.0
    assert bleu("   ", ["the cat"]) == 0.0
    # "..." is a word to promptfoo's whitespace tokenizer: unigram precision 0 smoothed to 1e-7, brevity e^-1
    assert bleu("...", ["the cat"]) == pytest.approx(1e-7 * math.exp(-1))


def test_gleu_and_meteor_by_hand() -> None:
    # GLEU: identical token lists (trailing dots dropped, lowercased) score 1
    assert gleu("The cat sat.", ["the cat sat"]) == 1.0
    # 1..4-gram matches 2+1+0+0 = 3 of candidate 4+3+2+1 = 10 and reference 3+2+1 = 6 -> min(0.3, 0.5)
    assert gleu("a cat sat down", ["the cat sat"]) == pytest.approx(0.3)
    # METEOR: 6 of 6 words match (cats~cat by stem) in one chunk: fmean 1, penalty 0.5 * (1/6)^3
    assert meteor("the cat sat on the mat", ["the cats sat on the mat"]) == pytest.approx(1 - 0.5 * (1 / 6) ** 3)
    assert meteor("dogs run", ["the cat sat"]) == 0.0


def test_porter_stemmer_reference_words() -> None:
    # pairs from Porter's paper (1980) and the reference vocabulary
    pairs = {
        "caresses": "caress", "ponies": "poni", "cats": "cat", "feed": "feed", "agreed": "agre", "plastered": "plaster",
        "motoring": "motor", "sing": "sing", "conflated": "conflat", "hopping": "hop", "filing": "file",
        "happy": "happi", "relational": "relat", "conditional": "condit", "rational": "ration",
        "digitizer": "digit", "generalization": "gener", "electrical": "electr", "adjustment": "adjust",
        "adoption": "adopt", "controll": "control", "roll": "roll", "probate": "probat", "rate": "rate",
    }  # fmt: skip
    assert {word: stem(word) for word in pairs} == pairs


def test_bleu_assertion_with_blank_reference_fails() -> None:
    # promptfoo tokenizes a blank reference to [""]: nothing matches, BLEU ~1e-7
    [result] = evaluate([{"type": "bleu"}], CaseOutput(output="x", expected="  ")).assertions
    assert result.status == "failed"


def test_cosine() -> None:
    assert cosine([1, 0], [0.6, 0.8]) == pytest.approx(0.6)
    assert cosine([1, 1], [-1, -1]) == pytest.approx(-1.0)
    assert cosine([0, 0], [1, 0]) == 0.0
    with pytest.raises(ValueError, match="sizes differ"):
        cosine([1, 0], [1, 0, 0])


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("Hello, world!", 4),  # Hello , world !
        ("the", 1),
        ("evaluation", 2),  # 10 letters -> 2 runs of 6
        ("internationalization", 4),  # 20 letters
        ("12345678", 3),  # digits in groups of three
        ("中文字", 3),  # one per CJK character
        ("abc中文", 3),  # letters stop at CJK
        ('{"a": 1}', 7),  # { " a " : 1 }
    ],
)
def test_estimate_tokens_rules(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_estimate_tokens_is_near_the_four_characters_rule_on_prose() -> None:
    prose = (
        "Large language models are evaluated with assertions that check each output against expectations. "
        "A good evaluation suite mixes deterministic checks, such as substring and schema tests, with graded "
        "ones that ask another model for a judgement, and it reports both the score and the reason. "
    ) * 10
    estimate = estimate_tokens(prose)
    assert 0.7 * len(prose) / 4 <= estimate <= 1.3 * len(prose) / 4


def test_token_count_falls_back_to_the_estimate() -> None:
    [measured, estimated] = evaluate(
        [{"type": "token-count", "value": {"max": 3}}] * 2,
        CaseOutput(output="Hello, world!"),
    ).assertions
    assert (measured.status, measured.actual) == ("failed", 4)
    assert "estimated" in estimated.reason
    [reported] = evaluate(
        [{"type": "token-count", "value": 2}], CaseOutput(output="Hello, world!", output_tokens=2)
    ).assertions
    assert (reported.status, reported.actual) == ("passed", 2)
    assert "estimated" not in reported.reason
