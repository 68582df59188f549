"""GET /v5/flows/{id}: one of your flows in Humanloop's shape, at `version_id` (a version number) or its latest."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import HlFileId, HlQuery
from evalgate.api.schemas.humanloop import HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import files

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/flows/<flow_id>", tags=["files"], security=API_KEY)
def get_hl_flow(flow_id: HlFileId, version_id: HlQuery = None, environment: HlQuery = None) -> HlOpenOut:
    return HlOpenOut.model_validate(files.get_flow(app.principal, flow_id, version_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
