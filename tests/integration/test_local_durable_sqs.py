"""SQS across a restart of the durable local runtime: messages not yet processed (never sent to the function, or
received but not deleted) are delivered again; processed (deleted) ones are not. Each phase runs in its own
process (moto's backends are per process), the first one ending like a `kill -9` (os._exit, no clean stop)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from local import cfn

FIXTURE_TEMPLATE = Path(__file__).resolve().parent.parent / "fixtures" / "queue_app" / "template.yaml"

BEFORE = """
import json, os, sys
from pathlib import Path
from local.runtime import LocalRuntime
from local.sqs_poller import SqsPoller
SqsPoller.start = lambda self: None  # nothing is consumed by the function in this phase
rt = LocalRuntime(port=0, template=Path(sys.argv[1]), state_dir=Path(sys.argv[2]), tick_seconds=3600)
rt.start()
sqs = rt.client("sqs")
url = rt.names.refs["WorkQueue"]
for body in ("processed", "in-flight", "waiting"):
    sqs.send_message(QueueUrl=url, MessageBody=body)
got = {}
while len(got) < 2:
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600).get("Messages", []):
        got[m["Body"]] = m["ReceiptHandle"]
first = sorted(got)[0]
sqs.delete_message(QueueUrl=url, ReceiptHandle=got[first])
print(json.dumps({"deleted": first, "received": sorted(got)}), flush=True)
os._exit(0)
"""

AFTER = """
import json, sys
from pathlib import Path
from local.runtime import LocalRuntime
from local.sqs_poller import SqsPoller
SqsPoller.start = lambda self: None  # the function consumes nothing: the test reads the queue itself
rt = LocalRuntime(port=0, template=Path(sys.argv[1]), state_dir=Path(sys.argv[2]), tick_seconds=3600)
rt.start()
sqs = rt.client("sqs")
url = rt.names.refs["WorkQueue"]
bodies = []
for _ in range(5):
    bodies += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
print(json.dumps({"restored": dict(rt.restored), "bodies": sorted(bodies)}), flush=True)
rt.stop()
"""


def _phase(code: str, state: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURE_TEMPLATE), str(state)],
        cwd=cfn.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-2000:]
    return dict(json.loads(lines[-1]))


def test_unprocessed_messages_are_delivered_again_after_a_restart(tmp_path: Path) -> None:
    before = _phase(BEFORE, tmp_path)
    after = _phase(AFTER, tmp_path)
    deleted = before["deleted"]
    # the two messages not deleted come back (the received one at once, not after its 600 s visibility timeout)
    assert after["restored"]["queued messages"] == 2, after  # type: ignore[index]
    assert after["bodies"] == sorted({"processed", "in-flight", "waiting"} - {deleted})
    assert after["restored"]["queued messages"] == 2  # type: ignore[index]
