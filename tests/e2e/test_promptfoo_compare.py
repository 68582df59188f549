"""select-best and max-score through `evalgate eval -c` on the local stack: a config with two prompts on the echo
provider and a scripted judge; every verdict and score equals what promptfoo 0.123.1 gives for the same config
(recorded from `tools/promptfoo/parity_eval.py tests/e2e/data/promptfoo_compare/promptfooconfig.yaml "exec:echo 1"`,
which agrees 12/12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Runtime
from tests.e2e.test_promptfoo_import import cli

pytestmark = pytest.mark.e2e
DATA = Path(__file__).with_name("data") / "promptfoo_compare"

# (test, prompt) -> (success, score, the comparison's component result) as promptfoo 0.123.1 wrote them
PROMPTFOO = {
    (0, 0): (True, 1.0, ("max-score", True, "Selected as highest scoring output (score: 1.000)")),
    (0, 1): (False, 0.0, ("max-score", False, "Not selected (score: 1.000, max: 1.000)")),
    (1, 0): (True, 1.0, ("max-score", True, "Selected as highest scoring output (score: 1.000)")),
    (1, 1): (False, 0.0, ("max-score", False, "Not selected (score: 0.500, max: 1.000)")),
    (2, 0): (False, 0.0, ("max-score", False, "Not selected (score: 0.250, max: 0.750)")),
    (2, 1): (False, 0.5, ("max-score", True, "Selected as highest scoring output (score: 0.750)")),
    (3, 0): (False, 0.0, ("max-score", False, "Not selected - score 0.000 below threshold 0.5")),
    (3, 1): (False, 0.0, ("max-score", False, "Not selected - score 0.000 below threshold 0.5")),
    (4, 0): (True, 0.6, ("max-score", True, "Selected as highest scoring output (score: 0.600)")),
    (4, 1): (False, 0.0, ("max-score", False, "Not selected (score: 0.250, max: 0.600)")),
    (5, 0): (False, 0.0, ("select-best", False, "Output not selected: the friendliest greeting")),
    (5, 1): (True, 1.0, ("select-best", True, "Output selected as the best: the friendliest greeting")),
}


def test_eval_c_ranks_each_tests_outputs_as_promptfoo_does(runtime: Runtime, tmp_path: Path) -> None:
    for item in DATA.iterdir():
        shutil.copy(item, tmp_path / item.name)
    config, results = tmp_path / "promptfooconfig.yaml", tmp_path / "results.json"
    # When the config runs: one run per prompt, then the comparison pass over both
    code, out, err = cli(runtime, "eval", "-c", str(config), "--name", "e2e promptfoo compare", "-o", str(results))
    # Then the summary and exit code are promptfoo's (4 of 12 pass: exit 100)
    assert code == 100, (out, err)
    assert "Successes: 4  Failures: 8  Errors: 0  Pass Rate: 33.33%" in out, out
    # and every row's verdict, score and comparison result are promptfoo's
    rows: list[dict[str, Any]] = json.loads(results.read_text())["results"]["results"]
    got = {(r["testIdx"], r["promptIdx"]): r for r in rows}
    assert set(got) == set(PROMPTFOO)
    for key, (success, score, (kind, passed, reason)) in PROMPTFOO.items():
        row = got[key]
        last = row["gradingResult"]["componentResults"][-1]
        assert (row["success"], row["score"]) == (success, pytest.approx(score)), (key, row["gradingResult"])
        assert (last["assertion"]["type"], last["pass"], last["reason"]) == (kind, passed, reason), key
