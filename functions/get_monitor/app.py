"""GET /api/v1/auto-eval/monitors/{monitorId}: one monitor (never its webhook secret)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.monitors import MonitorOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/auto-eval/monitors/<monitorId>", tags=["auto-eval"], security=BEARER)
def get_monitor(monitorId: TextId) -> MonitorOut:
    return MonitorOut.of(monitors.get_monitor(app.principal, monitorId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
