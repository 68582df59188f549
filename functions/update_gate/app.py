"""PUT /api/prompts/{promptId}/eval/gate: set the gate configuration (admin)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.gate import GateIn, GateOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import gate

app = EvalgateResolver(role=Role.admin)


@app.put("/api/prompts/<promptId>/eval/gate", tags=["gate"], security=BEARER)
def update_gate(promptId: NumericId, body: GateIn) -> GateOut:
    logger.info("update gate", prompt_id=promptId, mode=body.mode)
    return GateOut.of(gate.put_settings(app.principal, promptId, body.to_domain()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
