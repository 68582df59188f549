"""The committed OpenAPI document (generated from the functions by `make openapi`) and its Swagger UI."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def openapi_json() -> str:
    return resources.files("evalgate.api").joinpath("openapi.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def swagger_html() -> str:
    """Swagger UI with its assets inlined from the Powertools package: no CDN is needed."""
    # lazy: only the docs route renders Swagger UI (cold start)
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = resources.files(swagger_ui)
    js = assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8")
    return generate_swagger_html(openapi_json(), js, css, "", None)
