"""GET /api/prompts/{promptId}/eval/gate: the gate configuration (defaults until one is saved)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.gate import GateOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import gate

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/gate", tags=["gate"], security=BEARER)
def get_gate(promptId: NumericId) -> GateOut:
    return GateOut.of(gate.get_settings(app.principal, promptId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
