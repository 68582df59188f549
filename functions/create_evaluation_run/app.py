"""POST /v5/evaluations/{id}/runs: a run; orchestrated runs start executing the dataset (they answer pending).
Idempotent per Idempotency-Key."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver, replayable
from evalgate.api.params import EvaluationId, IdempotencyKey
from evalgate.api.schemas.humanloop import EvaluationRunCreate, EvaluationRunOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import runs
from evalgate.services.idempotency import run_once

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluations/<id>/runs", tags=["evaluations"], security=API_KEY)
def create_evaluation_run(
    id: EvaluationId,
    body: EvaluationRunCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response[EvaluationRunOut]:
    logger.info("create evaluation run", evaluation_id=id, orchestrated=body.orchestrated)

    def create() -> tuple[int, dict]:
        view = runs.create_run(
            app.principal,
            id,
            dataset=body.dataset.model_dump(exclude_none=True) if body.dataset else None,
            version=body.version.model_dump(exclude_none=True) if body.version else None,
            orchestrated=body.orchestrated
            if body.orchestrated is not None
            else (body.dataset is not None or body.version is not None),
            use_existing_logs=body.use_existing_logs,
        )
        return 200, EvaluationRunOut.of(view).model_dump(mode="json")

    status, payload, replayed = run_once(
        app.principal, f"hl-create-run:{id}", idempotency_key, body.model_dump(mode="json"), create
    )
    return replayable(status, payload, replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
