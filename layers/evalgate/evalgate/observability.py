"""One observability module; configured through POWERTOOLS_* variables in the template Globals."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# A route that records no metric is normal; the warning would be noise in every log stream.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=["botocore"])  # only what we call; patching everything costs cold start
