"""The cold-start baseline: a bare handler, the minimal equivalent of one evalgate function.

Same building blocks as functions/*/app.py (Powertools Logger, Metrics, Tracer, an HTTP API resolver
with validation and one pydantic-model route, boto3, pydantic) and nothing of the evalgate layer.
Only benchmarked (bench/cold_start.py), never deployed. Like our functions it creates no boto3 client
at import time.
"""

import boto3  # noqa: F401  (imported, as a handler that talks to AWS would)
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayHttpResolver(enable_validation=True)


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    template: str | None = None


class ItemOut(ItemIn):
    id: int


@app.post("/items")
def create_item(body: ItemIn) -> ItemOut:
    return ItemOut(id=1, **body.model_dump())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
