"""POST /api/v1/auto-eval/monitors: schedule an auto-eval of a target (admin). A webhook's signing secret
is in this response only."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.schemas.monitors import MonitorCreate, MonitorSaved
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors

app = EvalgateResolver(role=Role.admin)


@app.post("/api/v1/auto-eval/monitors", tags=["auto-eval"], security=BEARER, status_code=201)
def create_monitor(body: MonitorCreate) -> Response[MonitorSaved]:
    logger.info("create monitor", model=body.target.model, schedule=body.schedule)
    saved = monitors.create_monitor(app.principal, body.model_dump())
    return json_response(201, MonitorSaved.saved(saved.monitor, saved.webhook_secret))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
