"""Adapters for the AWS services evalgate calls besides its table and bucket: one module each (Step Functions,
SQS, SNS). Each wraps an injected boto3 client, speaks in domain terms, and turns AWS failures into
evalgate.errors.Unavailable; the container builds them from settings."""
