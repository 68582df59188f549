"""The outcome of `evalgate run` as one JSON summary, and that summary as Markdown (a CI step summary, a PR comment)
and as JUnit XML (the gate plus one test case per failing case)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from evalgate.cli.junit import clean

MARKER = "<!-- evalgate-report prompt={prompt} -->"
ICONS = {"passed": "✅", "failed": "❌", "inconclusive": "⚠️", "error": "💥"}
MAX_ROWS = 10


def marker(prompt: object) -> str:
    """A hidden line that finds this prompt's comment again on the pull request (one comment per prompt)."""
    return MARKER.format(prompt=prompt)


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "n/a"


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "n/a"


def _signed(value: Any, *, points: bool = False) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    return f"{100 * value:+.1f} pts" if points else f"{value:+.3f}"


def _ci(ci: Any, *, points: bool = False) -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2 or not all(isinstance(v, int | float) for v in ci):
        return ""
    low, high = ci
    return f"95% CI {100 * low:+.1f} to {100 * high:+.1f}" if points else f"95% CI {low:+.3f} to {high:+.3f}"


def _cell(text: Any, width: int = 120) -> str:
    """Table-safe: one line, pipes escaped, cut to `width` characters."""
    flat = " ".join(str(text if text is not None else "").split()).replace("|", "\\|")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_markdown(summary: Mapping[str, Any]) -> str:
    """The pull-request comment: verdict, score, pass rate, delta vs the control with its significance, the dataset
    note, the top regressions and the failures."""
    gate = summary.get("gate") or {}
    verdict = str(gate.get("verdict") or summary.get("verdict") or "error")
    run = summary.get("run") or {}
    stats = summary.get("stats") or {}
    comparison = summary.get("comparison")
    lines = [marker(summary.get("prompt"))]
    title = f"{ICONS.get(verdict, '')} evalgate: gate **{verdict.upper()}** (prompt {summary.get('prompt')}, "
    lines.append(f"### {title}run {run.get('id', '?')})")
    lines.append("")
    if summary.get("error"):
        lines += [f"> {_cell(summary['error'], 500)}", ""]
    control_id = comparison.get("controlRunId") if comparison else None
    header = "| | this run |" + (f" control (run {control_id}) | delta |" if comparison else "")
    lines.append(header)
    lines.append("|---|---|" + ("---|---|" if comparison else ""))
    passed, count = stats.get("passed"), stats.get("count")
    rate_row = f"| pass rate | {_pct(stats.get('passRate'))} ({passed}/{count}) |"
    score_row = f"| mean score | {_num(stats.get('score'))} |"
    if comparison:
        pr, sc = comparison.get("passRate") or {}, comparison.get("score") or {}
        p_value = (comparison.get("mcnemar") or {}).get("pValue")
        significance = f"McNemar p={p_value:.3g}" if isinstance(p_value, int | float) else "McNemar p n/a"
        rate_note = "; ".join(x for x in (_ci(pr.get("ci"), points=True), significance) if x)
        rate_row += f" {_pct(pr.get('control'))} | {_signed(pr.get('delta'), points=True)} ({rate_note}) |"
        score_note = _ci(sc.get("ci"))
        score_row += f" {_num(sc.get('control'))} | {_signed(sc.get('meanDelta'))}" + (
            f" ({score_note}) |" if score_note else " |"
        )
    lines += [rate_row, score_row, ""]
    if comparison:
        shared = comparison.get("sharedCases")
        lines.append(
            f"Compared with run {control_id} over {shared} shared case(s): **{comparison.get('verdict')}** — "
            f"{_cell(comparison.get('verdictReason'), 300)}"
        )
        lines.append("")
    lines.append(f"**Gate:** {verdict} — {_cell(gate.get('reason') or '(no reason given)', 400)}")
    datasets = gate.get("datasets") or (comparison or {}).get("datasets")
    if datasets and not datasets.get("same"):
        lines.append("")
        lines.append(f"⚠️ **Datasets:** {_cell(datasets.get('message'), 400)}")
    versions = run.get("datasetVersions") or {}
    if versions:
        shown = ", ".join(f"dataset {d} v{v}" for d, v in sorted(versions.items()))
        lines.append("")
        lines.append(f"<sub>run {run.get('id')} · {shown} · configHash `{run.get('configHash', '')}`</sub>")
    regressions: Sequence[Mapping[str, Any]] = summary.get("regressions") or []
    if regressions:
        lines += ["", f"#### Top regressions ({len(regressions)} passed on the control, fail now)", ""]
        lines += _rows(regressions[:MAX_ROWS])
    failures: Sequence[Mapping[str, Any]] = summary.get("failures") or []
    if failures:
        total = summary.get("failureCount", len(failures))
        lines += ["", f"<details><summary>Failures ({total})</summary>", ""]
        lines += _rows(failures[:MAX_ROWS])
        if total > MAX_ROWS:
            lines.append(f"\n…and {total - MAX_ROWS} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _rows(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    out = ["| case | status | score | why |", "|---|---|---|---|"]
    for r in rows:
        name, score = _cell(r.get("name"), 60), _num(r.get("score"), 2)
        out.append(f"| {name} | {r.get('status')} | {score} | {_cell(r.get('why'))} |")
    return out


def render_table(failures: Sequence[Mapping[str, Any]], width: int = 100) -> list[str]:
    """The failures as a plain-text table for a terminal."""
    if not failures:
        return []
    name_w = min(40, max(4, *(len(str(f.get("name"))) for f in failures)))
    lines = [f"{'case':<{name_w}}  {'status':<8}  {'score':>5}  why", "-" * min(width, name_w + 30)]
    for f in failures:
        name = str(f.get("name"))
        name = name if len(name) <= name_w else name[: name_w - 1] + "…"
        why = " ".join(str(f.get("why") or "").split())
        room = max(10, width - name_w - 21)
        why = why if len(why) <= room else why[: room - 1] + "…"
        lines.append(f"{name:<{name_w}}  {f.get('status')!s:<8}  {_num(f.get('score'), 2):>5}  {why}")
    return lines


def render_junit(summary: Mapping[str, Any], *, timestamp: datetime | None = None) -> bytes:
    """One suite: the gate as a test case (failed, skipped when inconclusive, error), then each failing case."""
    gate = summary.get("gate") or {}
    verdict = str(gate.get("verdict") or "error")
    failures: Sequence[Mapping[str, Any]] = summary.get("failures") or []
    stats = summary.get("stats") or {}
    tests = 1 + len(failures)  # the gate, then each failing case (passing cases are not listed)
    counts = {
        "tests": tests,
        "failures": (verdict == "failed") + sum(f.get("status") != "errored" for f in failures),
        "errors": (verdict == "error") + sum(f.get("status") == "errored" for f in failures),
        "skipped": int(verdict == "inconclusive"),
    }
    attrs = {k: str(v) for k, v in counts.items()}
    root = ET.Element("testsuites", {"name": "evalgate", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"evalgate run (prompt {summary.get('prompt')})", **attrs})
    suite.set("timestamp", (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S"))
    props = ET.SubElement(suite, "properties")
    run = summary.get("run") or {}
    for name, value in (
        ("evalgate.runId", run.get("id")),
        ("evalgate.configHash", run.get("configHash")),
        ("evalgate.verdict", verdict),
        ("evalgate.passRate", stats.get("passRate")),
        ("evalgate.score", stats.get("score")),
    ):
        ET.SubElement(props, "property", {"name": name, "value": clean("" if value is None else value)})
    gate_case = ET.SubElement(suite, "testcase", {"classname": "evalgate.gate", "name": "quality gate"})
    reason = clean(gate.get("reason") or summary.get("error") or "")
    if verdict == "failed":
        ET.SubElement(gate_case, "failure", {"message": reason, "type": "GateFailed"}).text = reason
    elif verdict == "inconclusive":
        ET.SubElement(gate_case, "skipped", {"message": reason})
    elif verdict == "error":
        ET.SubElement(gate_case, "error", {"message": reason, "type": "GateCheckError"}).text = reason
    for f in failures:
        case = ET.SubElement(suite, "testcase", {"classname": "evalgate.case", "name": clean(f.get("name"))})
        why = clean(f.get("why") or f.get("status"))
        kind = "error" if f.get("status") == "errored" else "failure"
        ET.SubElement(case, kind, {"message": why[:500], "type": f"Case{str(f.get('status')).title()}"}).text = why
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
