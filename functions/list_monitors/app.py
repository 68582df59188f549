"""GET /api/v1/auto-eval/monitors: the project's monitors, newest first, paginated."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit
from evalgate.api.schemas.monitors import MonitorOut, MonitorPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/auto-eval/monitors", tags=["auto-eval"], security=BEARER)
def list_monitors(
    limit: Limit = 50,
    cursor: Cursor = None,
) -> MonitorPage:
    page = monitors.list_monitors(app.principal, limit=limit, cursor=cursor)
    return MonitorPage(items=[MonitorOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
