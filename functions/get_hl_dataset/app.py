"""GET /v5/datasets/{id}: a /v5 dataset at `version_id` (or its latest), with its datapoints when asked."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import HlFileId, HlQuery
from evalgate.api.schemas.humanloop import HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import files

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/datasets/<dataset_id>", tags=["files"], security=API_KEY)
def get_hl_dataset(
    dataset_id: HlFileId,
    version_id: HlQuery = None,
    environment: HlQuery = None,
    include_datapoints: bool = False,
) -> HlOpenOut:
    out = files.get_dataset(app.principal, dataset_id, version_id, include_datapoints)
    return HlOpenOut.model_validate(out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
