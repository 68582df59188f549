"""evalgate.importer: CSV, JSON array, {"cases": [...]} and JSON Lines into cases; every error names its line."""

from __future__ import annotations

import json

import pytest

from evalgate import importer
from evalgate.errors import InvalidInput


def _error(content: str, fmt: importer.Format | None = None, **kwargs: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        importer.parse(content, fmt, **kwargs)  # type: ignore[arg-type]
    return info.value


# -- format guessing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        ("a,b\n1,2\n", "csv"),
        ('[{"a": 1}]', "json"),
        ('  \n [\n{"a": 1}\n]', "json"),
        ('{"a": 1}\n{"a": 2}\n', "jsonl"),
        ('{\n  "cases": [{"a": 1}]\n}', "json"),
        # a compact one-line {"cases": [...]} document is the object form, not a one-line JSON Lines file
        ('{"cases": [{"a": 1}, {"a": 2}]}', "json"),
    ],
)
def test_guess_format(content: str, fmt: str) -> None:
    # Given a file's text / When its format is guessed / Then it is the expected one
    assert importer.guess_format(content) == fmt


def test_compact_cases_object_without_format_imports_every_case() -> None:
    # Given a one-line {"cases": [...]} document and no explicit format
    content = '{"cases": [{"name": "a", "q": 1}, {"name": "b", "q": 2}]}'
    # When it is parsed
    cases = importer.parse(content)
    # Then each element of "cases" is a case (not one case holding the whole list)
    assert [(c.name, c.variables) for c in cases] == [("a", {"q": 1}), ("b", {"q": 2})]


# -- CSV ------------------------------------------------------------------------------------------
def test_csv_header_columns_become_variables_and_expected_output_is_split_off() -> None:
    # Given a CSV with an expected_output column and no name column
    content = "question,context,expected_output\nWhat is 2+2?,math,4\nCapital of France?,geo,Paris\n"
    # When it is parsed
    cases = importer.parse(content, "csv")
    # Then the other columns are the variables and the cases get generated names
    assert [c.name for c in cases] == ["case-1", "case-2"]
    assert cases[0].variables == {"question": "What is 2+2?", "context": "math"}
    assert [c.expected_output for c in cases] == ["4", "Paris"]
    assert [c.line for c in cases] == [2, 3]


@pytest.mark.parametrize("column", ["expected_output", "expectedOutput", "expected"])
def test_csv_default_expected_columns(column: str) -> None:
    # Given a CSV whose expected column has one of the default names
    content = f"q,{column}\nhi,hello\n"
    # When it is parsed / Then that column is the expected output, not a variable
    (case,) = importer.parse(content, "csv")
    assert case.expected_output == "hello"
    assert case.variables == {"q": "hi"}


def test_csv_name_column_names_the_cases_and_is_not_a_variable() -> None:
    # Given a name column / When parsed / Then it names the cases (trimmed) and is not a variable
    content = "name,q\n  first  ,a\nsecond,b\n"
    cases = importer.parse(content, "csv")
    assert [c.name for c in cases] == ["first", "second"]
    assert all("name" not in c.variables for c in cases)


def test_csv_custom_expected_and_name_columns() -> None:
    # Given custom columns for the name and the expected output
    content = "id,input,gold,expected\nc1,x,X,kept\nc2,y,Y,kept too\n"
    # When they are chosen explicitly
    cases = importer.parse(content, "csv", expected_column="gold", name_column="id")
    # Then they are used, and a default-named column is just a variable
    assert [c.name for c in cases] == ["c1", "c2"]
    assert [c.expected_output for c in cases] == ["X", "Y"]
    assert cases[0].variables == {"input": "x", "expected": "kept"}


@pytest.mark.parametrize("option", ["expected_column", "name_column"])
def test_csv_custom_column_missing_from_header(option: str) -> None:
    # Given a custom column absent from the header / When parsed / Then line 1 is blamed on that option
    err = _error("a,b\n1,2\n", "csv", **{option: "nope"})
    assert err.message == "line 1: the header has no column 'nope'"
    assert err.field == {"expected_column": "expectedColumn", "name_column": "nameColumn"}[option]


def test_csv_empty_expected_is_none_and_blank_lines_are_skipped() -> None:
    # Given empty expected cells and blank lines
    # When parsed
    # Then expected is None and lines still count
    content = "q,expected\nhi,\n\n   ,  \nyo,there\n"
    cases = importer.parse(content, "csv")
    assert [(c.name, c.expected_output, c.line) for c in cases] == [("case-1", None, 2), ("case-2", "there", 5)]


def test_csv_quoted_multiline_cell_and_bom() -> None:
    # Given a BOM and a quoted cell spanning two lines
    # When parsed
    # Then cells are intact and lines are record starts
    content = '\ufeffname,q\nc1,"line one\nline two"\nc2,"a, b"\n'
    cases = importer.parse(content, "csv")
    assert cases[0].variables == {"q": "line one\nline two"}
    assert cases[1].variables == {"q": "a, b"}
    # a record is reported at the line it starts on
    assert [c.line for c in cases] == [2, 4]


def test_csv_wrong_field_count_names_the_line() -> None:
    # Given a short row on line 4 / When parsed / Then the error names line 4
    err = _error("a,b\n1,2\n3,4\n5\n6,7\n", "csv")
    assert err.message == "line 4: expected 2 fields as in the header, found 1"
    assert err.field == "content"


def test_csv_wrong_field_count_after_a_multiline_record() -> None:
    # Given a long row after a two-line record / When parsed / Then the error names its own line
    err = _error('a,b\n"x\ny",2\n3,4,5\n', "csv")
    assert err.message.startswith("line 4: expected 2 fields as in the header, found 3")


def test_csv_wrong_field_count_of_a_multiline_record_names_its_first_line() -> None:
    # Given a one-field record that spans lines 3-4 / When it is parsed
    err = _error('a,b\n1,2\n"x\ny"\n5,6\n', "csv")
    # Then the error points at line 3, where the record starts
    assert err.message.startswith("line 3: expected 2 fields")


def test_csv_unterminated_quote_names_the_line_it_opens_on() -> None:
    # Given a quote opened on line 3 that is never closed (the file goes on for lines)
    content = 'a,b\n1,2\n"3,4\n5,6\n7,8\n9,10\n'
    # When it is parsed
    err = _error(content, "csv")
    # Then the error names line 3 and says what is wrong
    assert err.message.startswith("line 3: ")
    assert "unterminated" in err.message
    assert err.field == "content"


def test_csv_unterminated_quote_in_the_header() -> None:
    # Given a header whose quote never closes / When parsed / Then line 1 is blamed as unterminated
    err = _error('a,"b\n1,2\n', "csv")
    assert err.message.startswith("line 1: ")
    assert "unterminated" in err.message


def test_csv_stray_quote_names_its_line() -> None:
    # Given a stray character after a closing quote on line 3 / When parsed / Then line 3 is blamed
    err = _error('a,b\n1,2\n"3"x,4\n', "csv")
    assert err.message.startswith("line 3: ")


def test_csv_duplicate_names_name_both_lines() -> None:
    # Given 'x' on lines 2 and 4 / When parsed / Then the error names both lines
    err = _error("name,q\nx,1\ny,2\nx,3\n", "csv")
    assert err.message == "line 4: duplicate case name 'x' (first on line 2)"


def test_csv_duplicate_names_after_multiline_records_name_the_first_lines() -> None:
    # Given 'x' on a two-line record at line 2 and again at 5
    # When parsed
    # Then both start lines are named
    err = _error('name,q\nx,"1\n2"\ny,3\nx,4\n', "csv")
    assert err.message == "line 5: duplicate case name 'x' (first on line 2)"


def test_csv_generated_name_colliding_with_an_explicit_one_is_a_duplicate() -> None:
    # Given an unnamed row and a row named 'case-1' / When parsed / Then they collide, naming both lines
    err = _error("name,q\n,1\ncase-1,2\n", "csv")
    assert err.message == "line 3: duplicate case name 'case-1' (first on line 2)"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("a,,b", "line 1: every header column needs a name"),
        ("a,b,a", "line 1: duplicate header column 'a'"),
    ],
)
def test_csv_bad_header(header: str, message: str) -> None:
    # Given an empty or repeated header column / When parsed / Then line 1 is blamed
    assert _error(f"{header}\n1,2,3\n", "csv").message == message


def test_csv_too_long_name() -> None:
    # Given a 201-character name on line 3 / When parsed / Then line 3 is blamed
    err = _error(f"name,q\nok,1\n{'n' * 201},2\n", "csv")
    assert err.message == "line 3: case name is longer than 200 characters"


def test_csv_too_many_cases() -> None:
    # Given three rows and a cap of two / When parsed / Then the first row over is blamed
    err = _error("q\n1\n2\n3\n", "csv", max_cases=2)
    assert err.message == "line 4: more than 2 cases in one import"


@pytest.mark.parametrize("content", ["", "   \n\n"])
def test_empty_file(content: str) -> None:
    # Given an empty or blank file / When parsed / Then it is refused as empty
    assert _error(content).message == "the file is empty"


def test_header_only_csv_has_no_cases() -> None:
    # Given only a header / When parsed / Then it has no cases
    assert _error("a,b\n", "csv").message == "the file has no cases"


# -- JSON array -----------------------------------------------------------------------------------
def test_json_array_objects_become_cases() -> None:
    # Given an array with explicit variables, bare fields and a numeric name
    # When parsed
    # Then each maps to a case
    content = json.dumps(
        [
            {"name": "greet", "variables": {"who": "Ann"}, "expectedOutput": "Hi Ann", "metadata": {"tag": "t"}},
            {"who": "Bob", "expected": {"json": True}},
            {"name": 7, "expected_output": "seven"},
        ],
        indent=2,
    )
    cases = importer.parse(content, "json")
    assert [c.name for c in cases] == ["greet", "case-2", "7"]
    assert cases[0].variables == {"who": "Ann"}
    assert cases[0].metadata == {"tag": "t"}
    assert cases[0].expected_output == "Hi Ann"
    # without "variables", the remaining fields are the variables; non-string expected values become JSON
    assert cases[1].variables == {"who": "Bob"}
    assert cases[1].expected_output == '{"json": true}'
    assert cases[2].expected_output == "seven"


def test_json_array_reports_each_element_line() -> None:
    # Given elements on lines 2 and 4 / When parsed / Then each case carries the line it starts on
    content = '[\n  {"name": "a"},\n\n  {"name": "b"}, {"name": "c"}\n]\n'
    assert [(c.name, c.line) for c in importer.parse(content, "json")] == [("a", 2), ("b", 4), ("c", 4)]


def test_json_array_bad_json_names_the_line() -> None:
    # Given a syntax error on line 4 / When parsed / Then line 4 is blamed
    content = '[\n{"a": 1},\n{"a": 2},\n{"a": }\n]'
    err = _error(content, "json")
    assert err.message.startswith("line 4: invalid JSON")
    assert err.field == "content"


def test_json_array_duplicate_names_name_both_lines() -> None:
    # Given 'x' on lines 2 and 4 / When parsed / Then the error names both lines
    content = '[\n{"name": "x"},\n{"name": "y"},\n{"name": "x"}\n]'
    assert _error(content, "json").message == "line 4: duplicate case name 'x' (first on line 2)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[\n{"a": 1}\n{"a": 2}]', "line 3: expected ',' or ']'"),
        ('[\n{"a": 1},\n', "line 3: the JSON array is not closed"),
        ('[{"a": 1}]\nxyz', "line 2: unexpected content after the array"),
        ('[\n{"a": 1},\n42\n]', "line 3: case 2 must be a JSON object"),
        ('[{"name": ["x"]}]', "line 1: case 1 has a name that is not a string"),
        ('[{"metadata": 3}]', "line 1: case 1 has metadata that is not an object"),
        ('[{"variables": []}]', "line 1: case 1 has variables that are not an object"),
        ('[{"variables": {}, "extra": 1}]', "line 1: case 1 has unknown fields ['extra'] beside 'variables'"),
        ('"text"', "line 1: expected a JSON array of cases"),
    ],
)
def test_json_array_errors(content: str, message: str) -> None:
    # Given a malformed array / When parsed / Then the message names the line of the fault
    assert _error(content, "json").message == message


# -- {"cases": [...]} -----------------------------------------------------------------------------
def test_cases_object_reports_each_element_line() -> None:
    # Given a pretty-printed {"cases": [...]} / When parsed / Then each case carries its own line
    content = '{\n  "name": "ignored",\n  "cases": [\n    {"name": "a"},\n    {"name": "b"}\n  ]\n}\n'
    assert [(c.name, c.line) for c in importer.parse(content, "json")] == [("a", 4), ("b", 5)]


def test_cases_object_lines_ignore_a_nested_cases_key() -> None:
    # Given a "cases" key inside another value before the real top-level one
    content = '{"meta": {"cases": [{"name": "decoy"}]},\n "cases": [\n  {"name": "a"},\n  {"name": "b"}\n]}'
    # When it is parsed / Then the top-level list is the one imported, with its own lines
    assert [(c.name, c.line) for c in importer.parse(content, "json")] == [("a", 3), ("b", 4)]


def test_cases_object_duplicate_names_name_both_lines() -> None:
    # Given a pretty-printed {"cases": [...]} with a name repeated on lines 3 and 5
    content = '{"cases": [\n  {"name": "x"},\n  {"name": "dup"},\n  {"name": "y"},\n  {"name": "dup"}\n]}\n'
    # When it is parsed / Then the error names both lines
    assert _error(content, "json").message == "line 5: duplicate case name 'dup' (first on line 3)"


def test_cases_object_bad_json_names_the_line() -> None:
    # Given a trailing comma on line 3 of {"cases": [...]} / When parsed / Then line 3 is blamed
    content = '{"cases": [\n  {"a": 1},\n  {"a": 1,}\n]}'
    assert _error(content, "json").message.startswith("line 3: invalid JSON")


def test_cases_object_without_a_cases_list() -> None:
    # Given an object without 'cases' / When parsed as JSON / Then it is refused on line 1
    err = _error('{\n"items": []\n}', "json")
    assert err.message == "line 1: expected a JSON array of cases or an object with 'cases'"


# -- JSON Lines -----------------------------------------------------------------------------------
def test_jsonl_lines_become_cases_and_blank_lines_count() -> None:
    # Given JSON Lines with a blank line / When parsed / Then cases carry their real line numbers
    content = '{"name": "a", "q": 1}\n\n{"q": 2, "expectedOutput": "two"}\n'
    cases = importer.parse(content, "jsonl")
    assert [(c.name, c.variables, c.expected_output, c.line) for c in cases] == [
        ("a", {"q": 1}, None, 1),
        ("case-2", {"q": 2}, "two", 3),
    ]


def test_jsonl_bad_json_names_the_line() -> None:
    # Given bad JSON on line 4 / When parsed / Then line 4 is blamed
    err = _error('{"a": 1}\n\n{"a": 2}\n{bad}\n', "jsonl")
    assert err.message.startswith("line 4: invalid JSON")


def test_jsonl_duplicate_names_name_both_lines() -> None:
    # Given 'x' on lines 1 and 4 / When parsed / Then the error names both lines
    err = _error('{"name": "x"}\n{"name": "y"}\n\n{"name": "x"}\n', "jsonl")
    assert err.message == "line 4: duplicate case name 'x' (first on line 1)"


def test_jsonl_non_object_names_the_line() -> None:
    # Given an array on line 2 / When parsed / Then line 2 is blamed
    assert _error('{"a": 1}\n[1, 2]\n', "jsonl").message == "line 2: case 2 must be a JSON object"


def test_jsonl_too_many_cases_names_the_first_line_over() -> None:
    # Given three cases and a cap of two / When parsed / Then the line of the third is blamed
    err = _error('{"a": 1}\n\n{"a": 2}\n{"a": 3}\n', "jsonl", max_cases=2)
    assert err.message == "line 4: more than 2 cases in one import"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_blank_json_names_get_generated_names(fmt: importer.Format) -> None:
    # Given cases whose names are empty or only whitespace
    objects = [{"name": "   ", "q": 1}, {"name": "", "q": 2}, {"name": None, "q": 3}, {"name": " kept ", "q": 4}]
    content = json.dumps(objects) if fmt == "json" else "\n".join(json.dumps(o) for o in objects)
    # When they are parsed / Then they are named like unnamed cases (never ""), and real names are trimmed
    assert [c.name for c in importer.parse(content, fmt)] == ["case-1", "case-2", "case-3", "kept"]


def test_slash_in_a_case_name_is_refused_with_its_line() -> None:
    import pytest

    from evalgate import importer
    from evalgate.errors import InvalidInput

    with pytest.raises(InvalidInput, match="line 3: case name 'a/b' contains '/'"):
        importer.parse("name,x\nok,1\na/b,2\n", "csv")
    with pytest.raises(InvalidInput, match="not a string"):
        importer.parse('[{"name": true, "x": 1}]', "json")
