"""Parse dataset files (CSV, JSON array, JSON Lines) into cases; errors name the line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from evalgate.errors import InvalidInput

Format = Literal["csv", "json", "jsonl"]
EXPECTED_COLUMNS = ("expected_output", "expectedOutput", "expected")
NAME_COLUMNS = ("name",)
MAX_NAME = 200


@dataclass
class ParsedCase:
    name: str
    variables: dict[str, Any]
    expected_output: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int = 0


def guess_format(content: str) -> Format:
    head = content.lstrip()[:1]
    if head == "[":
        return "json"
    if head == "{":
        try:
            doc = json.loads(content)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("cases"), list):
            return "json"  # the {"cases": [...]} form, even when it is written on one line
        first = content.lstrip().splitlines()[0] if content.strip() else ""
        try:
            json.loads(first)
            return "jsonl"
        except ValueError:
            return "json"
    return "csv"


def parse(
    content: str,
    fmt: Format | None = None,
    *,
    expected_column: str | None = None,
    name_column: str | None = None,
    max_cases: int = 100_000,
    template_variables: frozenset[str] = frozenset(),
) -> list[ParsedCase]:
    """`template_variables`: the variables the prompt's template uses; a column among them stays a variable
    even when it also names the case (the quick start's `Hello {{name}}!` with a `name` column)."""
    if not content.strip():
        raise InvalidInput("the file is empty", field="content")
    fmt = fmt or guess_format(content)
    if fmt == "csv":
        cases = _parse_csv(content, expected_column, name_column, max_cases, template_variables)
    elif fmt == "jsonl":
        cases = _parse_jsonl(content, max_cases)
    else:
        cases = _parse_json(content, max_cases)
    if not cases:
        raise InvalidInput("the file has no cases", field="content")
    _check_names(cases)
    return cases


def _check_names(cases: list[ParsedCase]) -> None:
    first_line: dict[str, int] = {}
    for case in cases:
        if len(case.name) > MAX_NAME:
            raise InvalidInput(f"line {case.line}: case name is longer than {MAX_NAME} characters", field="content")
        if "/" in case.name:
            raise InvalidInput(f"line {case.line}: case name {case.name!r} contains '/'", field="content")
        if case.name in first_line:
            raise InvalidInput(
                f"line {case.line}: duplicate case name {case.name!r} (first on line {first_line[case.name]})",
                field="content",
            )
        first_line[case.name] = case.line


# -- CSV ------------------------------------------------------------------------------------------
def _parse_csv(
    content: str,
    expected_column: str | None,
    name_column: str | None,
    max_cases: int,
    template_variables: frozenset[str] = frozenset(),
) -> list[ParsedCase]:
    reader = csv.reader(io.StringIO(content), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise _csv_error(exc, reader.line_num, 1) from exc
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if not header or any(not h for h in header):
        raise InvalidInput("line 1: every header column needs a name", field="content")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InvalidInput(f"line 1: duplicate header column {dupes[0]!r}", field="content")
    expected = _pick_column(header, expected_column, EXPECTED_COLUMNS, "expectedColumn")
    name_col = _pick_column(header, name_column, NAME_COLUMNS, "nameColumn")
    cases: list[ParsedCase] = []
    while True:
        # a quoted cell may span lines: a record is reported at the line it starts on
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(exc, reader.line_num, line) from exc
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidInput(
                f"line {line}: expected {len(header)} fields as in the header, found {len(row)}",
                field="content",
            )
        values = dict(zip(header, row, strict=True))
        if name_col in template_variables:  # the template uses it: a variable that also names the case
            name = values.get(name_col, "").strip()
        else:
            name = values.pop(name_col, "").strip() if name_col else ""
        expected_value = values.pop(expected, None) if expected else None
        cases.append(
            ParsedCase(
                name=name or f"case-{len(cases) + 1}",
                variables=values,
                expected_output=expected_value if expected_value != "" else None,
                line=line,
            )
        )
        if len(cases) > max_cases:
            raise InvalidInput(f"line {line}: more than {max_cases} cases in one import", field="content")
    return cases


def _csv_error(exc: csv.Error, line_num: int, record_start: int) -> InvalidInput:
    """At the end of the file inside a quoted cell, the culprit is the quote that opened the record."""
    if str(exc) == "unexpected end of data":
        return InvalidInput(
            f"line {record_start}: unterminated quoted field (the quote is never closed)", field="content"
        )
    return InvalidInput(f"line {line_num}: {exc}", field="content")


def _pick_column(header: list[str], wanted: str | None, defaults: tuple[str, ...], field_name: str) -> str | None:
    if wanted:
        if wanted not in header:
            raise InvalidInput(f"line 1: the header has no column {wanted!r}", field=field_name)
        return wanted
    return next((c for c in defaults if c in header), None)


# -- JSON -----------------------------------------------------------------------------------------
def _line_of(content: str, pos: int) -> int:
    return content.count("\n", 0, pos) + 1


def _json_error(exc: json.JSONDecodeError) -> InvalidInput:
    return InvalidInput(f"line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})", field="content")


def _iter_array(content: str, pos: int = 0, *, top_level: bool = True) -> Iterator[tuple[int, Any]]:
    """Yield (line, element) for each element of the JSON array at `pos` (the whole file when top-level)."""
    decoder = json.JSONDecoder()
    ws = " \t\r\n"
    while pos < len(content) and content[pos] in ws:
        pos += 1
    if pos >= len(content) or content[pos] != "[":
        raise InvalidInput(f"line {_line_of(content, pos)}: expected a JSON array of cases", field="content")
    pos += 1
    expect_value = True
    first = True
    while True:
        while pos < len(content) and content[pos] in ws:
            pos += 1
        if pos >= len(content):
            raise InvalidInput(f"line {_line_of(content, pos)}: the JSON array is not closed", field="content")
        ch = content[pos]
        if ch == "]" and (first or not expect_value):
            pos += 1
            break
        if not expect_value:
            if ch != ",":
                raise InvalidInput(f"line {_line_of(content, pos)}: expected ',' or ']'", field="content")
            pos += 1
            expect_value = True
            continue
        try:
            value, end = decoder.raw_decode(content, pos)
        except json.JSONDecodeError as exc:
            raise _json_error(exc) from exc
        yield _line_of(content, pos), value
        pos = end
        expect_value = False
        first = False
    if top_level and content[pos:].strip():
        pos += len(content[pos:]) - len(content[pos:].lstrip(ws))
        raise InvalidInput(f"line {_line_of(content, pos)}: unexpected content after the array", field="content")


def _cases_position(content: str) -> int:
    """Where the value of the top-level "cases" key starts, in a document already known to be valid JSON."""
    decoder = json.JSONDecoder()
    ws = " \t\r\n"

    def skip(pos: int) -> int:
        while pos < len(content) and content[pos] in ws:
            pos += 1
        return pos

    pos = skip(0) + 1  # past '{'
    found = -1
    while True:
        pos = skip(pos)
        if content[pos] == "}":
            return found
        if content[pos] == ",":
            pos += 1
            continue
        key, pos = decoder.raw_decode(content, pos)
        pos = skip(pos) + 1  # past ':'
        pos = skip(pos)
        if key == "cases":
            found = pos  # the last duplicate key wins, as in json.loads
        _, pos = decoder.raw_decode(content, pos)


def _parse_json(content: str, max_cases: int) -> list[ParsedCase]:
    stripped = content.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(content)
        except json.JSONDecodeError as exc:
            raise _json_error(exc) from exc
        items = doc.get("cases") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise InvalidInput("line 1: expected a JSON array of cases or an object with 'cases'", field="content")
        # re-locate elements to report lines: the array text starts at the 'cases' value
        entries: list[tuple[int, Any]] = list(_iter_array(content, _cases_position(content), top_level=False))
    else:
        entries = list(_iter_array(content))
    return [_case_from_object(obj, line, i + 1) for i, (line, obj) in enumerate(_capped(entries, max_cases))]


def _parse_jsonl(content: str, max_cases: int) -> list[ParsedCase]:
    entries = []
    for lineno, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entries.append((lineno, json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {lineno}: invalid JSON: {exc.msg} (column {exc.colno})", field="content") from exc
    return [_case_from_object(obj, line, i + 1) for i, (line, obj) in enumerate(_capped(entries, max_cases))]


def _capped(entries: list[tuple[int, Any]], max_cases: int) -> list[tuple[int, Any]]:
    if len(entries) > max_cases:
        raise InvalidInput(f"line {entries[max_cases][0]}: more than {max_cases} cases in one import", field="content")
    return entries


def _case_from_object(obj: Any, line: int, index: int) -> ParsedCase:
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {line}: case {index} must be a JSON object", field="content")
    obj = dict(obj)
    name = obj.pop("name", None)
    if name is not None and (isinstance(name, bool) or not isinstance(name, str | int)):
        raise InvalidInput(f"line {line}: case {index} has a name that is not a string", field="content")
    expected: Any = None
    for key in EXPECTED_COLUMNS:
        if key in obj:
            expected = obj.pop(key)
            break
    if expected is not None and not isinstance(expected, str):
        expected = json.dumps(expected, ensure_ascii=False)
    metadata = obj.pop("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidInput(f"line {line}: case {index} has metadata that is not an object", field="content")
    if "variables" in obj:
        variables = obj.pop("variables")
        if not isinstance(variables, dict):
            raise InvalidInput(f"line {line}: case {index} has variables that are not an object", field="content")
        if obj:
            raise InvalidInput(
                f"line {line}: case {index} has unknown fields {sorted(obj)} beside 'variables'",
                field="content",
            )
    else:
        variables = obj
    return ParsedCase(
        name=(str(name).strip() if name is not None else "") or f"case-{index}",
        variables=variables,
        expected_output=expected,
        metadata=metadata,
        line=line,
    )
