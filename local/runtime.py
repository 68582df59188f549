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

from local import cfn, durable, model, moto_index, moto_speed, resources
from local.durable import DurableState
from local.gc_pacer import GcPacer
from local.http_front import HttpFront
from local.janitor import Janitor
from local.lambdas import DEFAULT_CONCURRENCY, FunctionSpec, LambdaPool
from local.sqs_poller import SqsPoller
from local.ticker import Ticker

REGION = "us-east-1"
PROVIDER_ENV_PREFIXES = ("OPENAI_", "ANTHROPIC_", "EVALGATE_PROVIDER_")
ROOT = cfn.ROOT


_INTERNAL = "evalgate.internal"  # in a request's environ: it came to the functions' listener
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


class MotoServer:
    """moto's WSGI app on loopback, plus the Lambda Invoke API served by the runtime's worker pool.

    DynamoDB requests are serialised, as each item write is atomic in DynamoDB, so concurrent ADD updates
    stay exact whatever moto does internally. Lambda Invoke requests (from Step Functions tasks that moto
    executes, or from any code) go to `lambda_invoke` instead of moto's Docker-based Lambda.

    Two listeners serve the same emulator. `url` is for clients: with a durable state, its every reply leaves
    only once everything journaled before it is on disk. `internal_url` is the functions' endpoint (their
    AWS_ENDPOINT_URL): their DynamoDB and SQS writes are journaled before the reply but not waited on, because a
    function's write is acknowledged to nobody until its invocation's answer is; the runtime makes everything
    journaled durable before it passes an invocation's answer on (`LocalRuntime.durable_invoke`: the HTTP front,
    the SQS pollers, the ticker) and before any reply on `url`. One fdatasync per API request instead of one per
    write the request made (issue 18 item 3, third pass). S3 writes are synced before their reply on both (a
    browser uploads to a presigned URL made with the functions' endpoint)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        dispatcher = moto_speed.dynamodb_lane(DomainDispatcherApplication(create_backend_app))
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
            if target.endswith(_METERED_WRITES):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length) if length else b""
                environ["wsgi.input"] = io.BytesIO(body)
                units, items = _write_units(target, body)
            with counter_lock:
                self.operations[target] += 1
                self.write_units += units
                self.items_written += items

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            out = serve(environ, start_response)
            if self.durable is not None and self.durable.journal is not None:
                out = [b"".join(out)]
                self.durable.journal.sync_all()  # a client's reply: everything journaled so far is on disk
            return out

        def internal_app(environ: dict[str, Any], start_response: Any) -> Any:
            environ[_INTERNAL] = True
            return serve(environ, start_response)

        def serve(environ: dict[str, Any], start_response: Any) -> Any:
            count(environ)
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if environ.get("REQUEST_METHOD") == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
                # a browser's CORS preflight before it PUTs to a presigned upload URL: S3 answers it from the
                # bucket's CORS rules alone, but moto checks the URL's signature (made for PUT) and refuses it
                environ["QUERY_STRING"] = ""
            if self.durable is not None and self.durable.journal is not None:
                journaled = self._journaled(environ, target, start_response)
                if journaled is not None:
                    return journaled
            if target.startswith("DynamoDB_"):
                with ddb_lock:
                    return [b"".join(dispatcher(environ, start_response))]
            match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
            if match and environ.get("REQUEST_METHOD") == "POST" and self.lambda_invoke is not None:
                return self._invoke(unquote(match.group("name")), environ, start_response)
            return dispatcher(environ, start_response)

        class QuietHandler(MotoRequestHandler):
            """moto's request handler (its environ: header spellings S3 needs), with connections kept alive.

            werkzeug's dev server answers every request with ``Connection: close``, so every emulated AWS call
            opened a new TCP connection and the server started a new thread for it (measured: 25 connections for
            25 DynamoDB calls from one client). Here a request's body is read whole first (its Content-Length, or
            its chunks), the app's answer is collected and sent with its length, and the connection stays open
            for the client's next call (unless it asks to close). TCP_NODELAY: a reply's headers and body go out
            without waiting for the client's delayed ACK."""

            disable_nagle_algorithm = True

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return

            def _body(self) -> bytes:
                length = self.headers.get("Content-Length")
                if length is not None:
                    return self.rfile.read(int(length)) if int(length) > 0 else b""
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    parts: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return b""

            def run_wsgi(self) -> None:
                if self.headers.get("Expect", "").strip().lower() == "100-continue":
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.wfile.flush()
                body = self._body()
                environ = self.make_environ()
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                answer: list[Any] = []
                out: list[bytes] = []

                def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                    answer[:] = [status, list(headers)]
                    return out.append

                try:
                    result = self.server.app(environ, start_response)
                    try:
                        out.extend(result)
                    finally:
                        if hasattr(result, "close"):
                            result.close()
                except Exception:  # as werkzeug does: a 500, and the connection closed
                    self.close_connection = True
                    self.send_error(500, "the emulator failed on this request")
                    raise
                status, headers = answer
                code_text, _, reason = status.partition(" ")
                code = int(code_text)
                payload = b"".join(out)
                self.send_response(code, reason)
                names = set()
                for name, value in headers:
                    if name.lower() in ("connection", "transfer-encoding"):
                        continue
                    self.send_header(name, value)
                    names.add(name.lower())
                head = environ["REQUEST_METHOD"] == "HEAD"
                if "content-length" not in names and not head and not (100 <= code < 200 or code in (204, 304)):
                    self.send_header("Content-Length", str(len(payload)))
                if self.headers.get("Connection", "").strip().lower() == "close":
                    self.close_connection = True
                self.send_header("Connection", "close" if self.close_connection else "keep-alive")
                # the head and the body in one send (end_headers would send the head alone)
                parts: list[bytes] = getattr(self, "_headers_buffer", []) if self.request_version != "HTTP/0.9" else []
                self._headers_buffer: list[bytes] = []
                self.wfile.write(b"".join([*parts, b"\r\n" if parts else b"", b"" if head else payload]))
                self.wfile.flush()

        self.dispatcher = dispatcher
        self.ddb_lock = ddb_lock
        self.s3_lock = threading.Lock()
        self.durable: DurableState | None = None
        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._internal = make_server(host, 0, internal_app, threaded=True, request_handler=QuietHandler)
        self._internal_thread = threading.Thread(
            target=self._internal.serve_forever, name="moto-functions", daemon=True
        )

    def _journaled(self, environ: dict[str, Any], target: str, start_response: Any) -> list[bytes] | None:
        """A mutating request, answered and journaled (fsynced) before its reply leaves; None for the rest."""
        assert self.durable is not None and self.durable.journal is not None
        journal = self.durable.journal
        method = environ.get("REQUEST_METHOD", "GET")
        if target.startswith("DynamoDB_"):
            if not target.endswith(durable.DDB_WRITES):
                return None
            lock = self.ddb_lock
        elif target.startswith("AmazonSQS."):
            if target in durable.SQS_SENDS or target in durable.SQS_DELETES:
                return self._journaled_sqs(environ, target, start_response, journal)
            return None
        elif not target and method in ("PUT", "POST", "DELETE") and durable._service(environ) == "s3":
            lock = self.s3_lock
        else:
            return None
        body = _read_body(environ)
        status: list[str] = []

        def capture(value: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(value)
            return start_response(value, headers, exc_info) if exc_info else start_response(value, headers)

        seq = 0
        with lock:
            out = b"".join(self.dispatcher(environ, capture))
            if status and status[0].startswith("2"):
                seq = journal.append(durable.request_record(environ, body))
        if seq and not (environ.get(_INTERNAL) and lock is self.ddb_lock):
            journal.wait_durable(seq)  # a function's DynamoDB write: made durable before its invocation answers
        return [out]

    def _journaled_sqs(
        self, environ: dict[str, Any], target: str, start_response: Any, journal: durable.Journal
    ) -> list[bytes]:
        body = _read_body(environ)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return [b"".join(self.dispatcher(environ, start_response))]
        queue = durable.sqs_queue_name(str(request.get("QueueUrl", "")))
        handles: dict[str, str] = {}  # receipt handle -> message id, looked up before the delete
        if target in ("AmazonSQS.DeleteMessage", "AmazonSQS.DeleteMessageBatch"):
            wanted = [request.get("ReceiptHandle")] + [e.get("ReceiptHandle") for e in request.get("Entries") or []]
            handles = self.durable.message_ids(queue, [h for h in wanted if h]) if self.durable else {}
        status: list[str] = []

        def capture(value: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(value)
            return start_response(value, headers, exc_info) if exc_info else start_response(value, headers)

        out = b"".join(self.dispatcher(environ, capture))
        if not (status and status[0].startswith("2")):
            return [out]
        reply = json.loads(out or b"{}")
        records: list[dict[str, Any]] = []
        if target == "AmazonSQS.SendMessage":
            records.append(_sqs_send(queue, request, reply.get("MessageId")))
        elif target == "AmazonSQS.SendMessageBatch":
            entries = {e.get("Id"): e for e in request.get("Entries") or []}
            for done in reply.get("Successful") or []:
                records.append(_sqs_send(queue, entries.get(done.get("Id")) or {}, done.get("MessageId")))
        elif target == "AmazonSQS.DeleteMessage":
            ids = [handles[h] for h in [request.get("ReceiptHandle")] if h in handles]
            records.append({"t": "sqs-del", "queue": queue, "ids": ids})
        elif target == "AmazonSQS.DeleteMessageBatch":
            entries = {e.get("Id"): e.get("ReceiptHandle") for e in request.get("Entries") or []}
            done_handles = [entries.get(d.get("Id")) for d in reply.get("Successful") or []]
            ids = [handles[h] for h in done_handles if h in handles]
            records.append({"t": "sqs-del", "queue": queue, "ids": ids})
        else:
            records.append({"t": "sqs-purge", "queue": queue})
        seq = 0
        for record in records:
            seq = journal.append(record)
        if seq and not environ.get(_INTERNAL):
            journal.wait_durable(seq)
        return [out]

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

    def ddb_items(self, table_name: str) -> list[dict[str, Any]]:
        """Every item of a table as plain values (strings, numbers as text), straight from the backend."""
        from moto.dynamodb.models import dynamodb_backends

        out = []
        with self.ddb_lock:
            table = dynamodb_backends[cfn.Names().account][REGION].get_table(table_name)
            for item in table.all_items():
                attrs = item.to_json()["Attributes"]
                out.append({k: next(iter(v.values())) for k, v in attrs.items()})
        return out

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def internal_url(self) -> str:
        """The functions' endpoint (see the class docstring)."""
        host, port = self._internal.server_address[:2]
        return f"http://{host!s}:{port}"

    def sync(self) -> None:
        """Everything journaled so far on disk (nothing to do in memory-only mode or when nothing is pending)."""
        if self.durable is not None and self.durable.journal is not None:
            self.durable.journal.sync_all()

    def start(self) -> None:
        self._thread.start()
        self._internal_thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._internal.shutdown()
        self._internal.server_close()


@dataclass
class LocalRuntime:
    port: int = 3000
    host: str = "127.0.0.1"
    template: Path = cfn.TEMPLATE
    state_dir: Path = ROOT / ".local"
    data_dir: Path | None = None  # the emulated services' durable state: state_dir/state (EVALGATE_STATE_DIR)
    ephemeral: bool = False  # keep everything in memory only (EVALGATE_EPHEMERAL=1)
    admin_key: str | None = None
    tick_seconds: float = 1.0
    concurrency: int = DEFAULT_CONCURRENCY
    names: cfn.Names = field(default_factory=cfn.Names)

    def __post_init__(self) -> None:
        self.store_dir: Path = self.data_dir or self.state_dir / "state"
        self.app = model.read(self.template)
        self.moto = MotoServer(self.host)
        self.pollers: list[SqsPoller] = []
        self.ticker: Ticker | None = None
        self.janitor: Janitor | None = None
        self.gc_pacer: GcPacer | None = None
        self.front: HttpFront | None = None
        self.pool: LambdaPool | None = None
        self.admin_secret: str | None = None
        self.project_id: str | None = None
        self.durable: DurableState | None = None
        self.restored: Counter[str] = Counter()
        self.interrupted: list[str] = []  # suite runs a restart ended ("interrupted by a restart")
        self._lock_file: Any = None

    def durable_invoke(self, name_or_arn: str, event: Any) -> Any:
        """Invoke a function; its answer is passed on only once every write it made is on disk (see MotoServer)."""
        assert self.pool is not None
        try:
            return self.pool.invoke(name_or_arn, event)
        finally:
            self.moto.sync()

    # -- clients for the runtime itself (never handed to functions) -----------------------------
    def aws_env(self) -> dict[str, str]:
        """What Lambda would inject: region, credentials, and here the endpoint of the moto server."""
        return {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": self.moto.internal_url,
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
        moto_index.install()
        moto_speed.install()
        # template parameters can be overridden from the environment, as `sam deploy --parameter-overrides`
        for name in self.app.doc.get("Parameters") or {}:
            if f"EVALGATE_PARAMETER_{name}" in os.environ:
                self.names.parameters[name] = os.environ[f"EVALGATE_PARAMETER_{name}"]
        self.moto.start()
        _enable_state_machine_execution(self.moto.url)
        resources.declare_names(self.app, self.names)
        resources.create(self.app, self.names, self.client)
        if not self.ephemeral:
            self._restore()
        specs = {}
        for logical_id, fn in self.app.functions.items():
            # a function's reserved concurrency (a template parameter) caps its local processes too, never above
            # the runtime's own cap (a deployment reserves hundreds; this machine runs a few)
            reserved = cfn.resolve(fn.reserved_concurrency, self.names)
            cap = min(int(reserved), self.concurrency) if reserved else self.concurrency
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
                max_concurrency=cap,
            )
        self.pool = LambdaPool(specs, self.aws_env(), self.state_dir / "logs")
        self.moto.lambda_invoke = self.pool
        self._seed()
        if self.durable is not None:
            self.interrupted = self._interrupt_runs()
        self.front = HttpFront(self.app, self.durable_invoke, self.host, self.port)
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
                invoke=self.durable_invoke,
                region=REGION,
            )
            poller.start()
            self.pollers.append(poller)
        self.ticker = Ticker(
            [s for s in self.app.schedules if s.enabled],
            invoke=self.durable_invoke,
            resolve=lambda value: cfn.resolve(value, self.names),
            region=REGION,
            account=self.names.account,
            interval=self.tick_seconds,
            state_path=self.store_dir / "schedules.json" if self.durable is not None else None,
        )
        self.ticker.start()
        self.gc_pacer = GcPacer(on_garbage_only=True)
        self.janitor = Janitor(self.names.account, REGION, on_dropped=self.gc_pacer.note_garbage)
        self.janitor.start()
        self.gc_pacer.start()

    def _restore(self) -> None:
        """Take the state directory (one runtime at a time), load it into moto, then journal every write."""
        import fcntl  # lazy: POSIX only, and only a durable runtime needs it

        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.store_dir / "lock").open("w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OSError(f"another local runtime is using {self.store_dir}") from None
        self.durable = DurableState(self.store_dir, account=self.names.account, region=REGION)
        self.restored = self.durable.restore(self.moto.dispatcher)
        self.moto.durable = self.durable

    def _interrupt_runs(self) -> list[str]:
        """Suite runs whose workflow a restart ended (Step Functions executions are not kept) end as failed
        with the reason "interrupted by a restart", never stuck in running. Auto-eval jobs need nothing: their
        SQS messages are delivered again and the jobs resume."""
        from datetime import UTC, datetime  # lazy: only after a restore

        from evalgate.errors import Conflict
        from evalgate.models.domain import RunStatus
        from evalgate.store.blobs import Blobs
        from evalgate.store.runs import RunStore
        from evalgate.store.table import Table

        table_name = self._main_table()
        if table_name is None:
            return []
        live = {RunStatus.pending.value, RunStatus.queued.value, RunStatus.running.value}
        stuck: list[tuple[str, int]] = []
        for item in self.moto.ddb_items(table_name):
            sk = str(item.get("SK", ""))
            pk = str(item.get("PK", ""))
            is_run = sk.startswith("RUN#") and sk.count("#") == 1 and pk.startswith("PROJECT#") and pk.count("#") == 1
            if is_run and item.get("status") in live and item.get("kind", "suite") == "suite":
                stuck.append((pk.split("#", 1)[1], int(sk.split("#", 1)[1])))
        if not stuck:
            return []
        bucket = next(iter(self.app.resources_of("AWS::S3::Bucket")), None)
        store = RunStore(
            Table(table_name, self.client("dynamodb")),
            Blobs(self.names.refs[bucket] if bucket else "", self.client("s3")),
        )
        ended = []
        for project_id, run_id in stuck:
            try:
                store.transition(
                    project_id,
                    run_id,
                    RunStatus.failed,
                    allowed_from=[RunStatus(v) for v in sorted(live)],
                    now=datetime.now(UTC),
                    sets={"error": "interrupted by a restart"},
                )
                ended.append(f"{project_id}/{run_id}")
            except Conflict:
                continue
        return ended

    def _main_table(self) -> str | None:
        table_id = next(
            (
                k
                for k, v in self.app.resources_of("AWS::DynamoDB::Table").items()
                if [a["AttributeName"] for a in (v.get("Properties") or {}).get("KeySchema", [])] == ["PK", "SK"]
            ),
            None,
        )
        return self.names.refs[table_id] if table_id else None

    def _seed(self) -> None:
        """A default project with an admin key: the given one, or a fresh one printed once."""
        layer = str(ROOT / "layers" / "evalgate")
        if layer not in sys.path:
            sys.path.insert(0, layer)
        from evalgate import auth, keys
        from evalgate.models.domain import Role
        from evalgate.services.projects import create_project, issue_key
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
        secret = self.admin_key or self._kept_admin_secret() or auth.generate_secret()
        existing = store.lookup_key(auth.hash_secret(secret))
        if existing:
            self.project_id = existing["projectId"]
        elif self.durable is not None and not self.admin_key and store.table.get(keys.project("prj_default")):
            # a kept default project whose plain admin key is not at hand: a new admin key for it
            issue_key("prj_default", "local runtime admin key", Role.admin, secret=secret, store=store)
            self.project_id = "prj_default"
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
        if self.durable is not None and not self.admin_key:
            # the key is stored hashed; its one plain copy stays beside the state (owner-only), so the key
            # `make run` printed keeps working after a restart
            path = self.store_dir / "admin-key"
            path.touch(mode=0o600)
            path.write_text(secret, encoding="utf-8")

    def _kept_admin_secret(self) -> str | None:
        if self.durable is None:
            return None
        path = self.store_dir / "admin-key"
        return path.read_text(encoding="utf-8").strip() or None if path.exists() else None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.janitor:
            self.janitor.stop()
        if self.gc_pacer:
            self.gc_pacer.stop()
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
        if self.durable is not None:
            self.durable.close()
        if self._lock_file is not None:
            self._lock_file.close()


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _sqs_send(queue: str, request: dict[str, Any], message_id: Any) -> dict[str, Any]:
    return {
        "t": "sqs-send",
        "queue": queue,
        "id": str(message_id),
        "body": request.get("MessageBody", ""),
        "attrs": request.get("MessageAttributes") or {},
        "dedup": request.get("MessageDeduplicationId"),
        "group": request.get("MessageGroupId"),
    }


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


_METERED_WRITES = (
    ".PutItem",
    ".BatchWriteItem",
    ".TransactWriteItems",
    ".UpdateItem",
    ".DeleteItem",
    ".BatchExecuteStatement",
)


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
    elif target.endswith(".BatchExecuteStatement"):  # PartiQL INSERTs: billed as the puts they are
        for stmt in doc.get("Statements", []):
            parsed = moto_speed.parse_insert(str(stmt.get("Statement", "")), list(stmt.get("Parameters") or []))
            if parsed is not None:
                items.append(parsed[1])
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
