"""`python -m local` (make run): start the local runtime and serve until Ctrl-C."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
from pathlib import Path

from local.runtime import ROOT, LocalRuntime, port_from_env

STOP_SECONDS = 8.0


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

    ephemeral = os.environ.get("EVALGATE_EPHEMERAL", "").strip().lower() in ("1", "true", "yes")
    runtime = LocalRuntime(
        port=args.port,
        host=args.host,
        admin_key=os.environ.get("EVALGATE_ADMIN_KEY") or None,
        tick_seconds=args.tick,
        data_dir=Path(os.environ.get("EVALGATE_STATE_DIR") or ROOT / ".local" / "state").resolve(),
        ephemeral=ephemeral,
    )
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if stop.is_set():  # a second Ctrl-C: leave now (everything acknowledged is already on disk)
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
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
        print(_restored_text(runtime), end="")
        print(
            "\nevalgate local runtime is up\n"
            f"  base URL     {runtime.base_url}\n"
            f"  project      {runtime.project_id}\n"
            f"  admin key    {runtime.admin_secret}\n"
            f"  routes       {len(runtime.app.routes)} from template.yaml; docs at {runtime.base_url}/docs\n"
            f"  console      {runtime.base_url}/console/  (sign in with the admin key)\n"
            f"  logs         {runtime.state_dir / 'logs'}\n"
            '  try:  curl -H "Authorization: Bearer $KEY" ' + runtime.base_url + "/api/prompts\n"
            "Ctrl-C stops it.",
            flush=True,
        )
    stop.wait()
    print("stopping…", flush=True)
    # whatever stop() waits for, the process ends within STOP_SECONDS: every acknowledged write is already
    # journaled and fsynced, so nothing is lost by not waiting longer
    watchdog = threading.Timer(STOP_SECONDS, lambda: os._exit(0))
    watchdog.daemon = True
    watchdog.start()
    runtime.stop()
    state_file.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # skip the interpreter's teardown: collecting a large heap object by object took minutes (issue 9.12)
    os._exit(0)


def _restored_text(runtime: LocalRuntime) -> str:
    if runtime.ephemeral:
        return "state: in memory only (EVALGATE_EPHEMERAL=1): nothing is kept after it stops\n"
    lines = [f"state: {runtime.store_dir}"]
    if runtime.restored:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(runtime.restored.items()))
        lines.append(f"  restored {counts}")
    else:
        lines.append("  nothing to restore (a fresh state directory)")
    if runtime.interrupted:
        lines.append(f"  {len(runtime.interrupted)} suite run(s) in flight ended as failed: interrupted by a restart")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
