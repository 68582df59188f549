"""How far to trust a judge: agreement of judge and humans per criterion, humans among themselves, golden sets.

- The humans' answer for an item is their consensus: the most common label (a tie is no answer) or the mean
  score. Scores are compared on 0-1: the human scale is mapped onto it (a judge's scores are 0-1).
- The judge's verdict is the one recorded with the item when it was added (``baseline``), or, with a
  ``run_id``, the verdict of that run's result for the item's golden-set case (a judge re-run on the exported
  dataset): both are reported side by side so a rubric change can be compared run to run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalgate.errors import InvalidInput
from evalgate.models.annotations import AnnotationItem, AnnotationQueue, Criterion, Label
from evalgate.models.domain import Dataset, DatasetCase, Principal
from evalgate.services import annotations as queues
from evalgate.services.container import container, utcnow
from evalgate.stats.agreement import (
    MIN_ITEMS,
    Level,
    categorical_agreement,
    reviewer_agreement,
    score_agreement,
)


def _normalise(criterion: Criterion, value: float) -> float:
    assert criterion.scale_min is not None and criterion.scale_max is not None
    return (value - criterion.scale_min) / (criterion.scale_max - criterion.scale_min)


def consensus(criterion: Criterion, values: list[Any]) -> Any:
    """The humans' answer for one item: the most common label (None on a tie), or the mean 0-1 score."""
    given = [v for v in values if v is not None]
    if not given:
        return None
    if criterion.type == "score":
        return sum(_normalise(criterion, float(v)) for v in given) / len(given)
    counts = Counter(given).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def judge_value(criterion: Criterion, verdicts: Mapping[str, Any] | None) -> Any:
    """The judge's answer on the criterion's scale: "pass"/"fail", a 0-1 score, or a label; None if it gave none."""
    if criterion.judge is None or not verdicts:
        return None
    verdict = verdicts.get(criterion.judge)
    if not isinstance(verdict, Mapping):
        return None
    passed, score, label = verdict.get("passed"), verdict.get("score"), verdict.get("label")
    if criterion.type == "pass_fail":
        if isinstance(passed, bool):
            return "pass" if passed else "fail"
        if isinstance(score, int | float):
            return "pass" if score >= criterion.pass_threshold else "fail"
        return None
    if criterion.type == "score":
        return float(score) if isinstance(score, int | float) else None
    if criterion.type == "label":
        return label
    return None


@dataclass(frozen=True)
class QueueData:
    queue: AnnotationQueue
    items: list[AnnotationItem]
    labels: dict[str, list[Label]]  # item id -> labels


def load(principal: Principal, queue_id: str) -> QueueData:
    store = container().annotations
    queue = store.get_queue(principal.project_id, queue_id)
    items = list(store.items(principal.project_id, queue_id))
    labels: dict[str, list[Label]] = {}
    for label in store.labels(principal.project_id, queue_id):
        labels.setdefault(label.item_id, []).append(label)
    return QueueData(queue, items, labels)


def rerun_verdicts(principal: Principal, run_id: int) -> dict[str, dict[str, Any]]:
    """A judge re-run's verdicts by golden-set case (= item id); the first result of a case counts."""
    out: dict[str, dict[str, Any]] = {}
    for result in queues.run_results(principal, run_id):
        key = queues.case_key(result)
        if key and key not in out:
            out[key] = queues.verdicts_of_result(result)
    return out


def _judge_figures(
    criterion: Criterion, judge: list[Any], human: list[Any], confidence: float, min_items: int
) -> dict[str, Any]:
    if criterion.type == "score":
        return score_agreement(judge, human, confidence=confidence, min_items=min_items).to_dict()
    labels = ["fail", "pass"] if criterion.type == "pass_fail" else None
    if criterion.type == "label":
        labels = list(criterion.labels or [])
        unknown = {v for v in judge if v is not None and v not in labels}
        labels += sorted(map(str, unknown))  # a judge label outside the set is still a (wrong) answer
    positive = "fail" if criterion.type == "pass_fail" else None
    return categorical_agreement(
        judge, human, labels=labels, positive=positive, confidence=confidence, min_items=min_items
    ).to_dict()


def agreement(
    principal: Principal,
    queue_id: str,
    *,
    run_id: int | None = None,
    confidence: float = 0.95,
    min_items: int = MIN_ITEMS,
) -> dict[str, Any]:
    """Per criterion: the judge against the humans' consensus (recorded verdicts, and a re-run's if asked for)
    and the humans among themselves (Krippendorff's alpha over items with two or more reviewers)."""
    data = load(principal, queue_id)
    rerun = rerun_verdicts(principal, run_id) if run_id is not None else None
    labelled = [item for item in data.items if data.labels.get(item.id)]
    criteria = []
    for criterion in data.queue.criteria:
        if criterion.type == "comment":
            continue
        per_item = [[label.values.get(criterion.name) for label in data.labels[item.id]] for item in labelled]
        human = [consensus(criterion, values) for values in per_item]
        entry: dict[str, Any] = {"name": criterion.name, "type": criterion.type, "judge": criterion.judge}
        if criterion.judge is not None:
            baseline = [judge_value(criterion, item.judge) for item in labelled]
            entry["judge_vs_humans"] = _judge_figures(criterion, baseline, human, confidence, min_items)
            if rerun is not None:
                rerun_values = [judge_value(criterion, rerun.get(item.id)) for item in labelled]
                entry["rerun_vs_humans"] = _judge_figures(criterion, rerun_values, human, confidence, min_items)
        units = (
            [[None if v is None else _normalise(criterion, float(v)) for v in values] for values in per_item]
            if criterion.type == "score"
            else per_item
        )
        level: Level = "interval" if criterion.type == "score" else "nominal"
        entry["reviewers"] = reviewer_agreement(units, level, min_items=min_items).to_dict()
        criteria.append(entry)
    return {
        "queue_id": data.queue.id,
        "run_id": run_id,
        "items": len(data.items),
        "labelled_items": len(labelled),
        "confidence": confidence,
        "min_items": min_items,
        "criteria": criteria,
    }


def criterion_kappa(principal: Principal, queue_id: str, criterion_name: str | None) -> tuple[str, dict[str, Any]]:
    """The named (else the first judged pass/fail or label) criterion's judge-vs-humans figures (for the gate)."""
    figures = agreement(principal, queue_id)
    judged = [c for c in figures["criteria"] if "judge_vs_humans" in c and c["type"] != "score"]
    if criterion_name is not None:
        judged = [c for c in judged if c["name"] == criterion_name]
    if not judged:
        raise InvalidInput(
            f"annotation queue {queue_id} has no judged pass/fail or label criterion"
            + (f" named {criterion_name!r}" if criterion_name else "")
        )
    return judged[0]["name"], judged[0]["judge_vs_humans"]


# -- golden sets -------------------------------------------------------------------------------------
def _expected_criterion(queue: AnnotationQueue, name: str | None) -> Criterion:
    if name is not None:
        for c in queue.criteria:
            if c.name == name:
                if c.type == "comment":
                    raise InvalidInput("a comment criterion cannot be the expected output", field="criterion")
                return c
        raise InvalidInput(f"the queue has no criterion {name!r}", field="criterion")
    ranked = sorted(
        (c for c in queue.criteria if c.type != "comment"), key=lambda c: (c.type != "pass_fail", c.judge is None)
    )
    if not ranked:
        raise InvalidInput("the queue has no criterion to export as the expected output", field="criterion")
    return ranked[0]


def export_golden_set(
    principal: Principal,
    queue_id: str,
    *,
    prompt_id: int,
    name: str,
    description: str = "",
    criterion: str | None = None,
    complete_only: bool = False,
) -> tuple[Dataset, Criterion]:
    """The labelled items as a dataset of the prompt: a case per item (named by the item id), its input as the
    variables (plus `output` and `context`), the humans' verdict on `criterion` as the expected output and every
    criterion's consensus in the metadata. A suite that echoes `{{output}}` re-runs the judge on it."""
    data = load(principal, queue_id)
    chosen = _expected_criterion(data.queue, criterion)
    now = utcnow()
    cases = []
    for item in data.items:
        labels = data.labels.get(item.id) or []
        if not labels or (complete_only and len(labels) < data.queue.reviewers_per_item):
            continue
        humans = {
            c.name: consensus(c, [label.values.get(c.name) for label in labels])
            for c in data.queue.criteria
            if c.type != "comment"
        }
        verdict = humans.get(chosen.name)
        if verdict is None:
            continue  # the reviewers split evenly: no verdict to expect
        raw_input = item.content.get("input")
        variables: dict[str, Any] = dict(raw_input) if isinstance(raw_input, Mapping) else {"input": raw_input}
        variables.setdefault("output", item.content.get("output"))
        if item.content.get("context") is not None:
            variables.setdefault("context", item.content.get("context"))
        if chosen.type == "score":
            assert chosen.scale_min is not None and chosen.scale_max is not None
            verdict = chosen.scale_min + verdict * (chosen.scale_max - chosen.scale_min)
        cases.append(
            DatasetCase(
                name=item.id,
                variables=variables,
                expected_output=str(verdict),
                metadata={
                    "annotation_queue_id": queue_id,
                    "source": item.source,
                    "human": humans,
                    "reviewers": len(labels),
                    "judge": item.judge,
                    "expected_criterion": chosen.name,
                },
                created_at=now,
                updated_at=now,
            )
        )
    if not cases:
        raise InvalidInput("the queue has no labelled item with a verdict to export yet")
    # lazy: the datasets service is needed only by this export (cold start of the agreement routes)
    from evalgate.services import datasets

    description = description or f"golden set from annotation queue {data.queue.name} ({queue_id})"
    return datasets.create_dataset(principal, prompt_id, name, description, cases), chosen


# -- auto-eval reports ---------------------------------------------------------------------------------
MAX_QUEUES_FOR_REPORT = 20  # the newest queues looked at for a report's judge criteria


def latest_by_judge(principal: Principal, judges: list[str]) -> dict[str, dict[str, Any]]:
    """For each judge name (an auto-eval criterion), the judge-vs-humans figures of the newest annotation queue
    that compares it (a short summary), computed now from that queue's labels."""
    wanted = set(judges)
    found: dict[str, dict[str, Any]] = {}
    page = container().annotations.list_queues(principal.project_id, limit=MAX_QUEUES_FOR_REPORT, cursor=None)
    for queue in page.items:
        names = {c.judge for c in queue.criteria if c.judge in wanted and c.judge not in found and c.type != "comment"}
        if not names:
            continue
        figures = agreement(principal, queue.id)
        for entry in figures["criteria"]:
            judge = entry.get("judge")
            if judge in names and judge not in found and "judge_vs_humans" in entry:
                f = entry["judge_vs_humans"]
                found[judge] = {
                    "queue_id": queue.id,
                    "criterion": entry["name"],
                    "status": f["status"],
                    "n": f["n"],
                    "kappa": f.get("kappa"),
                    "kappa_interval": f.get("kappa_interval"),
                    "spearman": f.get("spearman"),
                    "mean_abs_diff": f.get("mean_abs_diff"),
                    "reason": f.get("reason"),
                }
        if len(found) == len(wanted):
            break
    return found


def annotate_report(principal: Principal, report: dict[str, Any] | None) -> dict[str, Any] | None:
    """An auto-eval report with each judge criterion's latest agreement with people beside its drift row
    (`agreement`: null when no annotation queue compares that criterion)."""
    if not report or not report.get("metric_deltas"):
        return report
    rows = report["metric_deltas"]
    latest = latest_by_judge(principal, [str(row.get("metric")) for row in rows])
    return {**report, "metric_deltas": [{**row, "agreement": latest.get(str(row.get("metric")))} for row in rows]}
