"""JUnit XML for gate checks: CI systems show a failed gate as a failed test, an inconclusive one as skipped."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SUITE_NAME = "evalgate quality gate"
# characters XML 1.0 does not allow at all, even escaped (ElementTree would write them as they are)
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class CheckRecord:
    """One gate check as a test case. outcome: passed, failed, inconclusive or error."""

    name: str
    outcome: str
    message: str
    seconds: float = 0.0
    details: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


def clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested figures as dotted names; lists as compact JSON."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, name + ".")
        elif isinstance(value, bool) or value is None:
            yield name, json.dumps(value)
        elif isinstance(value, (list, tuple)):
            yield name, json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        else:
            yield name, str(value)


def render(checks: Sequence[CheckRecord], *, timestamp: datetime | None = None) -> bytes:
    counts = {
        "tests": len(checks),
        "failures": sum(c.outcome == "failed" for c in checks),
        "errors": sum(c.outcome == "error" for c in checks),
        "skipped": sum(c.outcome == "inconclusive" for c in checks),
    }
    total = sum(c.seconds for c in checks)
    root = ET.Element("testsuites", {"name": "evalgate", **{k: str(v) for k, v in counts.items()}})
    root.set("time", f"{total:.3f}")
    suite = ET.SubElement(root, "testsuite", {"name": SUITE_NAME, **{k: str(v) for k, v in counts.items()}})
    suite.set("time", f"{total:.3f}")
    suite.set("timestamp", (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S"))
    # the Ant JUnit schema puts <properties> on the suite only; each invocation checks one gate
    properties = [(name, value) for check in checks for name, value in flatten(check.properties)]
    if properties:
        holder = ET.SubElement(suite, "properties")
        for name, value in properties:
            ET.SubElement(holder, "property", {"name": clean(name), "value": clean(value)})
    for check in checks:
        case = ET.SubElement(
            suite, "testcase", {"classname": "evalgate.gate", "name": clean(check.name), "time": f"{check.seconds:.3f}"}
        )
        if check.outcome == "failed":
            element = ET.SubElement(case, "failure", {"message": clean(check.message), "type": "GateFailed"})
            element.text = clean(check.details or check.message)
        elif check.outcome == "inconclusive":
            ET.SubElement(case, "skipped", {"message": clean(check.message)})
        elif check.outcome == "error":
            element = ET.SubElement(case, "error", {"message": clean(check.message), "type": "GateCheckError"})
            element.text = clean(check.details or check.message)
        if check.outcome in ("passed", "inconclusive") and check.details:
            ET.SubElement(case, "system-out").text = clean(check.details)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(path: Path, checks: Sequence[CheckRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(checks))
