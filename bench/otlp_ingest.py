"""OTLP ingestion: spans/s through POST /v1/traces (protobuf, protobuf+gzip, JSON) against the JSON traces
route with the same calls, on one local stack, interleaved; and the protobuf decoder choice, measured.

1. Throughput. N LLM calls (GenAI-semconv chat spans made by the real SDK, encoded by its own OTLP encoders
   before timing) are sent in requests of 500 spans (the SDK's batch processor sends up to 512), one client,
   through each path in turn, round after round (fresh span ids each round, so every span is stored). The
   same calls as JSON traces (batches of 500, the route's limit) are the reference: ratio = OTLP / JSON.
   Each path sends its own spans; "re-sent" sends the protobuf requests again (all duplicates, as a retry).
   1b repeats this in process on moto and reports handler CPU per span (robust to other load).
2. Decoding, in process: the hand-written decoder (evalgate.otlp.wire) against the protobuf runtime
   (opentelemetry-proto's ExportTraceServiceRequest.FromString, then its messages walked into the same
   spans), on the same bodies.
3. Import cost in fresh interpreters (what a cold start pays): `import evalgate.otlp.wire` against importing
   opentelemetry-proto's trace_service_pb2 (protobuf's upb backend), interleaved, CPU time.
4. Layer size: what opentelemetry-proto + protobuf would add to the layer against the hand-written modules.

The function's own cold start against the bare handler is bench.cold_start's job:
    .venv/bin/python -m bench.cold_start --only export_otlp_traces ingest_traces

    .venv/bin/python -m bench.otlp_ingest [--spans 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._common import ROOT, admin_session, start_runtime, table, write_results

LAYER = ROOT / "layers" / "evalgate"
BATCH = 500
PATHS = ("otlp protobuf", "otlp protobuf+gzip", "otlp json", "json traces route")


# ------------------------------------------------------------------------------------------- payloads
def make_spans(n: int, tag: str) -> list[Any]:
    """n chat spans as an instrumented app records them (the SDK, in memory)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bench", "deployment.environment": "production"})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", f"bench-{tag}")
            span.set_attribute("gen_ai.usage.input_tokens", 40)
            span.set_attribute("gen_ai.usage.output_tokens", 12)
            span.set_attribute(
                "gen_ai.input.messages",
                f'[{{"role":"user","parts":[{{"type":"text","content":"When does order {i} ship?"}}]}}]',
            )
            span.set_attribute(
                "gen_ai.output.messages",
                f'[{{"role":"assistant","parts":[{{"type":"text","content":"Order {i} ships today."}}],'
                '"finish_reason":"stop"}]',
            )
    provider.shutdown()
    return list(memory.get_finished_spans())


def bodies(spans: list[Any]) -> dict[str, list[tuple[bytes, dict[str, str]]]]:
    """Each path's requests for the same spans: (body, headers)."""
    from opentelemetry.exporter.otlp.json.common._internal.trace_encoder import encode_spans as encode_json
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_protobuf

    out: dict[str, list[tuple[bytes, dict[str, str]]]] = {
        "otlp protobuf": [],
        "otlp protobuf+gzip": [],
        "otlp json": [],
        "json traces route": [],
    }
    for start in range(0, len(spans), BATCH):
        chunk = spans[start : start + BATCH]
        pb = encode_protobuf(chunk).SerializeToString()
        out["otlp protobuf"].append((pb, {"Content-Type": "application/x-protobuf"}))
        out["otlp protobuf+gzip"].append(
            (gzip.compress(pb), {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
        )
        out["otlp json"].append((encode_json(chunk).to_json().encode(), {"Content-Type": "application/json"}))
        traces = []
        for s in chunk:
            traces.append(
                {
                    "id": f"json-{s.context.trace_id:032x}-{s.context.span_id:016x}",
                    "model": s.attributes["gen_ai.request.model"],
                    "input": {"input": s.attributes["gen_ai.input.messages"]},
                    "output": s.attributes["gen_ai.output.messages"],
                    "latency_ms": (s.end_time - s.start_time) / 1e6,
                    "input_tokens": 40,
                    "output_tokens": 12,
                    "timestamp": datetime.fromtimestamp(s.start_time / 1e9, UTC).isoformat(),
                    "environment": "production",
                    "metadata": {"otel": {"service": "bench"}},
                }
            )
        import json

        out["json traces route"].append((json.dumps({"traces": traces}).encode(), {"Content-Type": "application/json"}))
    return out


def fresh_bodies(n: int, tag: str) -> dict[str, list[tuple[bytes, dict[str, str]]]]:
    """Each path's requests for its own n spans (new span ids: every span is stored), then the protobuf
    requests sent again (every span a duplicate: what an exporter's retry costs)."""
    out = {name: bodies(make_spans(n, f"{tag}-{k}"))[name] for k, name in enumerate(PATHS)}
    out["otlp protobuf, re-sent"] = out["otlp protobuf"]
    return out


# ------------------------------------------------------------------------------------------- 1. throughput
def throughput(n: int, rounds: int) -> dict[str, Any]:
    runtime = start_runtime()
    rates: dict[str, list[float]] = {}
    try:
        s = admin_session(runtime)
        base = runtime.base_url

        def send(requests_: list[tuple[bytes, dict[str, str]]], path: str) -> float:
            started = time.perf_counter()
            for body, headers in requests_:
                reply = s.post(base + path, data=body, headers=headers)
                assert reply.status_code == 200, reply.text[:300]
            return time.perf_counter() - started

        warm = bodies(make_spans(50, "warm"))
        for name, reqs in warm.items():
            send(reqs, "/api/v1/traces" if name.startswith("json") else "/v1/traces")
        for r in range(rounds):
            payloads = fresh_bodies(n, f"r{r}")
            order = list(PATHS)
            if r % 2:
                order.reverse()
            order.append("otlp protobuf, re-sent")  # drift (moto's table growing, other load) hits every path alike
            for name in order:
                seconds = send(payloads[name], "/api/v1/traces" if name.startswith("json") else "/v1/traces")
                rates.setdefault(name, []).append(n / seconds)
    finally:
        runtime.stop()
    return {name: {"spans_per_s": values, "median": statistics.median(values)} for name, values in rates.items()}


# ------------------------------------------------------------------------------------------- 1b. in process
def handler_cpu(n: int, rounds: int) -> dict[str, Any]:
    """CPU ms per span in each function's handler, in process on moto (mock_aws): the functions' own cost,
    free of the local runtime's HTTP hops and of other load on the machine (process_time)."""
    import os

    import boto3
    from moto import mock_aws

    sys.path.insert(0, str(LAYER))
    from evalgate.services import container as container_module
    from evalgate.services.projects import create_project
    from local import cfn, model, resources
    from local.http_front import build_event

    app = model.read()
    cpu: dict[str, list[float]] = {}
    from local import moto_speed  # lazy: moto's PartiQL INSERTs as DynamoDB answers them (result claims)

    moto_speed.install()
    with mock_aws():
        names = cfn.Names()
        resources.declare_names(app, names)
        resources.create(app, names, lambda service: boto3.client(service, region_name="us-east-1"))
        for fid in ("ExportOtlpTracesFunction", "IngestTracesFunction"):
            os.environ.update(resources.function_environment(app, names, fid))
        os.environ["EVALGATE_RATE_LIMIT_PER_MINUTE"] = "0"
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        container_module.reset_container()
        _, _, secret = create_project(None, "bench")
        handlers = {}
        for fid, route_key in (
            ("ExportOtlpTracesFunction", "POST /v1/traces"),
            ("IngestTracesFunction", "POST /api/v1/traces"),
        ):
            fn = app.functions[fid]
            spec = importlib.util.spec_from_file_location(f"bench_{fid}", fn.code_dir / "app.py")
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            handlers[route_key] = module.lambda_handler

        class Context:
            function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

        def call(body: bytes, headers: dict[str, str], route_key: str) -> None:
            method, path = route_key.split(" ")
            event = build_event(
                method,
                path,
                "",
                [*((k.lower(), v) for k, v in headers.items()), ("authorization", f"Bearer {secret}")],
                body,
                route_key,
                {},
                "127.0.0.1",
                "bench",
            )
            result = handlers[route_key](event, Context())
            assert result["statusCode"] == 200, result.get("body", "")[:300]

        for r in range(rounds + 1):  # round 0 warms up
            payloads = fresh_bodies(n, f"cpu{r}")
            order = [*PATHS[:: -1 if r % 2 else 1], "otlp protobuf, re-sent"]
            for name in order:
                reqs = payloads[name]
                route_key = "POST /api/v1/traces" if name.startswith("json") else "POST /v1/traces"
                started = time.process_time()
                for body, headers in reqs:
                    call(body, headers, route_key)
                if r:
                    cpu.setdefault(name, []).append((time.process_time() - started) * 1000 / n)
    return {name: {"cpu_ms_per_span": v, "median": statistics.median(v)} for name, v in cpu.items()}


# ------------------------------------------------------------------------------------------- 2. decoding
def decoding(n: int) -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_protobuf

    sys.path.insert(0, str(LAYER))
    from evalgate.otlp import wire

    body = encode_protobuf(make_spans(n, "decode")).SerializeToString()
    runs: dict[str, list[float]] = {"hand-written": [], "opentelemetry-proto + walk": []}
    for _ in range(5):
        started = time.perf_counter()
        ours = wire.decode_protobuf(body)
        runs["hand-written"].append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs = _decode_with_protobuf(body)
        runs["opentelemetry-proto + walk"].append(time.perf_counter() - started)
    assert ours == theirs, "the two decoders disagree"
    return {k: {"ms": min(v) * 1000, "spans_per_s": n / min(v)} for k, v in runs.items()} | {
        "spans": n,
        "bytes": len(body),
    }


def _decode_with_protobuf(body: bytes) -> list[Any]:
    """The alternative: the protobuf runtime parses, then its messages become the same Span objects."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from evalgate.otlp.wire import Event, Span

    def value(v: Any) -> Any:
        kind = v.WhichOneof("value")
        if kind == "array_value":
            return [value(x) for x in v.array_value.values]
        if kind == "kvlist_value":
            return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
        if kind == "bytes_value":
            return base64.b64encode(v.bytes_value).decode()
        return getattr(v, kind) if kind else None

    out = []
    for rs in ExportTraceServiceRequest.FromString(body).resource_spans:
        resource = {kv.key: value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    Span(
                        s.trace_id,
                        s.span_id,
                        s.parent_span_id,
                        s.name,
                        s.kind,
                        s.start_time_unix_nano,
                        s.end_time_unix_nano,
                        {kv.key: value(kv.value) for kv in s.attributes},
                        [
                            Event(e.name, e.time_unix_nano, {kv.key: value(kv.value) for kv in e.attributes})
                            for e in s.events
                        ],
                        s.status.code,
                        s.status.message,
                        resource,
                        ss.scope.name,
                    )
                )
    return out


# ------------------------------------------------------------------------------------------- 3. import cost
IMPORTS = {
    "evalgate.otlp.wire (hand-written)": "import evalgate.otlp.wire",
    "opentelemetry-proto trace_service_pb2": "import opentelemetry.proto.collector.trace.v1.trace_service_pb2",
    "nothing (interpreter only)": "pass",
}


def import_cost(rounds: int) -> dict[str, Any]:
    child = (
        "import sys, time\nsys.path.insert(0, sys.argv[1])\nimport json, base64, math, struct, dataclasses\n"
        "import evalgate.errors\nc0 = time.process_time(); t0 = time.perf_counter()\n{stmt}\n"
        "print((time.process_time() - c0) * 1000, (time.perf_counter() - t0) * 1000)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {"PYTHONPYCACHEPREFIX": cache, "PATH": "/usr/bin:/bin"}
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in IMPORTS}
        for r in range(rounds + 1):  # round 0 warms the bytecode cache
            for name, stmt in IMPORTS.items():
                done = subprocess.run(
                    [sys.executable, "-c", child.replace("{stmt}", stmt), str(LAYER)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                cpu, wall = (float(x) for x in done.stdout.split())
                if r:
                    times[name].append((cpu, wall))
    return {
        name: {"cpu_ms": statistics.median(c for c, _ in v), "wall_ms": statistics.median(w for _, w in v)}
        for name, v in times.items()
    }


# ------------------------------------------------------------------------------------------- 4. layer size
def layer_size() -> dict[str, int]:
    def dist_bytes(name: str) -> int:
        dist = metadata.distribution(name)
        root = Path(str(dist.locate_file("")))
        return sum(
            (root / f).stat().st_size for f in dist.files or [] if "__pycache__" not in f.parts and (root / f).is_file()
        )

    ours = sum(p.stat().st_size for p in (LAYER / "evalgate" / "otlp").glob("*.py"))
    return {
        "opentelemetry-proto": dist_bytes("opentelemetry-proto"),
        "protobuf": dist_bytes("protobuf"),
        "evalgate/otlp (hand-written)": ours,
    }


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=3000, help="LLM spans per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--import-rounds", type=int, default=9)
    args = parser.parse_args(argv)

    decode = decoding(2000)
    in_process = handler_cpu(500, 3)
    imports = import_cost(args.import_rounds)
    sizes = layer_size()
    rates = throughput(args.spans, args.rounds)

    reference = rates["json traces route"]["median"]
    print(
        f"\n1. ingest {args.spans} LLM spans per path x {args.rounds} rounds, requests of {BATCH}, one client "
        "(local runtime)"
    )
    print(
        table(
            ["path", "median spans/s", "rounds", "ratio to JSON route"],
            [
                [
                    name,
                    f"{r['median']:.0f}",
                    " ".join(f"{x:.0f}" for x in r["spans_per_s"]),
                    f"{r['median'] / reference:.2f}",
                ]
                for name, r in rates.items()
            ],
        )
    )
    base_cpu = in_process["json traces route"]["median"]
    print("\n1b. the same in process on moto: handler CPU ms per span (3 rounds of 500, medians)")
    print(
        table(
            ["path", "cpu ms/span", "ratio to JSON route"],
            [[name, f"{r['median']:.3f}", f"{r['median'] / base_cpu:.2f}"] for name, r in in_process.items()],
        )
    )
    print(f"\n2. decode {decode['spans']} spans ({decode['bytes']} bytes of protobuf), best of 5, in process")
    print(
        table(
            ["decoder", "ms", "spans/s"],
            [[k, f"{v['ms']:.1f}", f"{v['spans_per_s']:.0f}"] for k, v in decode.items() if isinstance(v, dict)],
        )
    )
    print(f"\n3. import in a fresh interpreter (median of {args.import_rounds}, after evalgate.errors and the stdlib)")
    print(
        table(
            ["import", "cpu ms", "wall ms"],
            [[k, f"{v['cpu_ms']:.1f}", f"{v['wall_ms']:.1f}"] for k, v in imports.items()],
        )
    )
    print("\n4. bytes added to the layer")
    print(table(["what", "bytes"], [[k, f"{v:,}"] for k, v in sizes.items()]))
    otlp_pb = rates["otlp protobuf"]["median"] / reference
    extra = imports["opentelemetry-proto trace_service_pb2"]["cpu_ms"] - imports["nothing (interpreter only)"]["cpu_ms"]
    ours = imports["evalgate.otlp.wire (hand-written)"]["cpu_ms"] - imports["nothing (interpreter only)"]["cpu_ms"]
    print(
        f"\nSUMMARY otlp_protobuf/json_route={otlp_pb:.2f} cpu_per_span otlp_protobuf/json_route="
        f"{in_process['otlp protobuf']['median'] / base_cpu:.2f} import_ms hand-written={ours:.1f} "
        f"opentelemetry-proto={extra:.1f} decode_ms hand-written={decode['hand-written']['ms']:.0f} "
        f"protobuf+walk={decode['opentelemetry-proto + walk']['ms']:.0f}"
    )
    data = {"throughput": rates, "handler_cpu": in_process, "decode": decode, "imports": imports, "layer_bytes": sizes}
    print(f"results: {write_results('otlp_ingest', data)}")
    return data


if __name__ == "__main__":
    main()
