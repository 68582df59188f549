"""Binary attributes (a result's compressed body) across restarts of the durable local runtime: written by PutItem
and by a PartiQL INSERT (the result claims), they come back byte for byte after a restart that replays the journal
(and compacts it into a snapshot), and after one more that loads that snapshot. Each phase is its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from local import cfn

PHASE = """
import base64, json, os, sys
from pathlib import Path
from local.runtime import LocalRuntime
rt = LocalRuntime(port=0, state_dir=Path(sys.argv[1]), tick_seconds=3600)
rt.start()
ddb = rt.client("dynamodb")
table = rt.names.refs["Table"]
blob = bytes(range(256)) * 3
if sys.argv[2] == "write":
    ddb.put_item(TableName=table, Item={"PK": {"S": "BIN"}, "SK": {"S": "put"}, "body": {"B": blob}})
    ddb.batch_execute_statement(Statements=[{
        "Statement": f"INSERT INTO \\"{table}\\" VALUE {{'PK': ?, 'SK': ?, 'body': ?}}",
        "Parameters": [{"S": "BIN"}, {"S": "insert"}, {"B": blob}],
    }])
got = {}
for sk in ("put", "insert"):
    item = ddb.get_item(TableName=table, Key={"PK": {"S": "BIN"}, "SK": {"S": sk}}).get("Item") or {}
    got[sk] = item.get("body", {}).get("B") == blob
print(json.dumps(got), flush=True)
os._exit(0)
"""


def _phase(state: Path, mode: str) -> dict[str, bool]:
    done = subprocess.run(
        [sys.executable, "-c", PHASE, str(state), mode], cwd=cfn.ROOT, capture_output=True, text=True, timeout=180
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    return dict(json.loads(lines[-1]))


def test_binary_attributes_survive_journal_replay_and_snapshot(tmp_path: Path) -> None:
    assert _phase(tmp_path, "write") == {"put": True, "insert": True}
    assert _phase(tmp_path, "read") == {"put": True, "insert": True}  # replayed from the journal, then compacted
    assert _phase(tmp_path, "read") == {"put": True, "insert": True}  # loaded from the snapshot
