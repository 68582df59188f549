"""GET /api/v1/me: who the key is - its project and role (the console reads it at sign-in to show what the
key may do)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.schemas.projects import CallerOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/me", tags=["projects"], security=BEARER)
def get_caller() -> CallerOut:
    return CallerOut.of(app.principal)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
