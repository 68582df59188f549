"""Humanloop-style evaluations: the evaluation item (evaluators, control run, run count) and one membership
item per run. The runs themselves are Run items (store/runs.py): an evaluation only points at them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.evaluations import Evaluation, EvaluationRun, Evaluator
from evalgate.store.table import Table

GSI1 = "GSI1"
_TX_CANCELLED = "TransactionCanceledException"


def _cancel_codes(exc: ClientError) -> list[str] | None:
    if exc.response.get("Error", {}).get("Code") != _TX_CANCELLED:
        return None
    return Table.cancellation_codes(exc)


class EvaluationStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- evaluations ------------------------------------------------------------------------------
    def create(self, ev: Evaluation) -> None:
        """The evaluation, and its name's guard when it has a name (names are unique per prompt: 409)."""
        item: dict[str, Any] = {
            **keys.evaluation(ev.project_id, ev.id),
            keys.GSI1PK: keys.prompt_evaluations_gsi(ev.project_id, ev.prompt_id),
            keys.GSI1SK: keys.evaluation_gsi_sort(ev.id),
            "type": "evaluation",
            "id": ev.id,
            "projectId": ev.project_id,
            "name": ev.name,
            "promptId": ev.prompt_id,
            "evaluators": _evaluators_json(ev.evaluators),
            "runsCount": 0,
            "createdBy": ev.created_by,
            "createdAt": ev.created_at.isoformat(),
            "updatedAt": ev.updated_at.isoformat(),
            "rev": 0,
        }
        ops: list[dict[str, Any]] = [{"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}]
        if ev.name is not None:
            guard = {**keys.evaluation_name_guard(ev.project_id, ev.prompt_id, ev.name), "evaluationId": ev.id}
            ops.append({"Put": {"Item": guard, "ConditionExpression": "attribute_not_exists(PK)"}})
        try:
            self.table.transact(ops)
        except ClientError as exc:
            codes = _cancel_codes(exc)
            if codes is None:
                raise
            raise Conflict(
                f"an evaluation named {ev.name!r} already exists for prompt {ev.prompt_id}", field="name"
            ) from exc

    def get(self, project_id: str, evaluation_id: str) -> Evaluation:
        item = self.table.get(keys.evaluation(project_id, evaluation_id))
        if not item:
            raise NotFound(f"evaluation {evaluation_id} not found")
        return _evaluation(item)

    def list_all(self, project_id: str, prompt_id: int | None) -> list[Evaluation]:
        """Every evaluation of the project (or of one prompt), oldest first: ids sort by creation time."""
        out: list[Evaluation] = []
        cursor: str | None = None
        while True:
            if prompt_id is None:
                pk, prefix = keys.evaluations_prefix(project_id)
                items, cursor = self.table.query_page(pk, prefix, limit=200, cursor=cursor)
            else:
                items, cursor = self.table.query_page(
                    keys.prompt_evaluations_gsi(project_id, prompt_id),
                    "EVALUATION#",
                    limit=200,
                    cursor=cursor,
                    index=GSI1,
                )
            out += [_evaluation(i) for i in items]
            if not cursor:
                return out

    def delete(self, ev: Evaluation) -> None:
        """The evaluation, its name guard and its run memberships (never the runs)."""
        ops: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": keys.evaluation(ev.project_id, ev.id),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
        ]
        if ev.name is not None:
            ops.append({"Delete": {"Key": keys.evaluation_name_guard(ev.project_id, ev.prompt_id, ev.name)}})
        try:
            self.table.transact(ops)
        except ClientError as exc:
            if _cancel_codes(exc) is not None:
                raise NotFound(f"evaluation {ev.id} not found") from exc
            raise
        pk, prefix = keys.evaluation_runs_prefix(ev.project_id, ev.id)
        self.table.delete_partition(pk, prefix)

    def set_evaluators(self, ev: Evaluation, evaluators: list[Evaluator], now: datetime) -> Evaluation:
        """Replace the evaluators if nobody changed them since `ev` was read (else Conflict: re-read, retry)."""
        try:
            item = self.table.update(
                keys.evaluation(ev.project_id, ev.id),
                "SET evaluators = :e, updatedAt = :now, rev = :next",
                condition="attribute_exists(PK) AND rev = :rev",
                values={
                    ":e": _evaluators_json(evaluators),
                    ":now": now.isoformat(),
                    ":rev": ev.rev,
                    ":next": ev.rev + 1,
                },
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                self.get(ev.project_id, ev.id)  # NotFound when it is gone
                raise Conflict("the evaluation's evaluators changed at the same time; retry") from exc
            raise
        return _evaluation(item)

    # -- runs of an evaluation --------------------------------------------------------------------
    def add_run(self, project_id: str, member: EvaluationRun, *, max_runs: int) -> None:
        """Add a run to an evaluation and count it, in one transaction: 409 when it is there already or the
        evaluation is full, 404 when the evaluation is gone."""
        item = {
            **keys.evaluation_run(project_id, member.evaluation_id, member.run_id),
            "type": "evaluationRun",
            "evaluationId": member.evaluation_id,
            "runId": member.run_id,
            "orchestrated": member.orchestrated,
            "datasetId": member.dataset_id,
            "createdBy": member.created_by,
            "addedAt": member.added_at.isoformat(),
        }
        try:
            self.table.transact(
                [
                    {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {
                        "Update": {
                            "Key": keys.evaluation(project_id, member.evaluation_id),
                            "UpdateExpression": "SET updatedAt = :now ADD runsCount :one",
                            "ConditionExpression": "attribute_exists(PK) AND runsCount < :max",
                            "ExpressionAttributeValues": {
                                ":now": member.added_at.isoformat(),
                                ":one": 1,
                                ":max": max_runs,
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            codes = _cancel_codes(exc)
            if codes is None:
                raise
            if codes[0] == "ConditionalCheckFailed":
                raise Conflict(
                    f"run {member.run_id} is already in evaluation {member.evaluation_id}", field="run_id"
                ) from exc
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                self.get(project_id, member.evaluation_id)  # NotFound when it is gone
                raise Conflict(f"an evaluation holds at most {max_runs} runs") from exc
            raise

    def get_run(self, project_id: str, evaluation_id: str, run_id: int) -> EvaluationRun:
        item = self.table.get(keys.evaluation_run(project_id, evaluation_id, run_id))
        if not item:
            raise NotFound(f"run {run_id} not found in evaluation {evaluation_id}")
        return _member(item)

    def list_runs(self, project_id: str, evaluation_id: str) -> list[EvaluationRun]:
        pk, prefix = keys.evaluation_runs_prefix(project_id, evaluation_id)
        return [_member(i) for i in self.table.query_all(pk, prefix)]

    def remove_run(self, project_id: str, evaluation_id: str, run_id: int, *, was_control: bool) -> None:
        """Take a run out of an evaluation (the run stays); the control run is un-set with it. 409 when the
        control changed meanwhile (re-read, retry)."""
        update: dict[str, Any] = {
            "Key": keys.evaluation(project_id, evaluation_id),
            "ExpressionAttributeValues": {":minus": -1, ":rid": run_id},
        }
        if was_control:
            update["UpdateExpression"] = "ADD runsCount :minus REMOVE controlRunId"
            update["ConditionExpression"] = "attribute_exists(PK) AND controlRunId = :rid"
        else:
            update["UpdateExpression"] = "ADD runsCount :minus"
            update["ConditionExpression"] = (
                "attribute_exists(PK) AND (attribute_not_exists(controlRunId) OR controlRunId <> :rid)"
            )
        try:
            self.table.transact(
                [
                    {
                        "Delete": {
                            "Key": keys.evaluation_run(project_id, evaluation_id, run_id),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {"Update": update},
                ]
            )
        except ClientError as exc:
            codes = _cancel_codes(exc)
            if codes is None:
                raise
            if codes[0] == "ConditionalCheckFailed":
                raise NotFound(f"run {run_id} not found in evaluation {evaluation_id}") from exc
            raise Conflict("the evaluation's control run changed at the same time; retry") from exc

    def set_control(self, project_id: str, evaluation_id: str, run_id: int, now: datetime) -> None:
        """Make a run the control: one attribute on the evaluation, so there is never more than one."""
        try:
            self.table.update(
                keys.evaluation(project_id, evaluation_id),
                "SET controlRunId = :rid, updatedAt = :now",
                condition="attribute_exists(PK)",
                values={":rid": run_id, ":now": now.isoformat()},
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                raise NotFound(f"evaluation {evaluation_id} not found") from exc
            raise

    def clear_control(self, project_id: str, evaluation_id: str, run_id: int, now: datetime) -> None:
        """Un-set the control if it is this run (nothing to do otherwise)."""
        try:
            self.table.update(
                keys.evaluation(project_id, evaluation_id),
                "SET updatedAt = :now REMOVE controlRunId",
                condition="attribute_exists(PK) AND controlRunId = :rid",
                values={":rid": run_id, ":now": now.isoformat()},
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise


def _evaluators_json(evaluators: list[Evaluator]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in evaluators], separators=(",", ":"))


def _evaluation(item: dict[str, Any]) -> Evaluation:
    return Evaluation(
        id=item["id"],
        project_id=item["projectId"],
        name=item.get("name"),
        prompt_id=int(item["promptId"]),
        evaluators=[Evaluator.model_validate(e) for e in json.loads(item.get("evaluators") or "[]")],
        runs_count=int(item.get("runsCount", 0)),
        control_run_id=int(item["controlRunId"]) if item.get("controlRunId") is not None else None,
        created_by=item.get("createdBy"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
        rev=int(item.get("rev", 0)),
    )


def _member(item: dict[str, Any]) -> EvaluationRun:
    return EvaluationRun(
        evaluation_id=item["evaluationId"],
        run_id=int(item["runId"]),
        orchestrated=bool(item.get("orchestrated", False)),
        dataset_id=int(item["datasetId"]) if item.get("datasetId") is not None else None,
        created_by=item.get("createdBy"),
        added_at=datetime.fromisoformat(item["addedAt"]),
    )
