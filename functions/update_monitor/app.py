"""PATCH /api/v1/auto-eval/monitors/{monitorId}: change a monitor (admin). A new webhook secret (first
webhook, or `rotate_webhook_secret`) is in this response only."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.monitors import MonitorSaved, MonitorUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors

app = EvalgateResolver(role=Role.admin)


@app.patch("/api/v1/auto-eval/monitors/<monitorId>", tags=["auto-eval"], security=BEARER)
def update_monitor(monitorId: TextId, body: MonitorUpdate) -> MonitorSaved:
    logger.info("update monitor", monitor_id=monitorId, fields=sorted(body.model_fields_set))
    saved = monitors.update_monitor(
        app.principal,
        monitorId,
        body.model_dump(exclude_unset=True, exclude={"rotate_webhook_secret"}),
        rotate_webhook_secret=body.rotate_webhook_secret,
    )
    return MonitorSaved.saved(saved.monitor, saved.webhook_secret)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
