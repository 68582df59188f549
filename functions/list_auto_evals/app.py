"""GET /api/v1/auto-eval: the project's auto-eval jobs, newest first, paginated, with their progress (a job's report
is read from GET /api/v1/auto-eval/{jobId}); filter: status (bound into the cursor)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor
from evalgate.api.schemas.jobs import AutoEvalJobOut, AutoEvalJobPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.jobs import enqueue

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/auto-eval", tags=["auto-eval"], security=BEARER)
def list_auto_evals(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
    status: Annotated[Literal["queued", "running", "completed", "failed"] | None, Query()] = None,
) -> AutoEvalJobPage:
    jobs, nxt = enqueue.list_jobs(app.principal, limit=limit, cursor=cursor, status=status)
    return AutoEvalJobPage(items=[AutoEvalJobOut.of(j, None) for j in jobs], next_cursor=nxt)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
