"""GET /api/v1/evals/{runId}/results: the run's results, paginated."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, TextId
from evalgate.api.schemas.evals import EvalCaseResult, EvalCaseResultPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/evals/<runId>/results", tags=["evals"], security=BEARER)
def list_eval_results(
    runId: TextId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> EvalCaseResultPage:
    page = evals.list_results(app.principal, evals.parse_run_id(runId), limit=limit, cursor=cursor)
    items = [EvalCaseResult.model_validate(r.model_dump(mode="json")) for r in page.items]
    return EvalCaseResultPage(items=items, next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
