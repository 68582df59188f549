"""GET /api/v1/projects: the caller's project and the projects it created."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit
from evalgate.api.schemas.projects import ProjectOut, ProjectPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import projects

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/projects", tags=["projects"], security=BEARER)
def list_projects(
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ProjectPage:
    page = projects.list_projects(app.principal, limit=limit, cursor=cursor)
    return ProjectPage(items=[ProjectOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
