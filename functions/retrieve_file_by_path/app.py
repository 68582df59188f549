"""POST /v5/files/retrieve-by-path: the file at a path (one of your prompts, or a /v5 dataset or evaluator)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.schemas.humanloop import HlOpenOut, RetrieveByPath
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import files

app = EvalgateResolver(role=Role.viewer)


@app.post("/v5/files/retrieve-by-path", tags=["files"], security=API_KEY)
def retrieve_file_by_path(body: RetrieveByPath) -> HlOpenOut:
    return HlOpenOut.model_validate(files.retrieve_by_path(app.principal, body.path))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
