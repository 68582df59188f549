"""POST /api/v1/evals: create an eval run for external execution."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, replayable
from evalgate.api.params import IdempotencyKey
from evalgate.api.schemas.evals import EvalCreate, EvalRunOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals
from evalgate.services.idempotency import run_once

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/evals", tags=["evals"], security=BEARER, status_code=201)
def create_eval(body: EvalCreate, idempotency_key: IdempotencyKey = None) -> Response[EvalRunOut]:
    logger.info("create eval", prompt_id=body.prompt_id)

    def create() -> tuple[int, dict]:
        if body.orchestrated:
            run = evals.create_orchestrated_eval(app.principal, body)
        else:
            run = evals.create_eval(
                app.principal,
                name=body.name,
                model=body.model,
                prompt_id=body.prompt_id,
                version_no=body.prompt_version,
                metadata=body.metadata,
            )
        return 201, EvalRunOut.of(run, evals.evalguard_status(run)).model_dump(mode="json", by_alias=True)

    status, payload, replayed = run_once(
        app.principal, "create-eval", idempotency_key, body.model_dump(mode="json"), create
    )
    return replayable(status, payload, replayed)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
