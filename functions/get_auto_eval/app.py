"""GET /api/v1/auto-eval/{jobId}: an auto-eval job's status, progress and (once completed) report."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.jobs import AutoEvalJobOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.jobs import enqueue

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/auto-eval/<jobId>", tags=["auto-eval"], security=BEARER)
def get_auto_eval(jobId: TextId) -> AutoEvalJobOut:
    job, report = enqueue.get_job(app.principal, jobId)
    return AutoEvalJobOut.of(job, report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
