"""A gate's judge-agreement rule (issue 15): the judge's verdicts count only when the judge agrees with people.

Kept apart from the gate's statistics (evalgate.stats.gate): the gate decides on the run as before, then this
rule may take the decision back. With the rule met the verdict stands; with kappa short of the minimum, or too
few labelled items to tell (inconclusive), the verdict is `inconclusive` and the gate does not pass, whatever
`allow_inconclusive` says: an untrusted judge's pass is no evidence.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from evalgate.errors import InvalidInput, NotFound
from evalgate.models.domain import JudgeAgreementRule, Principal
from evalgate.services import annotation_agreement
from evalgate.services.container import container


def check_rule(principal: Principal, rule: JudgeAgreementRule) -> None:
    """The queue exists in the caller's project and has the criterion (400 naming the field otherwise)."""
    try:
        queue = container().annotations.get_queue(principal.project_id, rule.queue_id)
    except NotFound as exc:
        raise InvalidInput(f"annotation queue {rule.queue_id} not found", field="judgeAgreement.queueId") from exc
    judged = [c for c in queue.criteria if c.judge is not None and c.type in ("pass_fail", "label")]
    if rule.criterion is not None:
        judged = [c for c in judged if c.name == rule.criterion]
    if not judged:
        raise InvalidInput(
            f"annotation queue {rule.queue_id} has no judged pass/fail or label criterion"
            + (f" named {rule.criterion!r}" if rule.criterion else ""),
            field="judgeAgreement.criterion",
        )


def decide(rule: JudgeAgreementRule, figures: dict[str, Any]) -> tuple[bool, str]:
    """Whether the judge may be trusted, and the sentence that says why (figures: categorical_agreement's)."""
    if figures.get("status") != "ok" or figures.get("kappa") is None:
        return False, f"judge agreement is inconclusive ({figures.get('reason')})"
    kappa = float(figures["kappa"])
    lo, hi = figures["kappa_interval"]
    measured = lo if rule.bound == "lower" else kappa
    text = f"kappa {kappa:.2f} [{lo:.2f}, {hi:.2f}] on {figures['n']} items"
    what = "its interval's lower bound" if rule.bound == "lower" else "it"
    if measured >= rule.min_kappa:
        return True, f"judge agreement {text}: {what} reaches {rule.min_kappa:.2f}"
    return False, f"judge agreement {text}: {what} is below {rule.min_kappa:.2f}"


def apply(principal: Principal, rule: JudgeAgreementRule, result: Any) -> Any:
    """The gate's result with the rule applied (a GateResult of evalgate.stats.gate)."""
    criterion: str | None = rule.criterion
    try:
        criterion, figures = annotation_agreement.criterion_kappa(principal, rule.queue_id, rule.criterion)
    except (NotFound, InvalidInput) as exc:  # the queue was deleted or changed since the rule was saved
        figures = {"status": "inconclusive", "reason": exc.message}
    met, sentence = decide(rule, figures)
    summary = {
        "queueId": rule.queue_id,
        "criterion": criterion,
        "minKappa": rule.min_kappa,
        "bound": rule.bound,
        "met": met,
        "kappa": figures.get("kappa"),
        "kappaInterval": figures.get("kappa_interval"),
        "n": figures.get("n"),
        "status": figures.get("status"),
    }
    merged = {**result.figures, "judgeAgreement": summary}
    if met:
        return replace(result, reason=f"{result.reason}; {sentence}", figures=merged)
    return replace(
        result,
        passed=False,
        verdict="inconclusive",
        reason=f"{sentence}, so the judge's verdicts do not count (the run alone: {result.verdict})",
        figures=merged,
    )
