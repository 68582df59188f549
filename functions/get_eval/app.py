"""GET /api/v1/evals/{runId}: one eval run with its summary."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.evals import EvalRunOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/evals/<runId>", tags=["evals"], security=BEARER)
def get_eval(runId: TextId) -> EvalRunOut:
    run = evals.get_eval(app.principal, evals.parse_run_id(runId))
    return EvalRunOut.of(run, evals.evalguard_status(run))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
