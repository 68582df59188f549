"""GET /api/prompts/{promptId}/eval/runs/{runId}: the run with a page of its results."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, NumericId
from evalgate.api.schemas.runs import ResultOut, RunOut, RunWithResults
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/runs/<runId>", tags=["runs"], security=BEARER)
def get_run(
    promptId: NumericId,
    runId: NumericId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor = None,
) -> RunWithResults:
    run, page = runs.get_run(app.principal, promptId, runId, limit=limit, cursor=cursor)
    return RunWithResults(
        **RunOut.of(run).model_dump(), results=[ResultOut.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
