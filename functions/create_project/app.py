"""POST /api/v1/projects: create a project (a child of the caller's) with its first admin key."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.schemas.projects import ApiKeyCreated, ProjectCreate, ProjectCreated, ProjectOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import projects

app = EvalgateResolver(role=Role.admin)


@app.post("/api/v1/projects", tags=["projects"], security=BEARER, status_code=201)
def create_project(body: ProjectCreate) -> Response[ProjectCreated]:
    logger.info("create project")
    project, key, secret = projects.create_project(app.principal, body.name, body.description)
    out = ProjectCreated(**ProjectOut.of(project).model_dump(), api_key=ApiKeyCreated.with_secret(key, secret))
    return json_response(201, out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
