"""Request overhead of the local runtime: GET /api/prompts/{id} over HTTP vs a direct DynamoDB get_item.

Starts a LocalRuntime in-process (moto server, HTTP front, worker processes), creates one prompt over
HTTP, warms up, then times three things interleaved in the same loop, one request at a time:

  http      GET /api/prompts/{id} with a keep-alive requests.Session: HTTP front -> API Gateway v2
            event -> worker process (pipe) -> the get_prompt handler -> DynamoDB on moto -> back
  handler   the same function's lambda_handler called in this process with the same kind of event
            (no HTTP front, no worker pipe), against the same moto server
  direct    boto3 get_item of the same prompt item on the same moto server (ConsistentRead, as the store)

DynamoDB calls per GET are counted by wrapping the moto server's WSGI app (every request to moto is
tallied by service and operation, and its server-side time is summed) over a window of sequential GETs.
The per-request breakdown uses the front's X-Evalgate-Local-Ms header (time inside the front), the
runtime's LambdaPool.on_invoke hook (time of the worker round trip) and the moto tap (time inside moto).

Throughput with N concurrent clients is measured by a separate load-generator process (so that its
threads do not compete for this process's GIL with the moto server and the HTTP front).

    .venv/bin/python -m bench.request_overhead [--requests 500] [--clients 8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench._common import ROOT, summary, table, write_results

LAYER = ROOT / "layers" / "evalgate"
GET_PATH = "/api/prompts/{promptId}"
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/")


# ---------------------------------------------------------------------------------- the moto tap
class MotoTap:
    """WSGI middleware around the moto server: counts requests by service:operation, sums server time."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.busy_ms = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            prefix, _, op = target.partition(".")
            label = f"{prefix.split('_')[0].lower()}:{op}"
        else:
            m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
            label = f"{m.group(1) if m else '?'}:{environ.get('REQUEST_METHOD')}"
        started = time.perf_counter()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.counts[label] += 1
            self.busy_ms += elapsed
        return [body]

    def snapshot(self) -> tuple[Counter[str], float]:
        with self.lock:
            return Counter(self.counts), self.busy_ms


# ---------------------------------------------------------------------------------- load generator
def load_child(args: argparse.Namespace) -> int:
    """Runs in its own process: N threads hammer one target for a while, then print JSON figures."""
    spec = json.loads(args.load)
    stop_warm = time.perf_counter() + spec["warmup"]
    stop = stop_warm + spec["seconds"]
    latencies: list[list[float]] = [[] for _ in range(spec["clients"])]
    errors = [0] * spec["clients"]
    barrier = threading.Barrier(spec["clients"])

    def make_call() -> Callable[[], bool]:
        if spec["kind"] == "http":
            import requests

            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {spec['token']}"
            return lambda: session.get(spec["url"], timeout=30).status_code == 200
        import boto3

        client = boto3.session.Session().client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=spec["endpoint"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        return lambda: "Item" in client.get_item(TableName=spec["table"], Key=spec["key"], ConsistentRead=True)

    last_end = [0.0] * spec["clients"]

    def worker(i: int) -> None:
        call = make_call()
        barrier.wait()
        while (now := time.perf_counter()) < stop:
            ok = call()
            if now >= stop_warm:  # only requests started in the measured window count
                last_end[i] = time.perf_counter()
                latencies[i].append((last_end[i] - now) * 1000)
                errors[i] += not ok

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(spec["clients"])]
    for t in threads:
        t.start()
    time.sleep(max(0.0, stop_warm - time.perf_counter()))
    cpu0 = time.process_time()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu0
    flat = [x for per in latencies for x in per]
    window = max(last_end) - stop_warm if flat else spec["seconds"]
    out = {"completed": len(flat), "errors": sum(errors), "seconds": window, "client_cpu_s": cpu, "latency": flat}
    print(json.dumps(out))
    return 0


def run_load(spec: dict[str, Any], workers: Callable[[], dict[int, float]] = dict) -> dict[str, Any]:
    """Run the load generator; CPU used meanwhile by this process (front + moto) and the workers is recorded."""
    cpu_self = time.process_time()
    cpu_workers = workers()
    cmd = [sys.executable, "-m", "bench.request_overhead", "--load", json.dumps(spec)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=spec["warmup"] + spec["seconds"] + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    runtime_cpu_s = time.process_time() - cpu_self
    after = workers()
    workers_cpu_s = sum(v - cpu_workers.get(pid, 0.0) for pid, v in after.items())
    lat = out.pop("latency")
    n = max(1, out["completed"])
    # the runtime's and the workers' CPU covers warm-up too; scale it to the measured share of requests
    total_time = spec["warmup"] + out["seconds"]
    share = out["seconds"] / total_time
    out["cpu_ms_per_request"] = {
        "runtime process (front + moto)": runtime_cpu_s * share * 1000 / n,
        "workers (handlers)": workers_cpu_s * share * 1000 / n,
        "load generator (clients)": out.pop("client_cpu_s") * 1000 / n,
    }
    out["throughput_rps"] = out["completed"] / out["seconds"]
    out["latency_ms"] = summary(lat)
    return out


def worker_cpu(runtime: Any, logical_id: str) -> Callable[[], dict[int, float]]:
    """CPU seconds (user + system) of the function's idle worker processes, by pid, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def read() -> dict[int, float]:
        out = {}
        for worker in list(runtime.pool._idle.get(logical_id, [])):
            try:
                fields = Path(f"/proc/{worker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[worker.proc.pid] = (int(fields[11]) + int(fields[12])) / tick
        return out

    return read


# ---------------------------------------------------------------------------------- in-process handler
def inprocess_handler(runtime: Any, logical_id: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The function's lambda_handler loaded into this process with its environment (tracing off)."""
    from local import resources

    fn = runtime.app.functions[logical_id]
    os.environ.update(resources.function_environment(runtime.app, runtime.names, logical_id))
    os.environ.update({k: v for k, v in runtime.aws_env().items()})
    from evalgate.services.container import reset_container

    reset_container()
    spec = importlib.util.spec_from_file_location(f"bench_inprocess_{fn.code_dir.name}", fn.code_dir / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = module.lambda_handler
    name = runtime.names.refs[logical_id]
    arn = runtime.names.attrs[(logical_id, "Arn")]

    def call(event: dict[str, Any]) -> dict[str, Any]:
        context = SimpleNamespace(
            function_name=name,
            function_version="$LATEST",
            invoked_function_arn=arn,
            memory_limit_in_mb=fn.memory,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name="bench",
            get_remaining_time_in_millis=lambda: fn.timeout * 1000,
        )
        result: dict[str, Any] = handler(event, context)
        return result

    return call


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The in-process handler's logger writes to stdout; keep the benchmark's output readable."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


# ---------------------------------------------------------------------------------- main
def fmt(s: dict[str, float]) -> list[str]:
    return [str(int(s["n"])), *(f"{s[k]:.2f}" for k in ("mean", "p50", "p90", "p99", "min", "max"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="sequential requests of each kind (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests of each kind first")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput figure")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds of the concurrent run")
    parser.add_argument(
        "--nodelay",
        action="store_true",
        help="what-if for the whole run: TCP_NODELAY on the HTTP front's connections (disable_nagle_algorithm)",
    )
    parser.add_argument("--whatif-requests", type=int, default=200, help="requests of the TCP_NODELAY what-if row")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load generator
    args = parser.parse_args(argv)
    if args.load:
        return load_child(args)

    import requests

    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from evalgate import keys
    from local.http_front import build_event
    from local.runtime import LocalRuntime

    started = time.perf_counter()
    state = Path(tempfile.mkdtemp(prefix="evalgate-bench-"))
    runtime = LocalRuntime(port=0, state_dir=state, tick_seconds=3600)
    tap = MotoTap(runtime.moto._server.app)
    runtime.moto._server.app = tap  # every request to moto goes through the tap
    invokes: list[tuple[str, float]] = []
    try:
        runtime.start()
        assert runtime.pool is not None and runtime.admin_secret and runtime.project_id
        runtime.pool.on_invoke = lambda logical_id, ms: invokes.append((logical_id, ms))
        assert runtime.front is not None
        handler_class = runtime.front.server.RequestHandlerClass
        if args.nodelay:
            handler_class.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        startup_s = time.perf_counter() - started

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {runtime.admin_secret}"
        created = session.post(
            runtime.base_url + "/api/prompts", json={"name": "bench", "template": "Hello {{name}}"}, timeout=60
        )
        if created.status_code != 201:
            raise RuntimeError(f"POST /api/prompts: {created.status_code} {created.text}")
        prompt_id = int(created.json()["id"])
        path = GET_PATH.format(promptId=prompt_id)
        url = runtime.base_url + path
        matched = runtime.app.match("GET", path)
        assert matched is not None
        route, params = matched
        logical_id = route.function

        table_name = next(
            runtime.names.refs[k]
            for k, v in runtime.app.doc["Resources"].items()
            if v.get("Type") == "AWS::DynamoDB::Table"
        )
        key = {k: {"S": v} for k, v in keys.prompt(runtime.project_id, prompt_id).items()}
        ddb = runtime.client("dynamodb")

        def event() -> dict[str, Any]:
            headers = [("Host", f"127.0.0.1:{runtime.port}"), ("Authorization", f"Bearer {runtime.admin_secret}")]
            headers += [("Accept", "*/*"), ("Connection", "keep-alive")]
            return build_event("GET", path, "", headers, b"", route.route_key, params, "127.0.0.1", headers[0][1])

        # the first GET cold-starts a worker
        t0 = time.perf_counter()
        first = session.get(url, timeout=60)
        cold_ms = (time.perf_counter() - t0) * 1000
        if first.status_code != 200:
            raise RuntimeError(f"GET {path}: {first.status_code} {first.text}")
        with quiet_stdout():
            handler = inprocess_handler(runtime, logical_id)
            t0 = time.perf_counter()
            assert handler(event())["statusCode"] == 200
            cold_inprocess_ms = (time.perf_counter() - t0) * 1000
        for _ in range(args.warmup):
            session.get(url, timeout=30).raise_for_status()
            ddb.get_item(TableName=table_name, Key=key, ConsistentRead=True)
            with quiet_stdout():
                handler(event())

        # DynamoDB (and other AWS) calls made by one GET: a window of sequential GETs, nothing else running
        window = 20
        before, _ = tap.snapshot()
        for _ in range(window):
            session.get(url, timeout=30).raise_for_status()
        after, _ = tap.snapshot()
        per_get = {k: (after[k] - before[k]) / window for k in after if after[k] != before[k]}

        # interleaved sequential measurement
        rows: dict[str, list[float]] = {k: [] for k in ("http", "front", "invoke", "moto_http", "handler", "direct")}
        rows["moto_direct"] = []
        kinds = ("http", "handler", "direct")
        for i in range(args.requests):
            for kind in kinds[i % 3 :] + kinds[: i % 3]:  # rotate the order to cancel order effects
                _, busy0 = tap.snapshot()
                if kind == "http":
                    invokes.clear()
                    t0 = time.perf_counter()
                    resp = session.get(url, timeout=30)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if resp.status_code != 200:
                        raise RuntimeError(f"GET {path}: {resp.status_code}")
                    rows["http"].append(elapsed)
                    rows["front"].append(float(resp.headers["X-Evalgate-Local-Ms"]))
                    rows["invoke"].append(sum(ms for lid, ms in invokes if lid == logical_id))
                    rows["moto_http"].append(tap.snapshot()[1] - busy0)
                elif kind == "handler":
                    ev = event()
                    with quiet_stdout():
                        t0 = time.perf_counter()
                        status = handler(ev)["statusCode"]
                        elapsed = (time.perf_counter() - t0) * 1000
                    if status != 200:
                        raise RuntimeError(f"in-process handler: {status}")
                    rows["handler"].append(elapsed)
                else:
                    t0 = time.perf_counter()
                    item = ddb.get_item(TableName=table_name, Key=key, ConsistentRead=True)
                    elapsed = (time.perf_counter() - t0) * 1000
                    assert "Item" in item
                    rows["direct"].append(elapsed)
                    rows["moto_direct"].append(tap.snapshot()[1] - busy0)
        stats = {k: summary(v) for k, v in rows.items()}

        # what-if: the same GETs when the front's sockets set TCP_NODELAY (a fresh keep-alive connection)
        whatif: dict[str, float] | None = None
        if not args.nodelay and args.whatif_requests:
            handler_class.disable_nagle_algorithm = True  # type: ignore[attr-defined]
            nodelay = requests.Session()
            nodelay.headers["Authorization"] = f"Bearer {runtime.admin_secret}"
            for _ in range(10):
                nodelay.get(url, timeout=30).raise_for_status()
            samples = []
            for _ in range(args.whatif_requests):
                t0 = time.perf_counter()
                nodelay.get(url, timeout=30).raise_for_status()
                samples.append((time.perf_counter() - t0) * 1000)
            whatif = summary(samples)
            handler_class.disable_nagle_algorithm = False  # type: ignore[attr-defined]

        # concurrency: first bring up N workers (Lambda scales out when all are busy) with bursts of N
        # simultaneous requests, then a separate load-generator process with N client threads
        pool_stats = runtime.pool.stats[logical_id]
        cold_before = pool_stats["cold_starts"]

        def burst() -> None:
            threads = [
                threading.Thread(target=lambda: requests.get(url, headers=session.headers, timeout=60))
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        for _ in range(4):
            burst()
        load_http = run_load(
            {
                "kind": "http",
                "url": url,
                "token": runtime.admin_secret,
                "clients": args.clients,
                "warmup": 1.0,
                "seconds": args.seconds,
            },
            worker_cpu(runtime, logical_id),
        )
        workers_started = pool_stats["cold_starts"] - cold_before
        load_ddb = run_load(
            {
                "kind": "ddb",
                "endpoint": runtime.moto.url,
                "table": table_name,
                "key": key,
                "clients": args.clients,
                "warmup": 1.0,
                "seconds": args.seconds,
            }
        )
        single_rps = 1000 / stats["http"]["mean"]
    finally:
        runtime.stop()
        shutil.rmtree(state, ignore_errors=True)

    # ------------------------------------------------------------------ report
    h, d, hd = stats["http"], stats["direct"], stats["handler"]
    ddb_calls = sum(v for k, v in per_get.items() if k.startswith("dynamodb:"))
    print(
        f"request overhead: GET {path} ({logical_id}), {args.requests} sequential requests of each kind, "
        f"interleaved; runtime started in {startup_s:.1f}s"
    )
    print()
    print("Latency per request, ms (client side, sequential, keep-alive)")
    print(
        table(
            ["", "n", "mean", "p50", "p90", "p99", "min", "max"],
            [
                [f"http GET{' (TCP_NODELAY what-if)' if args.nodelay else ''}", *fmt(h)],
                ["handler called in-process", *fmt(hd)],
                ["direct boto3 get_item", *fmt(d)],
                *([["what-if: http GET, front with TCP_NODELAY", *fmt(whatif)]] if whatif else []),
            ],
        )
    )
    print()
    print(
        f"http / direct: p50 {h['p50'] / d['p50']:.1f}x, mean {h['mean'] / d['mean']:.1f}x, p99 "
        f"{h['p99'] / d['p99']:.1f}x; overhead per request {h['p50'] - d['p50']:.2f} ms at p50 "
        f"({h['mean'] - d['mean']:.2f} ms mean); beyond its {ddb_calls:g} DynamoDB calls "
        f"({ddb_calls:g} x direct p50): {h['p50'] - ddb_calls * d['p50']:.2f} ms"
    )
    print(
        f"cold first GET (starts a worker): {cold_ms:.0f} ms; first in-process handler call: {cold_inprocess_ms:.0f} ms"
    )
    print()
    print(
        f"Calls to moto per GET (window of {window} sequential GETs): "
        + ", ".join(f"{k} {v:g}" for k, v in per_get.items())
    )
    print()
    calls_ms = ddb_calls * d["mean"]
    breakdown = [
        ["HTTP between client and front (total - time inside front)", h["mean"] - stats["front"]["mean"]],
        ["front: routing, event build (front - invoke)", stats["front"]["mean"] - stats["invoke"]["mean"]],
        ["worker pipe + JSON (invoke - in-process handler)", stats["invoke"]["mean"] - hd["mean"]],
        ["handler's own work: powertools, auth, pydantic (handler - DDB calls)", hd["mean"] - calls_ms],
        [f"{ddb_calls:g} DynamoDB calls (~{ddb_calls:g} x direct get_item)", calls_ms],
    ]
    print("Where the time of one http GET goes (means, ms; derived by subtraction, so approximate)")
    print(table(["part", "ms", "share"], [[p, f"{ms:.2f}", f"{ms / h['mean']:.0%}"] for p, ms in breakdown]))
    print(
        f"(direct get_item: {d['mean']:.2f} ms of which {stats['moto_direct']['mean']:.2f} ms inside moto, "
        f"{d['mean'] - stats['moto_direct']['mean']:.2f} ms boto3 client + HTTP; during an http GET moto spends "
        f"{stats['moto_http']['mean']:.2f} ms on its {ddb_calls:g} calls)"
    )
    print()
    print(
        f"Concurrency: {args.clients} clients for {args.seconds:g}s, {pool_stats['cold_starts']:g} workers up "
        "(separate load-generator process; same 2-core machine as the runtime)"
    )
    print(
        table(
            ["", "req/s", "p50 ms", "p99 ms", "errors"],
            [
                [
                    "http GET",
                    f"{load_http['throughput_rps']:.0f}",
                    f"{load_http['latency_ms']['p50']:.1f}",
                    f"{load_http['latency_ms']['p99']:.1f}",
                    str(load_http["errors"]),
                ],
                [
                    "direct get_item",
                    f"{load_ddb['throughput_rps']:.0f}",
                    f"{load_ddb['latency_ms']['p50']:.1f}",
                    f"{load_ddb['latency_ms']['p99']:.1f}",
                    str(load_ddb["errors"]),
                ],
            ],
        )
    )
    print(f"(one sequential client: {single_rps:.0f} req/s; scaling x{load_http['throughput_rps'] / single_rps:.1f})")
    for label, load in (("http GET", load_http), ("direct get_item", load_ddb)):
        cpu = load["cpu_ms_per_request"]
        total_cpu = sum(cpu.values())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if v)
        print(
            f"CPU per {label}: {total_cpu:.1f} ms ({parts}) -> at most ~{(os.cpu_count() or 1) * 1000 / total_cpu:.0f} "
            f"req/s on {os.cpu_count()} cores"
        )

    results = {
        "method": __doc__.split("\n\n")[1],
        "settings": {
            "requests": args.requests,
            "warmup": args.warmup,
            "clients": args.clients,
            "seconds": args.seconds,
        },
        "route": route.route_key,
        "function": logical_id,
        "latency_ms": stats,
        "whatif_tcp_nodelay_latency_ms": whatif,
        "tcp_nodelay_for_whole_run": args.nodelay,
        "ratio_http_direct": {"p50": h["p50"] / d["p50"], "mean": h["mean"] / d["mean"], "p99": h["p99"] / d["p99"]},
        "overhead_ms": {"p50": h["p50"] - d["p50"], "mean": h["mean"] - d["mean"]},
        "calls_per_get": per_get,
        "dynamodb_calls_per_get": ddb_calls,
        "breakdown_mean_ms": {p: ms for p, ms in breakdown},
        "cold_first_get_ms": cold_ms,
        "cold_first_inprocess_ms": cold_inprocess_ms,
        "concurrency": {
            "clients": args.clients,
            "http": load_http,
            "direct": load_ddb,
            "workers_started": workers_started,
        },
        "single_client_rps": single_rps,
        "runtime_startup_s": startup_s,
        "elapsed_s": time.perf_counter() - started,
    }
    out = write_results("request_overhead", results)
    print()
    print(f"figures written to {out.relative_to(ROOT)} ({results['elapsed_s']:.0f}s)")
    print(
        f"SUMMARY request_overhead: GET /api/prompts/{{id}} p50 {h['p50']:.2f} ms / p99 {h['p99']:.2f} ms vs direct "
        f"get_item p50 {d['p50']:.2f} ms / p99 {d['p99']:.2f} ms = {h['p50'] / d['p50']:.1f}x, "
        f"+{h['p50'] - d['p50']:.2f} ms per request; {ddb_calls:g} DynamoDB calls per GET; "
        f"{args.clients} clients: {load_http['throughput_rps']:.0f} req/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
