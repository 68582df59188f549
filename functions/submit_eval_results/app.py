"""POST /api/v1/evals/{runId}/results: a batch of results (idempotent per Idempotency-Key)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, replayable
from evalgate.api.params import IdempotencyKey, TextId
from evalgate.api.schemas.evals import ResultsBatch, Success
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/evals/<runId>/results", tags=["evals"], security=BEARER)
def submit_eval_results(
    runId: TextId,
    body: ResultsBatch,
    idempotency_key: IdempotencyKey = None,
) -> Response[Success]:
    logger.info("submit eval results", run_id=runId, results=len(body.results))
    results = [r.model_dump(mode="json", exclude_none=True) for r in body.results]
    run_id = evals.parse_run_id(runId)
    # parsed, and the run's state read, while the request's admission checks the key and its rate
    prepared = evals.prepare_results(app.recalled.project_id, run_id, results)
    status, payload, replayed = evals.submit_results(app.principal, run_id, results, idempotency_key, prepared=prepared)
    return replayable(status, payload, replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
