"""DELETE /api/v1/auto-eval/monitors/{monitorId}: stop and remove a monitor (admin); its jobs remain."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, no_content
from evalgate.api.params import TextId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors

app = EvalgateResolver(role=Role.admin)


@app.delete("/api/v1/auto-eval/monitors/<monitorId>", tags=["auto-eval"], security=BEARER, status_code=204)
def delete_monitor(monitorId: TextId) -> Response[None]:
    monitors.delete_monitor(app.principal, monitorId)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
