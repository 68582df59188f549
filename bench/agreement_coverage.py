"""Does the reported kappa interval cover the true kappa? (issue 15)

A simulated judge with known error rates (false fail: says fail on a true pass; false pass: says pass on a
true fail) labels items whose truth is known; simulated humans label the same items with their own small
error rate. The true kappa between judge and humans follows from the rates exactly (the population 2x2
table); each repetition draws n items, computes evalgate's kappa interval and checks coverage. The plain
Fleiss-Cohen-Everitt large-sample interval is shown beside it, for comparison.

    python -m bench.agreement_coverage            # 2000 repetitions per scenario
    python -m bench.agreement_coverage --reps 500
"""

from __future__ import annotations

import argparse
import random
import time

from evalgate.stats.agreement import categorical_agreement, kappa_from_matrix
from evalgate.stats.descriptive import confidence_z

# (fail prevalence, judge false-fail rate, judge false-pass rate, human error rate, items)
SCENARIOS = [
    (0.30, 0.10, 0.10, 0.00, 30),
    (0.30, 0.10, 0.10, 0.00, 50),
    (0.30, 0.10, 0.10, 0.03, 100),
    (0.20, 0.05, 0.15, 0.02, 200),
    (0.50, 0.02, 0.02, 0.00, 100),
    (0.10, 0.20, 0.05, 0.05, 100),
    (0.50, 0.30, 0.30, 0.00, 100),
    (0.05, 0.10, 0.10, 0.00, 200),
    (0.30, 0.05, 0.05, 0.02, 500),
]


def population(prevalence: float, false_fail: float, false_pass: float, human_error: float) -> dict:
    """P(human label, judge label) from the rates; judge and human err independently given the truth."""
    cells = {(h, j): 0.0 for h in ("fail", "pass") for j in ("fail", "pass")}
    for truth, p_truth in (("fail", prevalence), ("pass", 1 - prevalence)):
        judge_fail = 1 - false_pass if truth == "fail" else false_fail
        human_fail = 1 - human_error if truth == "fail" else human_error
        for h, ph in (("fail", human_fail), ("pass", 1 - human_fail)):
            for j, pj in (("fail", judge_fail), ("pass", 1 - judge_fail)):
                cells[h, j] += p_truth * ph * pj
    return cells


def true_kappa(cells: dict) -> float:
    matrix = [[cells["fail", "fail"], cells["fail", "pass"]], [cells["pass", "fail"], cells["pass", "pass"]]]
    po = matrix[0][0] + matrix[1][1]
    pe = sum(sum(matrix[i]) * (matrix[0][i] + matrix[1][i]) for i in range(2))
    return (po - pe) / (1 - pe)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    z = confidence_z(0.95)
    print(f"kappa interval coverage, {args.reps} repetitions per scenario, nominal 95%")
    print(
        f"{'prev':>5} {'ff':>5} {'fp':>5} {'hum':>5} {'n':>5} {'true k':>7} {'evalgate':>9} {'FCE only':>9} "
        f"{'undef':>6} {'mean width':>10}"
    )
    worst = 1.0
    started = time.perf_counter()
    for prevalence, false_fail, false_pass, human_error, n in SCENARIOS:
        cells = population(prevalence, false_fail, false_pass, human_error)
        kappa = true_kappa(cells)
        keys, weights = list(cells), list(cells.values())
        covered = covered_fce = undefined = 0
        width = 0.0
        for _ in range(args.reps):
            draws = rng.choices(keys, weights, k=n)
            human = [h for h, _ in draws]
            judge = [j for _, j in draws]
            got = categorical_agreement(judge, human, labels=["fail", "pass"])
            if got.kappa_interval is None:
                undefined += 1
                continue
            lo, hi = got.kappa_interval
            covered += lo <= kappa <= hi
            width += hi - lo
            figures = kappa_from_matrix(got.matrix)
            assert figures is not None
            covered_fce += figures[0] - z * figures[1] <= kappa <= figures[0] + z * figures[1]
        defined = args.reps - undefined
        worst = min(worst, covered / defined)
        print(
            f"{prevalence:5.2f} {false_fail:5.2f} {false_pass:5.2f} {human_error:5.2f} {n:5d} {kappa:7.3f} "
            f"{covered / defined:9.3f} {covered_fce / defined:9.3f} {undefined:6d} {width / defined:10.3f}"
        )
    print(f"worst coverage {worst:.3f} ({'>=' if worst >= 0.95 else '<'} 0.95); {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
