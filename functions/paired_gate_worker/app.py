"""SQS (paired-gate queue, batch size 1): a run ended; compute and cache its prompt's paired gate and the
comparison with the gate's control run (issue 17), so the first `gate/check` answers from the cache. A failed
message is redelivered; whatever it does not cache is computed by the first request instead."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.observability import logger, metrics, tracer
from evalgate.services import gate

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    cached = gate.handle_message(record.body)
    logger.info("paired results cached", cached=cached)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
