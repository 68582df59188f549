"""SQS (dataset imports queue, batch size 1): write a big import's cases with progress, then create its dataset.
A redelivery finishes the same job (same dataset id); the last delivery of a failing job ends it as failed."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.observability import logger, metrics, tracer
from evalgate.services import dataset_imports

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    dataset_imports.handle_message(record.body, attempt=attempt)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
