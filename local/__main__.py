"""`python -m local` (make run): start the local runtime and serve until Ctrl-C."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading

from local.runtime import LocalRuntime, port_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--port", type=int, default=port_from_env(), help="HTTP port (EVALGATE_PORT); 0 picks one")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--tick",
        type=float,
        default=float(os.environ.get("EVALGATE_TICK_SECONDS", "1")),
        help="how often the schedule ticker looks for due schedules, in seconds",
    )
    parser.add_argument("--ready-json", action="store_true", help="print one JSON line when ready (for tests)")
    args = parser.parse_args(argv)

    runtime = LocalRuntime(
        port=args.port, host=args.host, admin_key=os.environ.get("EVALGATE_ADMIN_KEY") or None, tick_seconds=args.tick
    )
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime.start()
    except OSError as exc:
        print(f"evalgate: cannot start the local runtime: {exc}", file=sys.stderr)
        runtime.stop()
        return 1
    info = {
        "baseUrl": runtime.base_url,
        "adminKey": runtime.admin_secret,
        "projectId": runtime.project_id,
        "motoUrl": runtime.moto.url,
    }
    runtime.state_dir.mkdir(parents=True, exist_ok=True)
    state_file = runtime.state_dir / "runtime.json"  # for `make demo` and scripts; git-ignored, local only
    state_file.write_text(json.dumps(info), encoding="utf-8")
    state_file.chmod(0o600)
    if args.ready_json:
        print(
            json.dumps(
                {
                    "baseUrl": runtime.base_url,
                    "adminKey": runtime.admin_secret,
                    "projectId": runtime.project_id,
                    "motoUrl": runtime.moto.url,
                }
            ),
            flush=True,
        )
    else:
        print(
            "\nevalgate local runtime is up\n"
            f"  base URL     {runtime.base_url}\n"
            f"  project      {runtime.project_id}\n"
            f"  admin key    {runtime.admin_secret}\n"
            f"  routes       {len(runtime.app.routes)} from template.yaml; docs at {runtime.base_url}/docs\n"
            f"  console      {runtime.base_url}/console  (sign in with the admin key)\n"
            f"  logs         {runtime.state_dir / 'logs'}\n"
            '  try:  curl -H "Authorization: Bearer $KEY" ' + runtime.base_url + "/api/prompts\n"
            "Ctrl-C stops it.",
            flush=True,
        )
    stop.wait()
    print("stopping…", flush=True)
    runtime.stop()
    state_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
