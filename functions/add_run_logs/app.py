"""POST /v5/evaluations/{id}/runs/{run_id}/logs: logs of a run that is not orchestrated, sent inline with
their judgments (evalgate extension `logs`); a log id is counted once. Humanloop's `log_ids` get a 422."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver, replayable
from evalgate.api.params import EvaluationId, EvaluationRunId, IdempotencyKey
from evalgate.api.schemas.humanloop import EvaluationRunOut, LogsAdd
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import logs

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluations/<id>/runs/<run_id>/logs", tags=["evaluations"], security=API_KEY)
def add_run_logs(
    id: EvaluationId,
    run_id: EvaluationRunId,
    body: LogsAdd,
    idempotency_key: IdempotencyKey = None,
) -> Response[EvaluationRunOut]:
    logger.info("add run logs", evaluation_id=id, run_id=run_id, logs=len(body.logs or []))
    view, replayed = logs.add_logs(
        app.principal,
        id,
        run_id,
        log_ids=body.log_ids,
        logs=[log.model_dump() for log in body.logs] if body.logs is not None else None,
        idempotency_key=idempotency_key,
    )
    return replayable(200, EvaluationRunOut.of(view).model_dump(mode="json"), replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
