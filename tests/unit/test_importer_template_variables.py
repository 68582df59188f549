"""A CSV column that the prompt's template uses stays a variable even when it also names the case."""

from __future__ import annotations

from evalgate import importer

CSV = "name,expected_output\nAda,Hello Ada!\n"


def test_a_name_column_the_template_uses_stays_a_variable() -> None:
    [case] = importer.parse(CSV, "csv", template_variables=frozenset({"name"}))
    assert (case.name, case.variables, case.expected_output) == ("Ada", {"name": "Ada"}, "Hello Ada!")


def test_a_name_column_the_template_does_not_use_only_names_the_case() -> None:
    [case] = importer.parse(CSV, "csv", template_variables=frozenset({"who"}))
    assert (case.name, case.variables) == ("Ada", {})
