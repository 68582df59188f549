"""Annotation queues (human review, issue 15): queues, items from runs/traces/auto-eval, claims, labels, progress.

Reviewers are API keys (the `reviewer` role, or member and up): a reviewer is its key id. The agreement figures
and the golden-set export are in evalgate.services.annotation_agreement.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.annotations import AnnotationItem, AnnotationQueue, Criterion, Label, Slot
from evalgate.models.domain import ExternalResult, Page, Principal, RunResult
from evalgate.services.container import container, utcnow

MAX_ITEMS_PER_ADD = 500  # items one request adds (singly, by filter or sampled)
MAX_SOURCE_RESULTS = 20_000  # results of a run (or samples of a job) a filter or a sample reads
MAX_COMMENT = 10_000
MAX_CONTENT_BYTES = 300_000  # an item's copied content (a DynamoDB item holds at most 400 KB)
TRUNCATED_TEXT = 50_000  # a long field of a sourced item is cut to this many characters
CLAIM_SCAN_LIMIT = 2_000  # open items a claim-next looks at before answering "nothing for you now"


def new_queue_id(now: datetime) -> str:
    """`aq_` + milliseconds (hex, fixed width) + randomness: ids sort by creation time."""
    return f"aq_{int(now.timestamp() * 1000):012x}{secrets.token_hex(5)}"


def _item_id(source: Mapping[str, Any]) -> str:
    """The same source always gives the same id: adding it twice stores it once."""
    raw = json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
    return "ai_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


# -- queues ---------------------------------------------------------------------------------------
def _check_criteria(criteria: list[Criterion]) -> None:
    seen: set[str] = set()
    for i, c in enumerate(criteria):
        where = f"criteria[{i}]"
        if c.name in seen:
            raise InvalidInput(f"duplicate criterion name {c.name!r}", field=f"{where}.name")
        seen.add(c.name)
        if c.type == "score":
            if c.scale_min is None or c.scale_max is None or not c.scale_min < c.scale_max:
                raise InvalidInput("a score criterion needs scale_min < scale_max", field=where)
        elif c.scale_min is not None or c.scale_max is not None:
            raise InvalidInput("only a score criterion has a scale", field=where)
        if c.type == "label":
            if not c.labels or len(set(c.labels)) != len(c.labels):
                raise InvalidInput("a label criterion needs a list of distinct labels", field=f"{where}.labels")
        elif c.labels is not None:
            raise InvalidInput("only a label criterion has labels", field=f"{where}.labels")
        if c.type == "comment" and c.judge is not None:
            raise InvalidInput("a comment criterion has no judge to compare", field=f"{where}.judge")


def create_queue(principal: Principal, values: Mapping[str, Any]) -> AnnotationQueue:
    criteria = [Criterion(**c) for c in values["criteria"]]
    _check_criteria(criteria)
    now = utcnow()
    queue = AnnotationQueue(
        id=new_queue_id(now),
        project_id=principal.project_id,
        name=values["name"],
        description=values.get("description") or "",
        instructions=values.get("instructions") or "",
        criteria=criteria,
        reviewers_per_item=values.get("reviewers_per_item") or 1,
        claim_seconds=values.get("claim_seconds") or container().settings.annotation_claim_seconds,
        created_at=now,
        created_by=principal.key_id,
    )
    container().annotations.create_queue(queue)
    return queue


def get_queue(principal: Principal, queue_id: str) -> AnnotationQueue:
    return container().annotations.get_queue(principal.project_id, queue_id)


def list_queues(principal: Principal, *, limit: int, cursor: str | None) -> Page:
    return container().annotations.list_queues(principal.project_id, limit=limit, cursor=cursor)


# -- judge verdicts and content from each source ----------------------------------------------------
def _verdict_of(value: Any) -> dict[str, Any] | None:
    """A scorer's or evaluator's judgment as {passed, score, label}: a bool, a number, a label, or a dict."""
    if isinstance(value, bool):
        return {"passed": value, "score": 1.0 if value else 0.0, "label": None}
    if isinstance(value, int | float):
        return {"passed": None, "score": float(value), "label": None}
    if isinstance(value, str):
        return {"passed": None, "score": None, "label": value}
    if isinstance(value, Mapping):
        passed = value.get("passed", value.get("pass"))
        score = value.get("score")
        label = value.get("label")
        return {
            "passed": bool(passed) if isinstance(passed, bool) else None,
            "score": float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
            "label": str(label) if label is not None else None,
        }
    return None


def verdicts_of_result(result: RunResult | ExternalResult) -> dict[str, dict[str, Any]]:
    """The judge verdicts of one run result, by assertion metric or type (suite results) or scorer name."""
    out: dict[str, dict[str, Any]] = {}
    if isinstance(result, RunResult):
        for a in result.assertions:
            errored = a.get("status") == "errored"
            verdict = {
                "passed": None if errored else a.get("status") == "passed",
                "score": None if errored else a.get("score"),
                "label": None,
            }
            for name in (a.get("metric"), a.get("operator"), a.get("type")):
                if name and str(name) not in out:
                    out[str(name)] = verdict
        return out
    for name, value in (result.scorer_results or {}).items():
        judged = _verdict_of(value)
        if judged is not None:
            out[str(name)] = judged
    return out


def _content_of_result(result: RunResult | ExternalResult, run_id: int) -> dict[str, Any]:
    if isinstance(result, RunResult):
        variables = result.variables or {}
        return {
            "input": variables or None,
            "output": result.output,
            "context": variables.get("context"),
            "expected": result.expected,
            "metadata": {"run_id": run_id, "case": result.case_name, "status": result.status, "score": result.score},
        }
    extra = result.model_extra or {}
    return {
        "input": result.input,
        "output": result.actual_output,
        "context": extra.get("context"),
        "expected": result.expected_output,
        "metadata": {"run_id": run_id, "case": extra.get("caseId"), "passed": result.passed, "score": result.score},
    }


def result_id(result: RunResult | ExternalResult) -> str:
    return str(result.index) if isinstance(result, RunResult) else result.id


def case_key(result: RunResult | ExternalResult) -> str | None:
    """What pairs a result with a golden-set case: the case name (suite runs) or caseId/id (external)."""
    if isinstance(result, RunResult):
        return result.case_name
    extra = result.model_extra or {}
    return str(extra.get("caseId") or result.id)


def run_results(principal: Principal, run_id: int) -> Iterator[RunResult | ExternalResult]:
    """Every counted result of a run: executed (suite and orchestrated runs) or reported (external, logs)."""
    c = container()
    run = c.runs.get_run(principal.project_id, run_id)
    executed = run.kind != "external" or run.has_spec
    cursor: str | None = None
    read = 0
    while True:
        if executed:
            page = c.runs.list_results(principal.project_id, run_id, limit=100, cursor=cursor)
        else:
            page = c.runs.list_external_results(principal.project_id, run_id, limit=100, cursor=cursor)
        for result in page.items:
            read += 1
            if read > MAX_SOURCE_RESULTS:
                raise InvalidInput(f"the run has more than {MAX_SOURCE_RESULTS} results: add items by id or sample")
            yield result
        cursor = page.next_cursor
        if not cursor:
            return


@dataclass
class Candidate:
    source: dict[str, Any]
    content: dict[str, Any]
    judge: dict[str, dict[str, Any]] = field(default_factory=dict)


def _parse_run_id(raw: Any) -> int:
    text = str(raw)
    if not text.isdigit() or len(text) > 16:
        raise NotFound(f"run {raw} not found")
    return int(text)


def _from_run(principal: Principal, spec: Mapping[str, Any]) -> list[Candidate]:
    run_id = _parse_run_id(spec["run_id"])
    wanted_ids = {str(i) for i in spec.get("result_ids") or ()}
    status = spec.get("status")
    failed_judge = spec.get("judge_failed")
    out = []
    for result in run_results(principal, run_id):
        rid = result_id(result)
        if wanted_ids and rid not in wanted_ids:
            continue
        verdicts = verdicts_of_result(result)
        if status is not None:
            got = result.status if isinstance(result, RunResult) else _external_status(result)
            if got != status:
                continue
        if failed_judge is not None and (verdicts.get(failed_judge) or {}).get("passed") is not False:
            continue
        out.append(
            Candidate({"kind": "run", "run_id": run_id, "result_id": rid}, _content_of_result(result, run_id), verdicts)
        )
    if wanted_ids:
        missing = wanted_ids - {c.source["result_id"] for c in out}
        if missing:
            raise NotFound(f"run {run_id} has no result {sorted(missing)[0]}")
    return out


def _external_status(result: ExternalResult) -> str:
    if (result.model_extra or {}).get("error"):
        return "errored"
    return "passed" if result.passed else "failed"


def _trace_content(trace: Any) -> dict[str, Any]:
    return {
        "input": trace.input or None,
        "output": trace.output,
        "context": trace.context,
        "expected": None,
        "metadata": {
            "trace_id": trace.id,
            "model": trace.model,
            "prompt_id": trace.prompt_id,
            "timestamp": trace.timestamp.isoformat(),
        },
    }


def _from_traces(principal: Principal, trace_ids: list[str]) -> list[Candidate]:
    found = container().traces.get_many(principal.project_id, trace_ids)
    missing = [t for t in trace_ids if t not in found]
    if missing:
        raise NotFound(f"trace {missing[0]} not found")
    return [Candidate({"kind": "trace", "trace_id": t}, _trace_content(found[t])) for t in dict.fromkeys(trace_ids)]


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _trace_filter(principal: Principal, spec: Mapping[str, Any]) -> list[Candidate]:
    page = container().traces.list_page(
        principal.project_id,
        model=spec.get("model"),
        prompt_id=spec.get("prompt_id"),
        environment=spec.get("environment"),
        since=_utc(spec.get("since")),
        until=_utc(spec.get("until")),
        limit=min(MAX_SOURCE_RESULTS, 1000),
        cursor=None,
    )
    return [Candidate({"kind": "trace", "trace_id": t.id}, _trace_content(t)) for t in page.items]


def _from_auto_eval(principal: Principal, spec: Mapping[str, Any]) -> list[Candidate]:
    c = container()
    job_id = str(spec["job_id"])
    c.jobs.get_job(principal.project_id, job_id)  # 404 for another project's job
    samples = [s for s in c.jobs.samples(principal.project_id, job_id) if s.status == "scored"]
    wanted = spec.get("trace_ids")
    if wanted:
        by_id = {s.trace_id: s for s in samples}
        missing = [t for t in wanted if t not in by_id]
        if missing:
            raise NotFound(f"auto-eval job {job_id} has no scored sample of trace {missing[0]}")
        samples = [by_id[t] for t in dict.fromkeys(wanted)]
    failed = spec.get("failed_criterion")
    if failed is not None:
        samples = [s for s in samples if s.passed.get(failed) is False]
    traces = c.traces.get_many(principal.project_id, [s.trace_id for s in samples])
    out = []
    for s in samples:
        trace = traces.get(s.trace_id)
        if trace is None:
            continue  # expired since it was judged
        judge = {
            name: {"passed": s.passed.get(name), "score": score, "label": None} for name, score in s.scores.items()
        }
        out.append(
            Candidate({"kind": "auto_eval", "job_id": job_id, "trace_id": s.trace_id}, _trace_content(trace), judge)
        )
    return out


def _manual(entry: Mapping[str, Any]) -> Candidate:
    content = {k: entry.get(k) for k in ("input", "output", "context", "expected")}
    content["metadata"] = entry.get("metadata") or {}
    judge = {}
    for name, value in (entry.get("judge") or {}).items():
        verdict = _verdict_of(value)
        if verdict is None:
            raise InvalidInput(f"judge verdict {name!r} must be a boolean, a number, a label or an object")
        judge[str(name)] = verdict
    digest = _item_id({"content": content, "judge": judge})
    return Candidate({"kind": "manual", "ref": entry.get("ref") or digest}, content, judge)


def _sampled(candidates: list[Candidate], sample: Mapping[str, Any] | None) -> list[Candidate]:
    """A seeded random sample (the same seed and candidates give the same items in the same order)."""
    if not sample:
        return candidates
    ordered = sorted(candidates, key=lambda c: _item_id(c.source))
    size = min(int(sample["size"]), len(ordered))
    return random.Random(int(sample.get("seed", 0))).sample(ordered, size)


def _fit(cand: Candidate, where: str) -> Candidate:
    """Content small enough for one item: a sourced item's long fields are cut (and marked); a manual item that
    is too big is refused."""

    def size(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":"), default=str).encode())

    if size(cand.content) + size(cand.judge) <= MAX_CONTENT_BYTES:
        return cand
    if cand.source.get("kind") == "manual":
        raise InvalidInput(
            f"an item's input, output, context, expected and metadata are at most {MAX_CONTENT_BYTES} bytes of JSON",
            field=where,
        )
    content = dict(cand.content)
    for name in ("output", "input", "context", "expected", "metadata"):
        value = content.get(name)
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > TRUNCATED_TEXT:
            content[name] = text[:TRUNCATED_TEXT] + " …[truncated]"
            content["truncated"] = True
    if size(content) + size(cand.judge) > MAX_CONTENT_BYTES:
        raise InvalidInput(f"the source's content is too large to review ({where})", field=where)
    return Candidate(cand.source, content, cand.judge)


@dataclass(frozen=True)
class AddOutcome:
    added: list[str]
    already_present: list[str]


def add_items(principal: Principal, queue_id: str, body: Mapping[str, Any]) -> AddOutcome:
    """Add items one by one (`items`), or by filter / seeded sample from a run, an auto-eval job or traces."""
    c = container()
    queue = c.annotations.get_queue(principal.project_id, queue_id)
    candidates: list[Candidate] = []
    for entry in body.get("items") or ():
        kind = entry["kind"]
        if kind == "run":
            if entry.get("result_id") is None:
                raise InvalidInput("a run item needs result_id", field="items.result_id")
            candidates += _from_run(principal, {"run_id": entry.get("run_id"), "result_ids": [entry["result_id"]]})
        elif kind == "trace":
            candidates += _from_traces(principal, [str(entry.get("trace_id"))])
        elif kind == "auto_eval":
            candidates += _from_auto_eval(
                principal, {"job_id": entry.get("job_id"), "trace_ids": [str(entry.get("trace_id"))]}
            )
        else:
            candidates.append(_manual(entry))
    if body.get("from_run"):
        candidates += _sampled(_from_run(principal, body["from_run"]), body["from_run"].get("sample"))
    if body.get("from_auto_eval"):
        candidates += _sampled(_from_auto_eval(principal, body["from_auto_eval"]), body["from_auto_eval"].get("sample"))
    if body.get("from_traces"):
        candidates += _sampled(_trace_filter(principal, body["from_traces"]), body["from_traces"].get("sample"))
    if len(candidates) > MAX_ITEMS_PER_ADD:
        raise InvalidInput(
            f"{len(candidates)} items selected; at most {MAX_ITEMS_PER_ADD} per request (narrow the filter or sample)"
        )
    now = utcnow()
    stamp = f"{int(now.timestamp() * 1000):013d}"
    added: list[str] = []
    present: list[str] = []
    for i, cand in enumerate(candidates):
        cand = _fit(cand, f"items[{i}]")
        item = AnnotationItem(
            id=_item_id(cand.source),
            queue_id=queue.id,
            source=cand.source,
            content=cand.content,
            judge=cand.judge,
            position=f"{stamp}#{i:05d}",
            added_at=now,
        )
        if item.id in added or item.id in present:
            continue
        (added if c.annotations.add_item(principal.project_id, queue, item) else present).append(item.id)
    return AddOutcome(added, present)


def list_items(principal: Principal, queue_id: str, *, limit: int, cursor: str | None) -> Page:
    c = container()
    c.annotations.get_queue(principal.project_id, queue_id)
    return c.annotations.items_page(principal.project_id, queue_id, limit=limit, cursor=cursor)


# -- claims and labels ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    queue: AnnotationQueue
    item: AnnotationItem | None
    place: int | None = None
    until: datetime | None = None
    label: Label | None = None  # the reviewer's earlier answers (a revision), if any


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _my_place(item: AnnotationItem, reviewer: str) -> int | None:
    for i, slot in enumerate(item.slots):
        if slot is not None and slot.by == reviewer:
            return i
    return None


def _free_place(queue: AnnotationQueue, item: AnnotationItem, now: float) -> int | None:
    for i in range(queue.reviewers_per_item):
        slot = item.slots[i] if i < len(item.slots) else None
        if slot is None or (not slot.done and slot.until <= now):
            return i
    return None


def claim_next(principal: Principal, queue_id: str) -> Claim:
    """The reviewer's next item: the one they hold if any (its claim renewed), else the first open item they have
    neither labelled nor skipped with a free (or expired) place, taken by a conditional write."""
    c = container()
    store = c.annotations
    queue = store.get_queue(principal.project_id, queue_id)
    me = principal.key_id
    now_dt = utcnow()
    now = _epoch(now_dt)
    until = now + queue.claim_seconds
    seen = 0
    for item in store.open_items(principal.project_id, queue_id):
        seen += 1
        if seen > CLAIM_SCAN_LIMIT:
            break
        mine = _my_place(item, me)
        if mine is not None:
            slot = item.slots[mine]
            assert slot is not None
            if slot.done:
                continue
            if store.extend_claim(principal.project_id, queue_id, item.id, mine, me, until):
                return _claimed(queue, item, mine, until, me)
            continue
        if me in item.skipped_by:
            continue
        for _attempt in range(queue.reviewers_per_item + 1):
            place = _free_place(queue, item, now)
            if place is None:
                if (
                    all(s is not None and s.done for s in item.slots[: queue.reviewers_per_item])
                    and len(item.slots) >= queue.reviewers_per_item
                ):
                    store.close_if_complete(principal.project_id, queue, item.id)  # heal an interrupted submit
                break
            if store.claim(principal.project_id, queue, item, place, me, until):
                return _claimed(queue, item, place, until, me)
            try:
                item = store.get_item(principal.project_id, queue_id, item.id)  # someone was faster: read again
            except NotFound:
                break
            if _my_place(item, me) is not None:
                break
    return Claim(queue=queue, item=None)


def _claimed(queue: AnnotationQueue, item: AnnotationItem, place: int, until: float, me: str) -> Claim:
    """The claim as written (the place is ours now: no need to read the item again)."""
    slots = list(item.slots) + [None] * max(0, place + 1 - len(item.slots))
    slots[place] = Slot(by=me, until=until)
    held = item.model_copy(update={"slots": slots})
    return Claim(queue=queue, item=held, place=place, until=datetime.fromtimestamp(until, tz=utcnow().tzinfo))


def check_values(queue: AnnotationQueue, values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as stored: pass/fail as "pass"/"fail" (booleans accepted), scores inside the scale, labels from
    the set, comments as text. Required criteria must be answered."""
    by_name = {c.name: c for c in queue.criteria}
    unknown = [name for name in values if name not in by_name]
    if unknown:
        raise InvalidInput(f"the queue has no criterion {unknown[0]!r}", field=f"values.{unknown[0]}")
    out: dict[str, Any] = {}
    for c in queue.criteria:
        value = values.get(c.name)
        where = f"values.{c.name}"
        if value is None:
            if c.required and c.type != "comment":
                raise InvalidInput(f"criterion {c.name!r} needs an answer", field=where)
            continue
        if c.type == "pass_fail":
            if isinstance(value, bool):
                value = "pass" if value else "fail"
            if value not in ("pass", "fail"):
                raise InvalidInput(f"criterion {c.name!r} takes pass or fail", field=where)
        elif c.type == "score":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"criterion {c.name!r} takes a number", field=where)
            assert c.scale_min is not None and c.scale_max is not None
            if not c.scale_min <= value <= c.scale_max:
                raise InvalidInput(
                    f"criterion {c.name!r} takes a score from {c.scale_min:g} to {c.scale_max:g}", field=where
                )
        elif c.type == "label":
            if value not in (c.labels or ()):
                raise InvalidInput(f"criterion {c.name!r} takes one of {c.labels}", field=where)
        else:
            if not isinstance(value, str) or len(value) > MAX_COMMENT:
                raise InvalidInput(
                    f"criterion {c.name!r} takes a text of at most {MAX_COMMENT} characters", field=where
                )
        out[c.name] = value
    return out


@dataclass(frozen=True)
class Submitted:
    label: Label
    revised: bool
    item_complete: bool


def submit_labels(principal: Principal, queue_id: str, item_id: str, values: Mapping[str, Any]) -> Submitted:
    """Submit (holding a claim) or revise (labelled before) the reviewer's answers for one item."""
    c = container()
    store = c.annotations
    queue = store.get_queue(principal.project_id, queue_id)
    answers = check_values(queue, values)
    item = store.get_item(principal.project_id, queue_id, item_id)
    me = principal.key_id
    place = _my_place(item, me)
    slot = item.slots[place] if place is not None else None
    now = utcnow()
    if slot is not None and slot.done:
        existing = store.get_label(principal.project_id, queue_id, item_id, me)
        if existing is None:  # the place is done, so the label was written in the same transaction
            raise Conflict("the label of this item is being written; retry")
        if existing.values == answers:
            return Submitted(existing, revised=False, item_complete=item.complete)
        revised = store.revise(
            principal.project_id,
            queue_id,
            existing.model_copy(update={"values": answers, "updated_at": now}),
            existing.revision,
        )
        return Submitted(revised, revised=True, item_complete=item.complete)
    if place is None:
        place = _claim_for_submit(principal, queue, item)
    label = Label(item_id=item_id, reviewer=me, values=answers, submitted_at=now, updated_at=now)
    try:
        store.submit(principal.project_id, queue_id, item_id, place, label)
    except Conflict:
        existing = store.get_label(principal.project_id, queue_id, item_id, me)
        if existing is not None and existing.values == answers:  # a retry of a submit that went through
            return Submitted(existing, revised=False, item_complete=False)
        raise
    complete = store.close_if_complete(principal.project_id, queue, item_id)
    return Submitted(label, revised=False, item_complete=complete)


def _claim_for_submit(principal: Principal, queue: AnnotationQueue, item: AnnotationItem) -> int:
    """A reviewer who labels an item without claiming it first (from the item list, or after skipping it) takes
    a free place now, if there is one."""
    store = container().annotations
    now = _epoch(utcnow())
    for _attempt in range(queue.reviewers_per_item + 1):
        place = _free_place(queue, item, now)
        if place is None:
            break
        if store.claim(
            principal.project_id, queue, item, place, principal.key_id, now + queue.claim_seconds, unless_skipped=False
        ):
            return place
        item = store.get_item(principal.project_id, queue.id, item.id)
    raise Conflict(
        "this item has all the reviewers it needs (or your claim expired and another reviewer took it); "
        "take the next item (POST …/claims)"
    )


def skip_item(principal: Principal, queue_id: str, item_id: str) -> None:
    """The reviewer will not label this item: their claim (if any) is given back and it is not offered again."""
    c = container()
    store = c.annotations
    store.get_queue(principal.project_id, queue_id)
    item = store.get_item(principal.project_id, queue_id, item_id)
    place = _my_place(item, principal.key_id)
    if place is not None:
        slot = item.slots[place]
        if slot is not None and slot.done:
            raise Conflict("you labelled this item already; revise the labels instead of skipping")
    store.release(principal.project_id, queue_id, item_id, place, principal.key_id)


# -- progress ----------------------------------------------------------------------------------------
@dataclass
class ReviewerProgress:
    labelled: int = 0
    skipped: int = 0
    claimed: int = 0


@dataclass
class Progress:
    items: int = 0
    complete: int = 0
    labels: int = 0
    places: int = 0
    claimed: int = 0
    reviewers: dict[str, ReviewerProgress] = field(default_factory=dict)


def progress(principal: Principal, queue: AnnotationQueue) -> Progress:
    """Counted from the items (one query of the queue's partition): no counter to drift."""
    now = _epoch(utcnow())
    out = Progress()
    for item in container().annotations.items(principal.project_id, queue.id):
        out.items += 1
        out.places += queue.reviewers_per_item
        done = item.done_by()
        out.labels += len(done)
        if len(done) >= queue.reviewers_per_item:
            out.complete += 1
        for who in done:
            out.reviewers.setdefault(who, ReviewerProgress()).labelled += 1
        for who in item.active_claims(now):
            out.claimed += 1
            out.reviewers.setdefault(who, ReviewerProgress()).claimed += 1
        for who in item.skipped_by:
            if who not in done:  # skipped, then labelled after all: labelled
                out.reviewers.setdefault(who, ReviewerProgress()).skipped += 1
    return out
