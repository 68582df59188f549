"""POST /v5/evaluations: an evaluation of a prompt (`file`) with its evaluators (idempotent per Idempotency-Key)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver, replayable
from evalgate.api.params import IdempotencyKey
from evalgate.api.schemas.humanloop import EvaluationCreate, EvaluationOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import evaluations
from evalgate.services.idempotency import run_once

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluations", tags=["evaluations"], security=API_KEY)
def create_evaluation(
    body: EvaluationCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response[EvaluationOut]:
    logger.info("create evaluation", evaluators=len(body.evaluators))

    def create() -> tuple[int, dict]:
        ev = evaluations.create_evaluation(
            app.principal,
            file=body.file.model_dump(exclude_none=True),
            name=body.name,
            evaluators=[e.model_dump(exclude_none=True) for e in body.evaluators],
        )
        return 200, EvaluationOut.of(ev).model_dump(mode="json")

    status, payload, replayed = run_once(
        app.principal, "hl-create-evaluation", idempotency_key, body.model_dump(mode="json"), create
    )
    return replayable(status, payload, replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
