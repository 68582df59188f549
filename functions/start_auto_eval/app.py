"""POST /api/v1/auto-eval: queue an auto-eval job over the target's recent production traces (202 + job_id)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, replayable
from evalgate.api.params import IdempotencyKey
from evalgate.api.schemas.jobs import AutoEvalCreate, AutoEvalQueued
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.idempotency import run_once
from evalgate.services.jobs import enqueue

app = EvalgateResolver(role=Role.member)


@app.post(
    "/api/v1/auto-eval",
    tags=["auto-eval"],
    security=BEARER,
    status_code=202,
    responses={
        202: {"description": "Auto-eval queued."},
        400: {"description": "a bad target"},
        429: {"description": "too many auto-eval jobs queued or running for the project (Retry-After)"},
    },
)
def start_auto_eval(body: AutoEvalCreate, idempotency_key: IdempotencyKey = None) -> Response[AutoEvalQueued]:
    logger.info("start auto-eval", sample_count=body.sample_count)

    def create() -> tuple[int, dict]:
        job_id = enqueue.start(app.principal, body.target, body.sample_count)
        return 202, AutoEvalQueued(job_id=job_id).model_dump(mode="json")

    status, payload, replayed = run_once(
        app.principal, "create-auto-eval", idempotency_key, body.model_dump(mode="json"), create
    )
    return replayable(status, payload, replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
