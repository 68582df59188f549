"""PATCH /api/v1/evals/{runId}: set the status (and summary) of an eval run."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.evals import EvalRunOut, EvalUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.member)


@app.patch("/api/v1/evals/<runId>", tags=["evals"], security=BEARER)
def update_eval(runId: TextId, body: EvalUpdate) -> EvalRunOut:
    logger.info("update eval", run_id=runId, status=body.status)
    summary = body.summary
    run = evals.update_eval(
        app.principal,
        evals.parse_run_id(runId),
        body.status,
        summary.score if summary else None,
        summary.total_latency if summary else None,
    )
    return EvalRunOut.of(run, evals.evalguard_status(run))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
