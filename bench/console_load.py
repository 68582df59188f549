"""Web console: first-screen load time and bytes transferred, in headless Chromium against the local runtime.

Seeds one prompt with 1,000 runs (EvalGuard runs tied to the prompt, each with a final status and score) and one
run with 10,000 results, then opens in a fresh browser context (nothing cached, key already in sessionStorage):
  * the Overview (the project's prompts with their latest run and a trend),
  * the prompt's Runs screen (50 of its 1,000 runs a page),
  * the Run screen of the 10,000-case run (100 cases a page, statistics from the O(1) aggregates),
and again in the same context (a reload: the files revalidate with 304s). Time is from navigation to the
screen's content being visible; bytes are response headers + bodies as the browser received them (gzip).
Goal (issue 12): first screen under 1 s locally for a project with 1,000 runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench._common import ROOT, start_runtime, table, write_results

CHROMIUM = "/usr/bin/chromium"
GOAL_S = 1.0


def seed(base: str, key: str, runs: int, cases: int) -> dict[str, Any]:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    prompt = s.post(f"{base}/api/prompts", json={"name": "bench-console", "template": "Hi {{x}}"}).json()
    pid = prompt["id"]

    def one(i: int) -> str:
        with requests.Session() as t:
            t.headers["Authorization"] = f"Bearer {key}"
            r = t.post(f"{base}/api/v1/evals", json={"name": f"run-{i}", "promptId": pid, "promptVersion": 1}).json()
            status = "passed" if i % 4 else "failed"
            t.patch(f"{base}/api/v1/evals/{r['id']}", json={"status": status, "summary": {"score": 50 + i % 50}})
            return str(r["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        run_ids = list(pool.map(one, range(runs)))
    big = s.post(f"{base}/api/v1/evals", json={"name": "ten-thousand", "model": "bench"}).json()
    for start in range(0, cases, 250):  # results are claimed by id, so a batch that timed out is sent again
        batch = [
            {
                "id": f"case-{i:05d}",
                "input": {"q": f"question {i}"},
                "expectedOutput": f"answer {i}",
                "actualOutput": f"answer {i}" if i % 5 else f"something else {i}",
                "score": 1.0 if i % 5 else 0.0,
                "passed": bool(i % 5),
                "latency": 10 + i % 90,
            }
            for i in range(start, min(cases, start + 250))
        ]
        for _ in range(4):
            reply = s.post(f"{base}/api/v1/evals/{big['id']}/results", json={"results": batch})
            if reply.status_code < 300:
                break
        assert reply.status_code < 300, reply.text
    s.patch(f"{base}/api/v1/evals/{big['id']}", json={"status": "passed"})
    return {"promptId": pid, "runIds": run_ids, "bigRun": str(big["id"])}


def measure(
    browser: Any, base: str, key: str, fragment: str, ready: str, reps: int, path: str = "/console/"
) -> dict[str, Any]:
    """Median first-load and reload time and bytes of one screen; `profile`: the API calls of the last first load
    (path, ms from request start to response end, bytes) and how many of them came before the content showed."""
    cold_t, warm_t, cold_b, warm_b = [], [], [], []
    profiles: list[dict[str, Any]] = []
    for _ in range(reps):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_init_script(f"sessionStorage.setItem('evalgate.apiKey', {key!r})")
        page = context.new_page()
        for times, sizes in ((cold_t, cold_b), (warm_t, warm_b)):
            received: list[int] = []
            calls: list[tuple[str, float, int]] = []

            def count(request: Any, received: list[int] = received, calls: list = calls) -> None:
                s = request.sizes()
                size = s["responseBodySize"] + s["responseHeadersSize"]
                received.append(size)
                if "/api/" in request.url:
                    t = request.timing
                    calls.append((request.url.split(base, 1)[-1], t["responseEnd"] - t["requestStart"], size))

            page.on("requestfinished", count)
            started = time.perf_counter()
            page.goto(f"{base}{path}#{fragment}")
            page.locator(ready).first.wait_for(timeout=60_000)
            times.append(time.perf_counter() - started)
            before_ready = len(calls)
            page.wait_for_load_state("networkidle")
            page.remove_listener("requestfinished", count)
            sizes.append(sum(received))
            profiles.append({"before_ready": before_ready, "calls": calls})
            page.goto("about:blank")
        context.close()
    return {
        "cold_s": statistics.median(cold_t),
        "warm_s": statistics.median(warm_t),
        "cold_bytes": int(statistics.median(cold_b)),
        "warm_bytes": int(statistics.median(warm_b)),
        "cold_all_s": cold_t,
        "warm_all_s": warm_t,
        "profile": profiles[-2] if len(profiles) >= 2 else profiles[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--path", default="/console/", help="the console's address (the fragment is added)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("bench.console_load needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    runtime = start_runtime()
    try:
        base, key = runtime.base_url, runtime.admin_secret
        assert key is not None
        started = time.perf_counter()
        seeded = seed(base, key, args.runs, args.cases)
        print(f"seeded {args.runs} runs and a {args.cases}-case run in {time.perf_counter() - started:.1f} s")
        pid, big = seeded["promptId"], seeded["bigRun"]
        screens = [
            (f"Overview ({args.runs} runs)", "/", "table[aria-label=prompts] td a[href*='/runs/']"),
            (f"Runs ({args.runs} runs, 50 a page)", f"/prompts/{pid}/runs", "table[aria-label=runs] tbody tr"),
            (f"Run ({args.cases} cases, 100 a page)", f"/evals/{big}", "table[aria-label='case results'] tbody tr"),
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # one throw-away visit per screen so every function is warm (cold starts are bench.cold_start's topic)
            measure(browser, base, key, "/", screens[0][2], 1, args.path)
            for _, fragment, ready in screens[1:]:
                measure(browser, base, key, fragment, ready, 1, args.path)
            results = {
                name: measure(browser, base, key, fragment, ready, args.reps, args.path)
                for name, fragment, ready in screens
            }
            browser.close()
    finally:
        runtime.stop()
    rows = [
        [
            name,
            f"{r['cold_s']:.2f}",
            f"{r['cold_bytes'] / 1024:.1f}",
            f"{r['warm_s']:.2f}",
            f"{r['warm_bytes'] / 1024:.1f}",
        ]
        for name, r in results.items()
    ]
    print(f"\nmedian of {args.reps}; first load = fresh browser context, reload = same context (304s)")
    print(table(["screen", "first load s", "first KiB", "reload s", "reload KiB"], rows))
    for name, r in results.items():
        prof = r["profile"]
        print(f"\n{name}: API calls of a first load ({prof['before_ready']} before the content showed)")
        print(table(["call", "ms", "bytes"], [[c[0][:90], f"{c[1]:.0f}", c[2]] for c in prof["calls"]]))
    first = results[screens[0][0]]["cold_s"]
    print(f"\nfirst screen (Overview) {first:.2f} s, goal < {GOAL_S:.0f} s: {'yes' if first < GOAL_S else 'NO'}")
    big_run = results[screens[2][0]]
    print(
        f"SUMMARY console_load overview_s={first:.2f} overview_kib={results[screens[0][0]]['cold_bytes'] / 1024:.1f} "
        f"run10k_s={big_run['cold_s']:.2f} run10k_kib={big_run['cold_bytes'] / 1024:.1f}"
    )
    path = write_results("console_load", {"args": vars(args), "results": results, "goal_s": GOAL_S})
    print(f"results in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
