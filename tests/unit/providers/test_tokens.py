"""Offline token estimate against the exact cl100k_base counts of a few samples (counted once with tiktoken and
its bundled cl100k file; nothing here downloads anything)."""

from __future__ import annotations

import pytest

from evalgate.providers.tokens import estimate_chat_tokens, estimate_tokens

# (name, true cl100k_base token count, text)
SAMPLES: list[tuple[str, int, str]] = [
    (
        "prose",
        72,
        (
            "Machine learning models are increasingly deployed in production systems, where their "
            "behaviour must be evaluated continuously. A regression in accuracy, a change in tone, or "
            "a spike in latency can go unnoticed for weeks unless someone measures it. Evaluation "
            "suites run the same prompts against a fixed dataset and compare the results with a "
            "baseline, so that every change is tested before it reaches users."
        ),
    ),
    (
        "chat",
        56,
        (
            "You are a helpful assistant. Answer the customer's question politely and "
            "concisely.\n\nCustomer: Hi, I ordered a pair of running shoes last Tuesday and they still "
            "haven't arrived. The tracking number is not working either. Can you help me find out "
            "where my package is?"
        ),
    ),
    (
        "qa",
        15,
        ("Question: What is the capital of France?\nAnswer with a single word."),
    ),
    (
        "story",
        64,
        (
            "Once upon a time, in a small village at the edge of a great forest, there lived an old "
            "woodcutter and his daughter. Every morning he went into the woods with his axe, and every "
            "evening he came home tired but happy. One day, he found a golden bird caught in a thorny "
            "bush."
        ),
    ),
    (
        "technical",
        56,
        (
            "To configure the retry policy, set the maximum number of attempts and the base delay. The "
            "client uses exponential backoff with full jitter: each wait is a random value between "
            "zero and the base delay multiplied by two to the power of the attempt number, capped at "
            "the maximum delay."
        ),
    ),
    (
        "json",
        76,
        (
            '{"id": "run_01HZX3", "status": "completed", "summary": {"passed": 42, "failed": 3, '
            '"score": 0.9333, "latency_ms": {"p50": 812, "p95": 2140}}, "tags": ["nightly", '
            '"gpt-4o-mini"]}'
        ),
    ),
    (
        "code",
        54,
        (
            'def fibonacci(n: int) -> list[int]:\n    """Return the first n Fibonacci numbers."""\n    '
            "result = [0, 1]\n    while len(result) < n:\n        result.append(result[-1] + "
            "result[-2])\n    return result[:n]\n"
        ),
    ),
    (
        "numbers",
        41,
        ("Order 1234567 shipped on 2024-03-15 at 14:32; total $1,249.99 for 3 items (SKU 88-1200-45)."),
    ),
    (
        "french",
        21,
        ("Le modèle de langage répond aux questions des utilisateurs en français avec une précision remarquable."),
    ),
    (
        "science",
        48,
        (
            "Photosynthetic organisms utilize chlorophyll-mediated light absorption to drive the "
            "thermodynamically unfavourable reduction of carbon dioxide, whereas chemolithoautotrophic "
            "bacteria oxidize inorganic substrates such as ammonium or ferrous iron."
        ),
    ),
    (
        "markdown",
        53,
        (
            "## Release notes\n\n- Added **streaming** support for the `/v1/chat` endpoint\n- Fixed a bug "
            "where `max_tokens` was ignored\n- Deprecated the `legacy_mode` flag (see "
            "[docs](https://example.com/docs/migration))\n"
        ),
    ),
    (
        "email",
        53,
        (
            "Hi Sarah,\n\nThanks for sending over the quarterly report. I had a look at the figures and "
            "everything seems fine, except for the marketing budget, which looks higher than we "
            "agreed. Could we schedule a quick call tomorrow afternoon to go through it?\n\nBest "
            "regards,\nTom"
        ),
    ),
    (
        "rubric",
        61,
        (
            "Evaluate whether the response is factually consistent with the reference answer. Score 1 "
            "if all claims are supported, 0.5 if some claims are unsupported but none contradict the "
            "reference, and 0 if any claim contradicts it. Explain your reasoning briefly, then output "
            "the score on the last line."
        ),
    ),
    (
        "news",
        48,
        (
            "The central bank raised interest rates by a quarter of a percentage point on Wednesday, "
            "citing persistent inflation in services and a tight labour market. Economists had widely "
            "expected the move, although several warned that further increases could tip the economy "
            "into recession."
        ),
    ),
    (
        "sql",
        45,
        (
            "SELECT customer_id, COUNT(*) AS orders, SUM(total_amount) AS revenue\nFROM orders\nWHERE "
            "created_at >= '2024-01-01'\nGROUP BY customer_id\nORDER BY revenue DESC\nLIMIT 10;"
        ),
    ),
    (
        "instructions",
        28,
        (
            "Summarize the following article in three bullet points. Each bullet point should be no "
            "longer than twenty words and must not include any opinions."
        ),
    ),
    (
        "dialogue",
        51,
        (
            "User: Can you recommend a good book about the history of mathematics?\nAssistant: "
            'Certainly! "The Story of Mathematics" by Anne Rooney is an accessible overview, and '
            '"Journey through Genius" by William Dunham explores great theorems in depth.'
        ),
    ),
]

TOLERANCE = 0.12  # every sample (English prose, chat, JSON, code, SQL, markdown; one French) within 12 %


@pytest.mark.parametrize(("name", "true_count", "text"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_sample_is_close_to_the_true_count(name: str, true_count: int, text: str) -> None:
    # Given a sample with its exact token count / When estimated offline
    estimate = estimate_tokens(text)
    # Then the relative error stays within the documented bound
    assert abs(estimate - true_count) / true_count <= TOLERANCE, (name, estimate, true_count)


def test_total_error_is_small_and_better_than_chars_over_four() -> None:
    true_total = sum(n for _, n, _ in SAMPLES)
    estimate_total = sum(estimate_tokens(t) for _, _, t in SAMPLES)
    chars_total = sum(len(t) for _, _, t in SAMPLES) / 4
    assert abs(estimate_total - true_total) / true_total < 0.03
    assert abs(estimate_total - true_total) < abs(chars_total - true_total)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("Hello, world!", 4), ("I don't know what you're talking about.", 10), ("12345678", 3)],
)
def test_small_texts(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_whitespace_only_text_counts_at_least_one_token() -> None:
    assert estimate_tokens("   ") == 1


def test_cjk_counts_one_token_per_ideograph() -> None:
    # Given Japanese text (17 true cl100k tokens) / Then the estimate is within 20 %
    assert abs(estimate_tokens("日本語のテキストを翻訳してください。") - 17) <= 3


def test_long_words_cost_more_than_short_ones() -> None:
    assert estimate_tokens("cat") == 1
    assert estimate_tokens("antidisestablishmentarianism") > 2


def test_chat_tokens_add_message_framing() -> None:
    assert estimate_chat_tokens("Hello") == estimate_tokens("Hello") + 7
    assert estimate_chat_tokens("Hello", "Be brief.") == estimate_tokens("Hello") + estimate_tokens("Be brief.") + 11
