"""GET /v5/logs/{id}: a /v5 log with its evaluator logs."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import HlFileId
from evalgate.api.schemas.humanloop import HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import log_store

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/logs/<log_id>", tags=["files"], security=API_KEY)
def get_hl_log(log_id: HlFileId) -> HlOpenOut:
    return HlOpenOut.model_validate(log_store.get_log(app.principal, log_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
