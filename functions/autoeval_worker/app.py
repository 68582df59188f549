"""SQS (auto-eval jobs queue, batch size 1): start a job - queued -> running, sample the target's recent
production traces, fan out the scoring messages. A redelivery resumes the job, never duplicates it."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.observability import logger, metrics, tracer
from evalgate.services.jobs import messages

# a batch whose every record fails still answers batchItemFailures (never an invocation error)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    logger.info("jobs message", message_id=record.message_id, attempt=attempt)
    messages.handle_job_message(record.body, attempt=attempt)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
