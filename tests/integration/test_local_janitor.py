"""The local runtime's janitor bounds what moto would keep forever (issue 9 item 12): finished Step Functions
executions and SQS receipt handles, on moto's own backends (fresh instances, not the process-wide ones)."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta

from moto.sqs.models import SQSBackend
from moto.stepfunctions.models import StepFunctionBackend

from local.janitor import prune_executions, prune_receipt_handles

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFINITION = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


def _executions(backend: StepFunctionBackend, arn: str, start: int, n: int) -> None:
    for i in range(start, start + n):
        execution = backend.start_execution(arn, name=f"run-{i}", execution_input=json.dumps({"pad": "x" * 2000}))
        backend.stop_execution(execution.execution_arn)


def test_finished_executions_stay_bounded_however_many_runs() -> None:
    backend = StepFunctionBackend(REGION, ACCOUNT)
    machine = backend.create_state_machine("m", DEFINITION, f"arn:aws:iam::{ACCOUNT}:role/r")
    later = datetime.now(UTC) + timedelta(hours=1)
    tracemalloc.start()
    try:
        _executions(backend, machine.arn, 0, 300)
        prune_executions(backend, keep=50, now=later)
        baseline, _ = tracemalloc.get_traced_memory()
        for round_ in range(1, 6):  # five times as many executions again
            _executions(backend, machine.arn, round_ * 300, 300)
            prune_executions(backend, keep=50, now=later)
        grown, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(machine.executions) == 50
    # the newest are kept (DescribeExecution of a recent run still works)
    assert machine.executions[-1].name == "run-1799"
    assert grown < baseline * 1.5, (baseline, grown)


def test_running_and_recent_executions_are_never_dropped() -> None:
    backend = StepFunctionBackend(REGION, ACCOUNT)
    machine = backend.create_state_machine("m", DEFINITION, f"arn:aws:iam::{ACCOUNT}:role/r")
    _executions(backend, machine.arn, 0, 20)
    backend.start_execution(machine.arn, name="still-running", execution_input="{}")
    assert prune_executions(backend, keep=5) == 0  # all finished within the grace period
    assert prune_executions(backend, keep=5, now=datetime.now(UTC) + timedelta(hours=1)) == 15
    assert "still-running" in [e.name for e in machine.executions]


def test_sqs_receipt_handles_of_deleted_messages_stay_bounded() -> None:
    backend = SQSBackend(REGION, ACCOUNT)
    backend.create_queue("q")
    for round_ in range(3):
        for i in range(60):
            backend.send_message("q", f"m{round_}-{i}")
        while True:
            messages = backend.receive_message("q", count=10, wait_seconds_timeout=0, visibility_timeout=0)
            if not messages:
                break
            for message in messages:
                backend.delete_message("q", message.receipt_handle)
        prune_receipt_handles(backend, keep=20)
        assert len(backend.get_queue("q").deleted_messages) <= 20


def test_a_sweep_that_dropped_executions_tells_the_gc_pacer() -> None:
    """The janitor's dropped executions are the cyclic garbage the runtime's gc pacer sweeps for (issue 18 item 4):
    a sweep that dropped some calls `on_dropped`; one that dropped none does not."""
    from moto.stepfunctions.models import stepfunctions_backends

    from local.janitor import Janitor

    account = "000000000042"  # an account of its own in moto's process-wide backends
    backend = stepfunctions_backends[account][REGION]
    machine = backend.create_state_machine("janitor-note", DEFINITION, f"arn:aws:iam::{account}:role/r")
    noted: list[int] = []
    janitor = Janitor(account, REGION, keep_executions=5, grace_seconds=-3600, on_dropped=lambda: noted.append(1))
    _executions(backend, machine.arn, 0, 3)
    janitor.sweep()
    assert noted == []  # 3 finished, 5 kept: nothing dropped
    _executions(backend, machine.arn, 3, 10)
    janitor.sweep()
    assert noted == [1] and len(machine.executions) == 5
