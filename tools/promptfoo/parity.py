"""Verdict agreement between evalgate and promptfoo on the same assertion and output.

    python tools/promptfoo/parity.py            # compare with the recorded promptfoo results
    python tools/promptfoo/parity.py --live     # run promptfoo now (needs `npm install promptfoo@0.123.1` in
                                                # PROMPTFOO_NODE_MODULES, default /tmp/pf13/node_modules) and record

Cases: tests/unit/scoring/promptfoo_parity/cases.json (written by make_cases.py). Each case runs through
promptfoo's own `assertions.runAssertion` (run_promptfoo.cjs) and through evalgate's `evaluate`; the report
prints, per assertion type, how many verdicts agree (pass/fail and score within 1e-6).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # run as a script: see the layer as the tests do (pyproject's pythonpath)
    sys.path[:0] = [str(ROOT / "layers/evalgate"), str(ROOT)]

from evalgate.errors import InvalidInput  # noqa: E402
from evalgate.scoring import CaseOutput, evaluate, validate_assertions  # noqa: E402

DATA = ROOT / "tests/unit/scoring/promptfoo_parity"
VERSION = "0.123.1"
RESULTS = DATA / f"promptfoo-{VERSION}.json"


def evalgate_verdict(case: dict[str, Any]) -> dict[str, Any]:
    try:
        [spec] = validate_assertions([case["assertion"]])
    except InvalidInput as err:
        return {"error": f"refused when saved: {err.message}"}
    out = CaseOutput(
        output=case["output"],
        variables=case.get("vars") or {},
        finish_reason=case.get("finishReason"),
        logprobs=case.get("logProbs"),
    )
    [result] = evaluate([spec], out).assertions
    if result.status == "errored":
        return {"error": result.reason}
    return {"pass": result.status == "passed", "score": result.score}


def agree(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    if "error" in ours or "error" in theirs:
        return "error" in ours and "error" in theirs
    return ours["pass"] == theirs["pass"] and abs(float(ours["score"]) - float(theirs["score"])) < 1e-6


def main() -> int:
    cases = json.loads((DATA / "cases.json").read_text())
    if "--live" in sys.argv:
        modules = os.environ.get("PROMPTFOO_NODE_MODULES", "/tmp/pf13/node_modules")
        raw = subprocess.run(
            ["node", str(Path(__file__).with_name("run_promptfoo.cjs")), str(DATA / "cases.json")],
            env={**os.environ, "NODE_PATH": modules},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        RESULTS.write_text(raw)
    theirs = json.loads(RESULTS.read_text())
    by_type: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for case in cases:
        ours = evalgate_verdict(case)
        ok = agree(ours, theirs[case["id"]])
        by_type[case["assertion"]["type"].removeprefix("not-")].append(ok)
        if not ok:
            misses.append((case["id"], ours, theirs[case["id"]]))
    total = sum(len(v) for v in by_type.values())
    agreed = sum(sum(v) for v in by_type.values())
    print(f"promptfoo {VERSION} vs evalgate: {agreed}/{total} verdicts agree ({agreed / total:.1%})")
    for name in sorted(by_type):
        print(f"  {name:32s} {sum(by_type[name]):3d}/{len(by_type[name]):3d}")
    known = {c["id"]: c["differs"] for c in cases if c.get("differs")}
    for case_id, ours, pf in misses:
        why = f" (known: {known[case_id]})" if case_id in known else " (NOT a known difference)"
        print(f"  differs {case_id}{why}: evalgate {json.dumps(ours)[:140]} | promptfoo {json.dumps(pf)[:140]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
