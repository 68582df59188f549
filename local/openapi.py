"""Generate the OpenAPI 3.1 document from the functions' own resolvers (`make openapi`).

Each function declares its one route with Powertools validation and pydantic models; this merges
their schemas into one document, adds the security schemes and the shared error responses, and
writes it into the layer, from where GET /openapi.json serves it. `make test` fails if the
committed document differs from what the code generates.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from evalgate import __version__
from local import cfn, model

OUTPUT = cfn.ROOT / "layers" / "evalgate" / "evalgate" / "api" / "openapi.json"
TITLE = "evalgate"
VERSION = __version__  # the package version: the API changes with it
DESCRIPTION = (
    "Self-hostable LLM evaluation service. Bearer API keys on /api/..., X-API-KEY on /v5/... "
    "Every error has the shape {error: {code, message, field, details}}."
)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "details": {},
            },
        }
    },
}
ERRORS = {
    "400": "Bad input (a malformed file, an unusable value)",
    "401": "Missing, unknown or revoked API key",
    "403": "insufficient role for this operation",
    "404": "Not found (or another project's resource)",
    "409": "Conflict with the stored state",
    "413": "Request body too large",
    "415": "The body is not application/json",
    "422": "The request does not match the schema",
    "429": "Too many requests; see Retry-After",
}


SECURITY: dict[str, Any] = {}


def _load(fn: model.Function) -> Any:
    module_name = fn.handler.rpartition(".")[0]
    spec = importlib.util.spec_from_file_location(f"openapi_{fn.logical_id}", fn.code_dir / f"{module_name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def generate(template: Path = cfn.TEMPLATE) -> dict[str, Any]:
    layer = str(cfn.ROOT / "layers" / "evalgate")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    SECURITY.update(
        bearerAuth=HTTPBearer(description="an evalgate API key"),
        apiKeyAuth=APIKey.model_validate({"name": "X-API-KEY", "in": APIKeyIn.header}),
    )
    app_model = model.read(template)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for route in sorted(app_model.routes, key=lambda r: (r.path, r.method)):
        fn = app_model.functions[route.function]
        module = _load(fn)
        resolver = module.app
        doc = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=SECURITY))
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                if path != route.path or method.upper() != route.method:
                    raise SystemExit(
                        f"{route.function}: code route {method.upper()} {path} is not the template's {route.route_key}"
                    )
                operation["operationId"] = (
                    fn.logical_id.removesuffix("Function")[0].lower() + fn.logical_id.removesuffix("Function")[1:]
                )
                if module.__doc__:
                    operation["summary"] = module.__doc__.strip().splitlines()[0].split(": ", 1)[-1].rstrip(".")
                if not fn.public:
                    operation["responses"].pop("422", None)
                    for status, text in ERRORS.items():
                        operation.setdefault("responses", {}).setdefault(
                            status,
                            {
                                "description": text,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                            },
                        )
                for status, response in operation["responses"].items():
                    if status == "204":
                        response.pop("content", None)
                paths.setdefault(path, {})[method] = operation
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise SystemExit(f"two different schemas are both named {name}")
            schemas[name] = schema
    schemas["Error"] = ERROR_SCHEMA
    text = json.dumps(paths)
    schemas = {
        k: v
        for k, v in schemas.items()
        if k == "Error"
        or f'"#/components/schemas/{k}"' in text
        or any(f'"#/components/schemas/{k}"' in json.dumps(o) for o in schemas.values())
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an evalgate API key"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
            },
        },
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.openapi")
    parser.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print("openapi.json is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(cfn.ROOT)} ({len(json.loads(text)['paths'])} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
