"""POST /api/prompts/{promptId}/eval/gate/check: pass, fail or inconclusive, with the reason (for CI)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.gate import GateCheckIn, GateCheckOut, GateDatasetsOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import gate

app = EvalgateResolver(role=Role.viewer)


@app.post("/api/prompts/<promptId>/eval/gate/check", tags=["gate"], security=BEARER)
def check_gate(promptId: NumericId, body: GateCheckIn) -> GateCheckOut:
    result, settings, run, check = gate.check_with_datasets(app.principal, promptId, body.run_id)
    logger.info("gate checked", prompt_id=promptId, run_id=run.id, verdict=result.verdict)
    figures = {**gate.as_json(result.figures), "allowInconclusive": settings.allow_inconclusive}
    datasets = None
    if check is not None:
        datasets = GateDatasetsOut(
            same=check.same,
            run_versions=check.run_versions,
            control_versions=check.control_versions,
            changed_cases=check.changed_cases,
            changed_sample=list(check.changed_sample),
            message=check.message,
        )
    return GateCheckOut(
        passed=result.passed,
        verdict=result.verdict,
        reason=result.reason,
        run_id=run.id,
        figures=figures,
        datasets=datasets,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
