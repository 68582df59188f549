"""POST /v5/evaluations/{id}/evaluators: add evaluators (one already there changes nothing)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import EvaluationId
from evalgate.api.schemas.humanloop import EvaluationOut, EvaluatorsAdd
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import evaluations

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluations/<id>/evaluators", tags=["evaluations"], security=API_KEY)
def add_evaluators(id: EvaluationId, body: EvaluatorsAdd) -> EvaluationOut:
    logger.info("add evaluators", evaluation_id=id, evaluators=len(body.evaluators))
    ev = evaluations.add_evaluators(app.principal, id, [e.model_dump(exclude_none=True) for e in body.evaluators])
    return EvaluationOut.of(ev)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
