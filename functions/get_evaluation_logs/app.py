"""GET /v5/evaluations/{id}/logs: the logs of the evaluation's runs with their judgments, Humanloop's
page/size, `run_id` (repeatable) to keep some runs only."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId, Limit, PageNumber
from evalgate.api.schemas.humanloop import EvaluationLogRecordOut, EvaluationLogsPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import logs

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/evaluations/<id>/logs", tags=["evaluations"], security=API_KEY)
def get_evaluation_logs(
    id: EvaluationId,
    page: PageNumber = 1,
    size: Limit = 10,
    run_id: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> EvaluationLogsPage:
    records, total = logs.list_logs(app.principal, id, run_ids=run_id, page=page, size=size)
    return EvaluationLogsPage(
        records=[EvaluationLogRecordOut.model_validate(r) for r in records], page=page, size=size, total=total
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
