"""POST /v5/flows: Humanloop's flow upsert onto an evalgate prompt (path = name) whose versions hold the flow's
attributes; a new version when the attributes differ from its latest."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.schemas.humanloop import FlowUpsert, HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import files

app = EvalgateResolver(role=Role.member)


@app.post("/v5/flows", tags=["files"], security=API_KEY)
def upsert_hl_flow(body: FlowUpsert) -> HlOpenOut:
    return HlOpenOut.model_validate(files.upsert_flow(app.principal, body.model_dump(mode="json")))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
