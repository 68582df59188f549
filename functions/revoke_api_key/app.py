"""DELETE /api/v1/projects/{projectId}/api-keys/{keyId}: revoke a key at once."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.projects import ApiKeyOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import projects

app = EvalgateResolver(role=Role.admin)


@app.delete("/api/v1/projects/<projectId>/api-keys/<keyId>", tags=["api keys"], security=BEARER)
def revoke_api_key(
    projectId: TextId,
    keyId: TextId,
) -> ApiKeyOut:
    logger.info("revoke api key", revoked_key_id=keyId)
    return ApiKeyOut.of(projects.revoke_api_key(app.principal, projectId, keyId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
