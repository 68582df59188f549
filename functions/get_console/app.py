"""GET /console, /console/{proxy+}: the web console's static files (public; the data comes from the JSON API
with the key the user pastes, which never reaches this function). The console lives at `/console/`: that address
(the greedy route with an empty rest) answers the page itself, and `/console` redirects to it."""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.console import ConsoleFiles, upload_origins
from evalgate.api.http import EvalgateResolver
from evalgate.observability import logger, metrics, tracer
from evalgate.settings import get_settings

app = EvalgateResolver(role=None)


def _upload_origins() -> list[str]:
    """Where the page may PUT a big dataset file: its presigned upload URL (S3, or the local emulator)."""
    settings = get_settings()
    return upload_origins(settings.bucket_name, settings.aws_region, settings.aws_endpoint_url)


files = ConsoleFiles(Path(__file__).parent / "static", _upload_origins)


@app.get("/console", tags=["console"], include_in_schema=False)
def console_root() -> Response[str]:
    # -> /console/ (relative, so it works under any stage prefix): the page's relative asset URLs then resolve
    # under /console/, and the browser keeps a deep link's #fragment across the redirect
    return Response(status_code=301, headers={"Location": "console/", "Cache-Control": "no-cache"}, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    name = (event.get("pathParameters") or {}).get("proxy")
    if name is None and str(event.get("rawPath") or "").endswith("/"):
        name = ""  # `/console/`: however the gateway states an empty greedy rest (absent or ""), it is the page
    if name is None:
        return app.resolve(event, context)
    # a file is answered as it is: gzip bytes go out base64-encoded, which the resolver's response validation
    # (text bodies only) would refuse; the function is public, so there is no key to check either way
    return files.response(name, event.get("headers") or {})
