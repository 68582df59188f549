"""Cached paired gates and comparisons (issue 17): one small item per (run, kind, control run, configuration digest).

The item holds the answer (JSON) and the fingerprint of what it was computed from (both runs' counted results);
the caller compares the fingerprint with the runs' current one and recomputes when they differ, so a stale answer
is never served. Items live in the run's own partition (`keys.paired_result`): deleting the run deletes them.
"""

from __future__ import annotations

from typing import Any

from evalgate import keys
from evalgate.store.table import Table


class PairedResultStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, project_id: str, run_id: int, kind: str, control_id: int, digest: str) -> tuple[str, str] | None:
        """(fingerprint, body) of the cached answer, or None."""
        item = self.table.get(keys.paired_result(project_id, run_id, kind, control_id, digest))
        if not item:
            return None
        return str(item["fp"]), str(item["body"])

    def put(self, project_id: str, run_id: int, kind: str, control_id: int, digest: str, fp: str, body: str) -> None:
        """Store (or replace) the answer computed from `fp`'s figures."""
        item: dict[str, Any] = {
            **keys.paired_result(project_id, run_id, kind, control_id, digest),
            "type": "pairedResult",
            "fp": fp,
            "body": body,
        }
        self.table.put(item)
