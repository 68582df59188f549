"""The local runtime: moto in server mode, resources from template.yaml, functions in worker processes,
the HTTP front, SQS pollers and the schedule ticker. `python -m local` (make run) starts it."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from local import cfn, model, resources
from local.http_front import HttpFront
from local.lambdas import DEFAULT_CONCURRENCY, FunctionSpec, LambdaPool
from local.sqs_poller import SqsPoller
from local.ticker import Ticker

REGION = "us-east-1"
PROVIDER_ENV_PREFIXES = ("OPENAI_", "ANTHROPIC_", "EVALGATE_PROVIDER_")
ROOT = cfn.ROOT


_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


class MotoServer:
    """moto's WSGI app on loopback, plus the Lambda Invoke API served by the runtime's worker pool.

    DynamoDB requests are serialised, as each item write is atomic in DynamoDB, so concurrent ADD updates
    stay exact whatever moto does internally. Lambda Invoke requests (from Step Functions tasks that moto
    executes, or from any code) go to `lambda_invoke` instead of moto's Docker-based Lambda."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        dispatcher = DomainDispatcherApplication(create_backend_app)
        ddb_lock = threading.Lock()
        self.lambda_invoke: Any = None
        # what was asked of the emulated services: "DynamoDB_20120810.GetItem", "s3:PUT", … (for benchmarks)
        self.operations: Counter[str] = Counter()
        self.write_units = 0  # DynamoDB write request units, from the sizes of the items written
        self.items_written = 0  # DynamoDB items put, updated or deleted (a transaction's items once each)
        counter_lock = threading.Lock()

        def count(environ: dict[str, Any]) -> None:
            target = environ.get("HTTP_X_AMZ_TARGET") or f"{_service_of(environ)}:{environ.get('REQUEST_METHOD')}"
            units = items = 0
            if target.endswith((".PutItem", ".BatchWriteItem", ".TransactWriteItems", ".UpdateItem", ".DeleteItem")):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                units, items = _write_units(target, body)
            with counter_lock:
                self.operations[target] += 1
                self.write_units += units
                self.items_written += items

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            count(environ)
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
                with ddb_lock:
                    return [b"".join(dispatcher(environ, start_response))]
            match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
            if match and environ.get("REQUEST_METHOD") == "POST" and self.lambda_invoke is not None:
                return self._invoke(unquote(match.group("name")), environ, start_response)
            return dispatcher(environ, start_response)

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return

        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def _invoke(self, name: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from local.lambdas import FunctionError

        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        payload = json.loads(raw) if raw.strip() else {}
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        try:
            self.lambda_invoke.resolve(name)
        except KeyError:
            body = json.dumps({"Type": "User", "message": f"Function not found: {name}"}).encode()
            start_response("404 Not Found", [*headers, ("x-amzn-ErrorType", "ResourceNotFoundException")])
            return [body]
        if kind == "Event":
            threading.Thread(target=self._invoke_async, args=(name, payload), daemon=True).start()
            start_response("202 Accepted", headers)
            return [b""]
        try:
            result = self.lambda_invoke.invoke(name, payload)
        except FunctionError as exc:
            start_response("200 OK", [*headers, ("X-Amz-Function-Error", "Unhandled")])
            return [json.dumps(exc.payload()).encode()]
        start_response("200 OK", headers)
        return [json.dumps(result).encode()]

    def _invoke_async(self, name: str, payload: Any) -> None:
        from local.lambdas import FunctionError

        try:
            self.lambda_invoke.invoke(name, payload)
        except FunctionError as exc:
            print(f"evalgate: async invocation of {name} failed: {exc}", file=sys.stderr)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class LocalRuntime:
    port: int = 3000
    host: str = "127.0.0.1"
    template: Path = cfn.TEMPLATE
    state_dir: Path = ROOT / ".local"
    admin_key: str | None = None
    tick_seconds: float = 1.0
    concurrency: int = DEFAULT_CONCURRENCY
    names: cfn.Names = field(default_factory=cfn.Names)

    def __post_init__(self) -> None:
        self.app = model.read(self.template)
        self.moto = MotoServer(self.host)
        self.pollers: list[SqsPoller] = []
        self.ticker: Ticker | None = None
        self.front: HttpFront | None = None
        self.pool: LambdaPool | None = None
        self.admin_secret: str | None = None
        self.project_id: str | None = None

    # -- clients for the runtime itself (never handed to functions) -----------------------------
    def aws_env(self) -> dict[str, str]:
        """What Lambda would inject: region, credentials, and here the endpoint of the moto server."""
        return {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": self.moto.url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=self.moto.url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        _memoize_botocore_models()
        # template parameters can be overridden from the environment, as `sam deploy --parameter-overrides`
        for name in self.app.doc.get("Parameters") or {}:
            if f"EVALGATE_PARAMETER_{name}" in os.environ:
                self.names.parameters[name] = os.environ[f"EVALGATE_PARAMETER_{name}"]
        self.moto.start()
        _enable_state_machine_execution(self.moto.url)
        resources.declare_names(self.app, self.names)
        resources.create(self.app, self.names, self.client)
        specs = {}
        for logical_id, fn in self.app.functions.items():
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                function_name=self.names.refs[logical_id],
                function_arn=self.names.attrs[(logical_id, "Arn")],
                code_dir=fn.code_dir,
                handler=fn.handler,
                layer_dirs=resources.layer_dirs(self.app, logical_id),
                environment=_with_provider_settings(resources.function_environment(self.app, self.names, logical_id)),
                timeout=fn.timeout,
                memory=fn.memory,
                max_concurrency=fn.reserved_concurrency or self.concurrency,
            )
        self.pool = LambdaPool(specs, self.aws_env(), self.state_dir / "logs")
        self.moto.lambda_invoke = self.pool
        self._seed()
        self.front = HttpFront(self.app, self.pool.invoke, self.host, self.port)
        self.port = self.front.port
        self.front.start()
        sqs = self.client("sqs")
        for source in self.app.sqs_sources:
            if not source.enabled:
                continue
            queue_arn = cfn.resolve(source.queue, self.names)
            queue_name = queue_arn.rsplit(":", 1)[-1]
            poller = SqsPoller(
                source=source,
                queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                queue_arn=queue_arn,
                sqs=self.client("sqs"),
                invoke=self.pool.invoke,
                region=REGION,
            )
            poller.start()
            self.pollers.append(poller)
        self.ticker = Ticker(
            [s for s in self.app.schedules if s.enabled],
            invoke=self.pool.invoke,
            resolve=lambda value: cfn.resolve(value, self.names),
            region=REGION,
            account=self.names.account,
            interval=self.tick_seconds,
        )
        self.ticker.start()

    def _seed(self) -> None:
        """A default project with an admin key: the given one, or a fresh one printed once."""
        layer = str(ROOT / "layers" / "evalgate")
        if layer not in sys.path:
            sys.path.insert(0, layer)
        from evalgate import auth
        from evalgate.services.projects import create_project
        from evalgate.store.projects import ProjectStore
        from evalgate.store.table import Table

        table_id = next(
            (
                k
                for k, v in self.app.resources_of("AWS::DynamoDB::Table").items()
                if [a["AttributeName"] for a in (v.get("Properties") or {}).get("KeySchema", [])] == ["PK", "SK"]
            ),
            None,
        )
        if table_id is None:
            return  # not an evalgate template: nothing to seed
        table_name = self.names.refs[table_id]
        store = ProjectStore(Table(table_name, self.client("dynamodb")))
        secret = self.admin_key or auth.generate_secret()
        existing = store.lookup_key(auth.hash_secret(secret))
        if existing:
            self.project_id = existing["projectId"]
        else:
            project, _key, _ = create_project(
                None,
                "default",
                "created by the local runtime",
                admin_secret=secret,
                store=store,
                project_id="prj_default" if not self.admin_key else "prj_" + secrets.token_hex(8),
            )
            self.project_id = project.id
        self.admin_secret = secret

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.ticker:
            self.ticker.stop()
        for poller in self.pollers:
            poller.stop(timeout=0)  # signal all first; each may sit in a 1 s long poll
        for poller in self.pollers:
            poller.stop()
        if self.front:
            self.front.stop()
        if self.pool:
            self.pool.close()
        self.moto.stop()


def _with_provider_settings(environment: dict[str, str]) -> dict[str, str]:
    """Model provider settings come from the runtime's own environment (as `sam local --env-vars`) where
    the template leaves them empty: OPENAI_*, ANTHROPIC_*, EVALGATE_PROVIDER_*."""
    out = dict(environment)
    for key, value in os.environ.items():
        if key.startswith(PROVIDER_ENV_PREFIXES) and not out.get(key):
            out[key] = value
    return out


def _service_of(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return match.group(1) if match else "unknown"


def _write_units(target: str, body: bytes) -> tuple[int, int]:
    """(write units, items written): DynamoDB bills a write per started KB of each item written (transactions
    count twice; an update is counted by its key, a lower bound)."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return 0, 0
    items: list[Any] = []
    if target.endswith(".BatchWriteItem"):
        for requests in doc.get("RequestItems", {}).values():
            items += [r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key") for r in requests]
    elif target.endswith(".TransactWriteItems"):
        for op in doc.get("TransactItems", []):
            ((_, spec),) = op.items()
            if "ConditionCheck" not in op:
                items += [spec.get("Item") or spec.get("Key")] * 2
    else:
        items = [doc.get("Item") or doc.get("Key")]
    written = [i for i in items if i]
    count = len(written) // 2 if target.endswith(".TransactWriteItems") else len(written)
    return sum(max(1, -(-len(json.dumps(i)) // 1024)) for i in written), count


def _memoize_botocore_models() -> None:
    """moto builds a fresh boto3 session or client for many requests (its Step Functions interpreter, one
    per Lambda task; its backend lookup, one per request), and each re-parses botocore's bundled JSON
    models: most of the runtime's CPU in a suite run. The files never change, so parse each once."""
    from botocore import loaders

    original = loaders.JSONFileLoader.load_file
    if getattr(original, "_evalgate_memo", False):
        return
    memo: dict[str, Any] = {}
    lock = threading.Lock()

    def load_file(self: Any, file_path: str) -> Any:
        with lock:
            if file_path not in memo:
                memo[file_path] = original(self, file_path)
            return memo[file_path]

    load_file._evalgate_memo = True  # type: ignore[attr-defined]
    loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]


def _enable_state_machine_execution(moto_url: str) -> None:
    """moto runs state machines for real only when asked, and its task integrations call AWS through
    localhost:$MOTO_PORT: point them at this server (its Lambda Invoke reaches our worker pool)."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    os.environ["MOTO_PORT"] = moto_url.rsplit(":", 1)[-1]


def port_from_env(default: int = 3000) -> int:
    raw = os.environ.get("EVALGATE_PORT")
    return int(raw) if raw else default
