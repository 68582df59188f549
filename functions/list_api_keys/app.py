"""GET /api/v1/projects/{projectId}/api-keys: keys without their secrets."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, TextId
from evalgate.api.schemas.projects import ApiKeyOut, ApiKeyPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import projects

app = EvalgateResolver(role=Role.admin)


@app.get("/api/v1/projects/<projectId>/api-keys", tags=["api keys"], security=BEARER)
def list_api_keys(
    projectId: TextId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApiKeyPage:
    page = projects.list_api_keys(app.principal, projectId, limit=limit, cursor=cursor)
    return ApiKeyPage(items=[ApiKeyOut.of(k) for k in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
