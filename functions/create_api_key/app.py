"""POST /api/v1/projects/{projectId}/api-keys: issue a key; the secret is shown once."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import TextId
from evalgate.api.schemas.projects import ApiKeyCreate, ApiKeyCreated
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import projects

app = EvalgateResolver(role=Role.admin)


@app.post("/api/v1/projects/<projectId>/api-keys", tags=["api keys"], security=BEARER, status_code=201)
def create_api_key(projectId: TextId, body: ApiKeyCreate) -> Response[ApiKeyCreated]:
    logger.info("create api key", role=body.role.value)
    key, secret = projects.create_api_key(app.principal, projectId, body.name, body.role)
    return json_response(201, ApiKeyCreated.with_secret(key, secret))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
