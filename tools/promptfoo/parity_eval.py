"""Run one promptfoo config through the real promptfoo CLI and through `evalgate eval -c`, and print how many
verdicts (per test x prompt x provider) agree.

    python tools/promptfoo/parity_eval.py [CONFIG [GRADER]]   # default: tests/e2e/data/promptfoo/promptfooconfig.yaml

GRADER (e.g. `exec:echo 1`) replaces `defaultTest.options.provider` in promptfoo's copy only, for a config whose
grader is one of evalgate's offline providers (which promptfoo does not have).

Needs promptfoo (`npm install promptfoo@0.123.1`) and a Node it accepts (>= 22.22; `npm install node@22` works):
PROMPTFOO_ENTRY (default /tmp/pf13/node_modules/promptfoo/dist/src/entrypoint.js) and PROMPTFOO_NODE (default
/tmp/pf13/node22/node_modules/node/bin/node). evalgate runs on EVALGATE_URL/EVALGATE_API_KEY when set, else on
a local runtime this script starts (`python -m local`) and stops. Not part of `make test` (it needs Node).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "layers/evalgate"), str(ROOT)]

from evalgate.cli.context import Context  # noqa: E402
from evalgate.cli.main import run as evalgate_cli  # noqa: E402

DEFAULT_CONFIG = ROOT / "tests/e2e/data/promptfoo/promptfooconfig.yaml"


def run_promptfoo(config: Path, out: Path) -> int:
    node = os.environ.get("PROMPTFOO_NODE", "/tmp/pf13/node22/node_modules/node/bin/node")
    entry = os.environ.get("PROMPTFOO_ENTRY", "/tmp/pf13/node_modules/promptfoo/dist/src/entrypoint.js")
    env = {
        **os.environ,
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CONFIG_DIR": str(out.parent / "promptfoo-home"),
        "PATH": f"{Path(node).parent}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [node, entry, "eval", "-c", config.name, "--no-cache", "--no-table", "-o", str(out)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode


def start_local() -> tuple[subprocess.Popen[str], str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["EVALGATE_EPHEMERAL"] = "1"  # a throwaway runtime: never the user's .local/state (or its lock)
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0", "--ready-json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info["baseUrl"], info["adminKey"]


def run_evalgate(config: Path, out: Path, url: str, key: str) -> int:
    ctx = Context(stdout=io.StringIO(), stderr=io.StringIO(), env={"EVALGATE_URL": url, "EVALGATE_API_KEY": key})
    return evalgate_cli(["eval", "-c", str(config), "-o", str(out), "--name", f"parity {config.parent.name}"], ctx)


def verdicts(path: Path) -> dict[tuple[int, int], tuple[bool, float]]:
    rows = json.loads(path.read_text())["results"]["results"]
    return {(r["testIdx"], r["promptIdx"]): (bool(r["success"]), float(r["score"])) for r in rows}


def main() -> int:
    source = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_CONFIG
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "config"
        shutil.copytree(source.parent, work)
        config = work / source.name
        if len(sys.argv) > 2:
            theirs_config = yaml.safe_load(config.read_text())
            theirs_config.setdefault("defaultTest", {}).setdefault("options", {})["provider"] = sys.argv[2]
            (work / "promptfoo-side.yaml").write_text(yaml.safe_dump(theirs_config, sort_keys=False))
            pf_code = run_promptfoo(work / "promptfoo-side.yaml", Path(tmp) / "promptfoo.json")
        else:
            pf_code = run_promptfoo(config, Path(tmp) / "promptfoo.json")
        url, key = os.environ.get("EVALGATE_URL"), os.environ.get("EVALGATE_API_KEY")
        proc = None
        if not (url and key):
            proc, url, key = start_local()
        try:
            eg_code = run_evalgate(config, Path(tmp) / "evalgate.json", url, key)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        theirs, ours = verdicts(Path(tmp) / "promptfoo.json"), verdicts(Path(tmp) / "evalgate.json")
    keys = sorted(set(theirs) | set(ours))
    same_verdict = sum(1 for k in keys if k in theirs and k in ours and theirs[k][0] == ours[k][0])
    same_score = sum(1 for k in keys if k in theirs and k in ours and abs(theirs[k][1] - ours[k][1]) < 1e-6)
    print(f"config: {source}")
    print(f"promptfoo 0.123.1: exit {pf_code}, {sum(v[0] for v in theirs.values())}/{len(theirs)} passed")
    print(f"evalgate eval -c:  exit {eg_code}, {sum(v[0] for v in ours.values())}/{len(ours)} passed")
    print(f"verdicts agree: {same_verdict}/{len(keys)}; test scores agree: {same_score}/{len(keys)}")
    for k in keys:
        if theirs.get(k) != ours.get(k):
            print(f"  differs test {k[0]} prompt {k[1]}: promptfoo {theirs.get(k)} evalgate {ours.get(k)}")
    return 0 if same_verdict == len(keys) and pf_code == eg_code else 1


if __name__ == "__main__":
    raise SystemExit(main())
