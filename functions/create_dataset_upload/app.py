"""POST /api/prompts/{promptId}/eval/datasets/uploads: a presigned URL for a big import file."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import UploadCreate, UploadOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/datasets/uploads", tags=["datasets"], security=BEARER, status_code=201)
def create_dataset_upload(promptId: NumericId, body: UploadCreate) -> Response[UploadOut]:
    logger.info("create dataset upload", prompt_id=promptId)
    return json_response(
        201, UploadOut.model_validate(datasets.create_upload(app.principal, promptId, body.content_type))
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
