"""POST /api/prompts/{promptId}/eval/runs/{runId}/cancel: stop a pending or running run."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.runs import RunOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/runs/<runId>/cancel", tags=["runs"], security=BEARER)
def cancel_run(promptId: NumericId, runId: NumericId) -> RunOut:
    logger.info("cancel run", run_id=runId)
    return RunOut.of(runs.cancel_run(app.principal, promptId, runId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
