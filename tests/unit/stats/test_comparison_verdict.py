"""The one plain verdict of a paired comparison (the console's badge): better, worse, no difference."""

from __future__ import annotations

from evalgate.stats.gate import comparison_verdict


def test_an_interval_that_excludes_zero_decides_the_direction() -> None:
    assert comparison_verdict(0.2, (0.05, 0.35), 0.2, None, None, 0.05)[0] == "better"
    assert comparison_verdict(-0.2, (-0.35, -0.05), 0.2, None, None, 0.05)[0] == "worse"
    assert comparison_verdict(None, None, None, 0.1, (0.02, 0.2), 0.05)[0] == "better"
    assert comparison_verdict(None, None, None, -0.1, (-0.2, -0.01), 0.05)[0] == "worse"


def test_mcnemar_below_alpha_counts_in_the_delta_direction() -> None:
    verdict, why = comparison_verdict(-0.3, (-0.6, 0.01), 0.01, None, None, 0.05)
    assert verdict == "worse" and "McNemar" in why


def test_nothing_significant_is_no_difference() -> None:
    verdict, why = comparison_verdict(0.2, (-0.28, 0.58), 1.0, 0.067, (0.0, 0.175), 0.05)
    assert verdict == "no_difference" and "no interval excludes 0" in why
    assert comparison_verdict(None, None, None, None, None, 0.05)[0] == "no_difference"


def test_signals_that_disagree_are_no_difference() -> None:
    verdict, why = comparison_verdict(0.2, (0.05, 0.35), None, -0.1, (-0.2, -0.05), 0.05)
    assert verdict == "no_difference" and why.startswith("the signals disagree")
