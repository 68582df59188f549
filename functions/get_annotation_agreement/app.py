"""GET /api/v1/annotation-queues/{queueId}/agreement: how far each judge agrees with the reviewers, per
criterion (Cohen's kappa with its interval, raw agreement beside the base rate, the confusion matrix,
precision/recall of fail; Spearman's rho and mean absolute difference for scores), the reviewers among
themselves (Krippendorff's alpha), and with `run_id` a judge re-run on the queue's golden set beside them."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import OptionalNumericId, TextId
from evalgate.api.schemas.annotations import AgreementOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotation_agreement

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/annotation-queues/<queueId>/agreement", tags=["annotation"], security=BEARER)
def get_annotation_agreement(
    queueId: TextId,
    run_id: OptionalNumericId = None,
    confidence: Annotated[float, Query(ge=0.5, le=0.999)] = 0.95,
    min_items: Annotated[int, Query(ge=2, le=10_000)] = 10,
) -> AgreementOut:
    figures = annotation_agreement.agreement(
        app.principal, queueId, run_id=run_id, confidence=confidence, min_items=min_items
    )
    return AgreementOut(**figures)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
