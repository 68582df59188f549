"""POST /api/prompts/{promptId}/eval/datasets: create a dataset, optionally with cases."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import DatasetCreate, DatasetOut
from evalgate.models.domain import DatasetCase, Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets
from evalgate.services.container import utcnow

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/datasets", tags=["datasets"], security=BEARER, status_code=201)
def create_dataset(promptId: NumericId, body: DatasetCreate) -> Response[DatasetOut]:
    logger.info("create dataset", prompt_id=promptId, cases=len(body.cases))
    now = utcnow()
    cases = [
        DatasetCase(
            name=c.name,
            variables=c.variables,
            expected_output=c.expected_output,
            metadata=c.metadata,
            created_at=now,
            updated_at=now,
        )
        for c in body.cases
    ]
    ds = datasets.create_dataset(app.principal, promptId, body.name, body.description, cases)
    return json_response(201, DatasetOut.of(ds))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
