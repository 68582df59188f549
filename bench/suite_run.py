"""Benchmark: a 200-case suite run on the local runtime against a stub OpenAI-compatible server.

Prints, measured side by side in one run:
  * wall time of the run vs the ideal ceil(cases / MaxConcurrency) x model latency (goal <= 1.5x);
  * per-case overhead without the model (the same suite on the 0-latency echo provider);
  * the identical run again: model calls made (goal: 0, all from the response cache) and its duration over
    the first run's (goal <= 0.3);
  * both again after --stored-results results and --stored-traces traces of another project are stored
    (full store / empty store, goal <= 1.2): speed as data accumulates;
  * AWS operations per case (Lambda invocations and GB-s, DynamoDB reads and writes, Step Functions
    state transitions) and their cost per 1,000 cases at AWS list prices, model tokens excluded
    (goal <= $0.005).

Run: .venv/bin/python -m bench.suite_run [--cases 200] [--concurrency 10] [--latency-ms 50]
     [--stored-results 100000] [--stored-traces 10000]

The runtime is started as `make run` starts it (durable, default worker caps).
Before measuring, an echo run and a stub-model run of prompts of their own warm the task functions and the
model path (provider modules, HTTP pools) in every worker: the figures are a warm service's.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bench._common import ROOT, admin_session, start_runtime, table, write_results

# us-east-1 list prices (arm64 Lambda; DynamoDB on-demand; Step Functions standard), USD
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000133334,
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
    "sfn_transition": 0.025 / 1e3,
}


STUB = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
latency = float(sys.argv[1]) / 1000
calls = 0
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        return

    def _send(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send({"calls": calls})

    def do_POST(self):
        global calls
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with lock:
            calls += 1
        time.sleep(latency)
        prompt = body.get("messages", [{}])[-1].get("content", "")
        self._send({"id": "chatcmpl-bench", "object": "chat.completion", "model": body.get("model", "m"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "Hello! You said: " + prompt[-40:]}}],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32}})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class StubOpenAI:
    """A /v1/chat/completions server in its own process (as a real model server would be), answering
    after a fixed delay and counting the calls (GET / returns the count)."""

    def __init__(self, latency_ms: float) -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-c", STUB, str(latency_ms)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def calls(self) -> int:
        return int(requests.get(f"http://127.0.0.1:{self.port}/", timeout=10).json()["calls"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def snapshot(runtime: Any) -> dict[str, Any]:
    assert runtime.pool is not None
    lambda_stats = {k: dict(v) for k, v in runtime.pool.stats.items()}
    return {"ops": dict(runtime.moto.operations), "wru": runtime.moto.write_units, "lambda": lambda_stats}


def delta(before: dict[str, Any], after: dict[str, Any], runtime: Any) -> dict[str, float]:
    ops = {k: after["ops"].get(k, 0) - before["ops"].get(k, 0) for k in after["ops"]}
    reads = sum(v for k, v in ops.items() if k.endswith((".GetItem", ".Query", ".BatchGetItem")))
    invocations = 0.0
    gb_s = 0.0
    for fid, stats in after["lambda"].items():
        n = stats["invocations"] - before["lambda"].get(fid, {}).get("invocations", 0)
        ms = stats["ms"] - before["lambda"].get(fid, {}).get("ms", 0.0)
        memory = runtime.pool.specs[fid].memory
        invocations += n
        gb_s += (math.ceil(ms) / 1000) * (memory / 1024)
    return {
        "lambda_invocations": invocations,
        "lambda_gb_s": gb_s,
        "ddb_reads": reads,
        "ddb_write_units": after["wru"] - before["wru"],
        "sfn_requests": sum(v for k, v in ops.items() if k.startswith("AWSStepFunctions.")),
    }


def transitions(runtime: Any, execution_arn: str) -> int:
    sfn = runtime.client("stepfunctions")
    count, token = 0, None
    while True:
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        count += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
        token = page.get("nextToken")
        if not token:
            return count


def seed_store(runtime: Any, s: requests.Session, n_results: int, n_traces: int) -> float:
    """Results (the items the store writes, by raw BatchWriteItem) and traces (through the API) of another
    project: the data a durable runtime accumulates."""
    from bench.ingest_stats import make_results, raw_items

    started = time.perf_counter()
    ddb = runtime.client("dynamodb")
    table_name = runtime.names.refs["Table"]
    for start in range(0, n_results, 5_000):
        items = raw_items(table_name, "prj_bench_other", make_results(min(5_000, n_results - start), f"s{start}"))
        for i in range(0, len(items), 25):
            ddb.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]})
    # traces through the API with a key of their own (each key has its own rate window)
    project_id = runtime.project_id
    key = s.post(f"{runtime.base_url}/api/v1/projects/{project_id}/api-keys", json={"name": "seed", "role": "member"})
    seeder = requests.Session()
    seeder.headers["Authorization"] = f"Bearer {key.json()['key']}"
    for start in range(0, n_traces, 100):
        traces: list[dict[str, Any]] = [
            {"id": f"seed-{i}", "model": "seed", "input": {"q": str(i)}, "output": "ok", "environment": "production"}
            for i in range(start, min(n_traces, start + 100))
        ]
        for _ in range(120):
            reply = seeder.post(f"{runtime.base_url}/api/v1/traces", json={"traces": traces})
            if reply.status_code != 429:
                break
            time.sleep(1.0)
        reply.raise_for_status()
    return time.perf_counter() - started


def promptfoo_wall(base_url: str, cases: list[dict[str, Any]], concurrency: int) -> dict[str, float] | None:
    """`promptfoo eval -j <concurrency>` of the same cases and assertions against the same stub: its wall time,
    and the time `promptfoo --version` takes (Node's start and promptfoo's import, paid by every eval). Needs
    promptfoo 0.123.1 and a Node it accepts, as tools/promptfoo/parity_eval.py (PROMPTFOO_NODE, PROMPTFOO_ENTRY);
    None when they are not installed."""
    import json
    import subprocess

    node = os.environ.get("PROMPTFOO_NODE", "/tmp/pf13/node22/node_modules/node/bin/node")
    entry = os.environ.get("PROMPTFOO_ENTRY", "/tmp/pf13/node_modules/promptfoo/dist/src/entrypoint.js")
    if not (Path(node).exists() and Path(entry).exists()):
        return None
    work = Path(tempfile.mkdtemp(prefix="evalgate-bench-promptfoo-"))
    config = {
        "prompts": ["Answer briefly: {{q}}"],
        "providers": [
            {
                "id": "openai:chat:gpt-4o-mini",
                "config": {"apiBaseUrl": base_url, "apiKey": "sk-bench-not-a-real-key"},
            }
        ],
        "defaultTest": {
            "assert": [{"type": "contains", "value": "Hello"}, {"type": "not-icontains", "value": "error"}]
        },
        "tests": [{"vars": dict(c["variables"]), "description": c["name"]} for c in cases],
    }
    (work / "promptfooconfig.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CONFIG_DIR": str(work / "home"),
        "PATH": f"{Path(node).parent}:{os.environ.get('PATH', '')}",
    }

    def timed_run(*argv: str) -> float:
        started = time.perf_counter()
        subprocess.run([node, entry, *argv], cwd=work, env=env, capture_output=True, timeout=600, check=False)
        return time.perf_counter() - started

    timed_run("--version")  # warm the file cache, as the runtime's warm-up does
    startup = timed_run("--version")
    args = ["eval", "-c", "promptfooconfig.json", "-j", str(concurrency), "--no-cache", "--no-table"]
    wall = timed_run(*args, "-o", str(work / "out.json"))
    try:
        stats = json.loads((work / "out.json").read_text())["results"]["stats"]
        passed = float(stats.get("successes", 0))
    except (OSError, ValueError, KeyError):
        passed = -1.0
    return {"wall_s": wall, "startup_s": startup, "passed": passed}


def run_suite(base: str, s: requests.Session, pid: int, suite_id: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    run = s.post(f"{base}/api/prompts/{pid}/eval/run", json={"suiteId": suite_id, "versionNo": 1}).json()
    assert "id" in run, run
    while True:
        status = s.get(f"{base}/api/prompts/{pid}/eval/runs/{run['id']}/status").json()
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    return status, time.perf_counter() - started


def run_duration(base: str, s: requests.Session, pid: int, run_id: int) -> float:
    """The run's own duration, from its creation to its completion (server clock, no polling delay)."""
    from datetime import datetime

    run = s.get(f"{base}/api/prompts/{pid}/eval/runs/{run_id}?limit=1").json()
    return (datetime.fromisoformat(run["finishedAt"]) - datetime.fromisoformat(run["createdAt"])).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--stored-results", type=int, default=100_000, help="stored before the second measurement")
    parser.add_argument("--stored-traces", type=int, default=10_000)
    args = parser.parse_args(argv)

    stub = StubOpenAI(args.latency_ms)
    os.environ["OPENAI_BASE_URL"] = stub.base_url
    os.environ["OPENAI_API_KEY"] = "sk-bench-not-a-real-key"
    # the runtime as `make run` starts it: durable (a fresh state directory), default worker caps
    runtime = start_runtime()
    try:
        base = runtime.base_url
        s = admin_session(runtime)
        # the client polls a run's status every 50 ms: past the per-key rate limit, wait as told (429)
        retry = Retry(total=60, status_forcelist=[429], allowed_methods=None, respect_retry_after_header=True)
        s.mount("http://", HTTPAdapter(max_retries=retry))
        cases = [{"name": f"case-{i:04d}", "variables": {"q": f"question {i}"}} for i in range(args.cases)]

        def make(provider: str, tag: str = "") -> tuple[int, int]:
            prompt = s.post(
                f"{base}/api/prompts",
                json={
                    "name": f"bench-{provider}{tag}",
                    "template": f"Answer briefly{tag}: {{{{q}}}}",
                    "modelConfig": {"provider": provider, "model": "gpt-4o-mini"},
                },
            ).json()
            pid = prompt["id"]
            ds = s.post(f"{base}/api/prompts/{pid}/eval/datasets", json={"name": "d", "cases": cases[:1000]}).json()
            suite = s.post(
                f"{base}/api/prompts/{pid}/eval/suites",
                json={
                    "name": "bench",
                    "config": {"maxConcurrency": args.concurrency},
                    "tests": [
                        {
                            "name": "t",
                            "datasetId": ds["id"],
                            "assertions": [
                                {"type": "contains", "value": "Hello"},
                                {"type": "not-icontains", "value": "error"},
                            ],
                        }
                    ],
                },
            ).json()
            return pid, suite["id"]

        echo_pid, echo_suite = make("echo")
        model_pid, model_suite = make("openai")
        run_suite(base, s, echo_pid, echo_suite)  # warm-up: cold starts of every task function
        # and the model path's first use in each worker (provider modules, HTTP pools), on a prompt of its own
        # (another template: nothing it caches serves the measured runs)
        run_suite(base, s, *make("openai", "-warm-up"))
        # 1. the echo provider: what a case costs without the model
        echo_status, _ = run_suite(base, s, echo_pid, echo_suite)
        echo_wall = run_duration(base, s, echo_pid, echo_status["id"])
        # 2. the stub model, measured with AWS operation counts
        before = snapshot(runtime)
        calls_before = stub.calls
        status, observed = run_suite(base, s, model_pid, model_suite)
        after = snapshot(runtime)
        wall = run_duration(base, s, model_pid, status["id"])
        first_calls = stub.calls - calls_before
        run_item = runtime.client("dynamodb")
        del run_item
        execution_arn = _execution_of(runtime, status["id"])
        per_function = {
            fid: {
                "n": v["invocations"] - before["lambda"].get(fid, {}).get("invocations", 0),
                "ms": v["ms"] - before["lambda"].get(fid, {}).get("ms", 0.0),
            }
            for fid, v in after["lambda"].items()
        }
        ops = delta(before, after, runtime)
        ops["sfn_transitions"] = transitions(runtime, execution_arn)
        # 3. the identical run again
        calls_before = stub.calls
        status2, wall2 = run_suite(base, s, model_pid, model_suite)
        cached_calls = stub.calls - calls_before
        # 4. the same measurements after data accumulated: results and traces of another project stored
        seed_s = seed_store(runtime, s, args.stored_results, args.stored_traces)
        full_pid, full_suite = make("openai", "-full")
        full_status, full_observed = run_suite(base, s, full_pid, full_suite)
        full_wall = run_duration(base, s, full_pid, full_status["id"])
        _, full_wall2 = run_suite(base, s, full_pid, full_suite)
        # 5. promptfoo on the same stub, the same cases and assertions, -j = the suite's concurrency
        promptfoo = promptfoo_wall(stub.base_url, cases, args.concurrency)
    finally:
        runtime.stop()
        stub.stop()

    n = args.cases
    ideal = math.ceil(n / args.concurrency) * args.latency_ms / 1000
    per_case = {k: v / n for k, v in ops.items()}
    cost_1000 = {
        "lambda requests": per_case["lambda_invocations"] * 1000 * PRICE["lambda_request"],
        "lambda GB-s": per_case["lambda_gb_s"] * 1000 * PRICE["lambda_gb_s"],
        "dynamodb writes": per_case["ddb_write_units"] * 1000 * PRICE["ddb_write_unit"],
        "dynamodb reads": per_case["ddb_reads"] * 1000 * PRICE["ddb_read_unit"],
        "step functions": per_case["sfn_transitions"] * 1000 * PRICE["sfn_transition"],
    }
    total_cost = sum(cost_1000.values())
    print(f"\nSuite run: {n} cases, MaxConcurrency {args.concurrency}, stub model {args.latency_ms:.0f} ms\n")
    print(
        table(
            ["measure", "value"],
            [
                ["run status", f"{status['status']} ({status['summary']})"],
                ["run duration (created -> completed), stub model", f"{wall:.2f} s"],
                ["observed by a client polling every 50 ms", f"{observed:.2f} s"],
                ["ideal ceil(n/c) x latency", f"{ideal:.2f} s"],
                ["ratio (goal <= 1.5)", f"{wall / ideal:.2f}x"],
                ["run duration, echo provider (no model time)", f"{echo_wall:.2f} s"],
                ["per-case overhead without the model", f"{echo_wall / n * 1000:.1f} ms"],
                ["model calls, first run", f"{first_calls}"],
                ["model calls, identical re-run (goal 0)", f"{cached_calls} ({status2['status']}, {wall2:.2f} s)"],
                ["identical re-run / first run, as a client sees them (goal <= 0.3)", f"{wall2 / observed:.2f}x"],
            ],
        )
    )
    print(
        f"\nAfter storing {args.stored_results:,} results and {args.stored_traces:,} traces "
        f"(seeded in {seed_s:.0f} s), the same kind of run:\n"
    )
    print(
        table(
            ["measure", "empty store", "full store", "full / empty (goal <= 1.2)"],
            [
                ["run duration, stub model", f"{wall:.2f} s", f"{full_wall:.2f} s", f"{full_wall / wall:.2f}x"],
                ["ratio to ideal", f"{wall / ideal:.2f}x", f"{full_wall / ideal:.2f}x", ""],
                ["identical re-run", f"{wall2:.2f} s", f"{full_wall2:.2f} s", f"{full_wall2 / wall2:.2f}x"],
                ["re-run / first run", f"{wall2 / observed:.2f}x", f"{full_wall2 / full_observed:.2f}x", ""],
            ],
        )
    )
    print("\nFunctions during the measured run\n")
    print(
        table(
            ["function", "invocations", "mean ms"],
            [[fid, f"{v['n']:.0f}", f"{v['ms'] / v['n']:.0f}"] for fid, v in sorted(per_function.items()) if v["n"]],
        )
    )
    print("\nAWS operations per case (measured on this run)\n")
    print(
        table(
            ["operation", "per case", "per 1,000 cases (USD)"],
            [
                ["Lambda invocations", f"{per_case['lambda_invocations']:.3f}", f"{cost_1000['lambda requests']:.6f}"],
                ["Lambda GB-s", f"{per_case['lambda_gb_s']:.4f}", f"{cost_1000['lambda GB-s']:.6f}"],
                ["DynamoDB write units", f"{per_case['ddb_write_units']:.3f}", f"{cost_1000['dynamodb writes']:.6f}"],
                ["DynamoDB reads (ops)", f"{per_case['ddb_reads']:.3f}", f"{cost_1000['dynamodb reads']:.6f}"],
                [
                    "Step Functions transitions",
                    f"{per_case['sfn_transitions']:.3f}",
                    f"{cost_1000['step functions']:.6f}",
                ],
                ["total", "", f"{total_cost:.6f}"],
            ],
        )
    )
    print("\nLambda GB-s are local worker durations x the template's memory: an upper bound of Lambda's,")
    print("since the local moto calls are slower than DynamoDB's. Reads count operations (1 unit each).")
    results = {
        "cases": n,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal,
        "echo_wall_s": echo_wall,
        "first_run_model_calls": first_calls,
        "rerun_model_calls": cached_calls,
        "rerun_s": wall2,
        "rerun_over_first": wall2 / observed,
        "full_store": {
            "stored_results": args.stored_results,
            "stored_traces": args.stored_traces,
            "wall_s": full_wall,
            "over_empty": full_wall / wall,
            "rerun_s": full_wall2,
        },
        "per_case": per_case,
        "cost_per_1000_usd": cost_1000,
        "total_cost_per_1000_usd": total_cost,
    }
    if promptfoo is None:
        print("\npromptfoo: not measured (install promptfoo 0.123.1 and Node 22: see tools/promptfoo/parity_eval.py)")
        versus = "promptfoo not measured"
    else:
        pf_eval = promptfoo["wall_s"] - promptfoo["startup_s"]
        print(
            table(
                ["on the same stub, same cases (side by side)", "wall s", "x ideal"],
                [
                    ["evalgate, run created -> completed", f"{wall:.2f}", f"{wall / ideal:.2f}x"],
                    ["evalgate, observed by its client", f"{observed:.2f}", f"{observed / ideal:.2f}x"],
                    [
                        f"promptfoo eval -j {args.concurrency}, whole command",
                        f"{promptfoo['wall_s']:.2f}",
                        f"{promptfoo['wall_s'] / ideal:.2f}x",
                    ],
                    ["promptfoo, less its start (--version)", f"{pf_eval:.2f}", f"{pf_eval / ideal:.2f}x"],
                ],
            )
        )
        print(f"promptfoo passed {promptfoo['passed']:.0f} of {n}")
        versus = f"promptfoo {pf_eval / ideal:.2f}x ideal ({promptfoo['wall_s'] / ideal:.2f}x with its start)"
        results["promptfoo"] = promptfoo
    path = write_results("suite_run", results)
    print(
        f"\nSUMMARY ratio {wall / ideal:.2f}x (goal <= 1.5) | re-run model calls {cached_calls} (goal 0) | "
        f"re-run/first {wall2 / observed:.2f}x (goal <= 0.3) | "
        f"full/empty store {full_wall / wall:.2f}x (goal <= 1.2) | "
        f"${total_cost:.4f} per 1,000 cases (goal <= $0.005) | {versus} | {path.relative_to(ROOT)}"
    )
    return 0


def _execution_of(runtime: Any, run_id: int) -> str:
    sys.path.insert(0, str(ROOT / "layers" / "evalgate"))
    from evalgate import keys

    table_name = runtime.names.refs["Table"]
    item = runtime.client("dynamodb").get_item(
        TableName=table_name, Key={k: {"S": v} for k, v in keys.run(runtime.project_id, run_id).items()}
    )["Item"]
    return str(item["executionArn"]["S"])


if __name__ == "__main__":
    sys.exit(main())
