"""evalgate.templating: {{variables}} are found in order and rendered; missing ones raise KeyError."""

from __future__ import annotations

import pytest

from evalgate.templating import render, variables_of


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("Hello {{name}} from {{ city }}", ["name", "city"]),
        ("{{b}} {{a}} {{b}} {{ a }}", ["b", "a"]),
        ("{{user.name}} / {{first-name}} / {{_x1}}", ["user.name", "first-name", "_x1"]),
        ("no variables here", []),
        ("{{}} {{ 1abc }} {{a b}} {single} {{{x}}}", ["x"]),
    ],
)
def test_variables_of_in_first_appearance_order_without_duplicates(template: str, names: list[str]) -> None:
    # Given a template / When its variables are read / Then they come once each, in order of first appearance
    assert variables_of(template) == names


def test_render_substitutes_every_occurrence_with_or_without_spaces() -> None:
    # Given a variable used twice and spaced braces / When rendered / Then all are substituted
    assert render("{{a}}-{{ a }}-{{  b  }}", {"a": "x", "b": "y"}) == "x-x-y"


def test_render_missing_variable_raises_key_error_naming_it() -> None:
    # Given a template with a variable the values lack
    # When it is rendered / Then KeyError names the missing variable
    with pytest.raises(KeyError) as info:
        render("Hi {{name}}, from {{city}}", {"name": "Ann"})
    assert info.value.args == ("city",)


def test_render_dotted_path_walks_nested_mappings() -> None:
    # Given nested values / When a dotted path is rendered / Then it walks the mappings
    values = {"user": {"profile": {"name": "Ann"}}, "n": 3}
    assert render("{{user.profile.name}} has {{ n }}", values) == "Ann has 3"


def test_render_literal_dotted_key_wins_over_the_path() -> None:
    # Given both a literal 'a.b' key and a nested a->b / When rendered / Then the literal key wins
    assert render("{{a.b}}", {"a.b": "literal", "a": {"b": "nested"}}) == "literal"


@pytest.mark.parametrize(
    "values",
    [
        {"user": {"profile": {}}},
        {"user": {"profile": "not a mapping"}},
        {"user": ["profile"]},
        {},
    ],
)
def test_render_broken_dotted_path_raises_key_error_with_the_full_path(values: dict) -> None:
    # Given a dotted path that breaks part-way / When rendered / Then KeyError names the full path
    with pytest.raises(KeyError) as info:
        render("{{user.profile.name}}", values)
    assert info.value.args == ("user.profile.name",)


def test_render_dict_and_list_values_as_json() -> None:
    # Given dict, list and float values / When rendered / Then containers are JSON (unicode kept)
    values = {"obj": {"k": "é", "n": [1, 2]}, "items": ["a", {"b": None}], "flag": 1.5}
    out = render("{{obj}} | {{items}} | {{flag}}", values)
    assert out == '{"k": "é", "n": [1, 2]} | ["a", {"b": null}] | 1.5'


def test_render_does_not_re_render_substituted_text() -> None:
    # Given a value that itself looks like a template
    # When it is rendered / Then it is inserted as-is, not expanded again
    assert render("{{a}}", {"a": "{{b}}", "b": "secret"}) == "{{b}}"


def test_render_leaves_text_that_is_not_a_variable() -> None:
    # Given braces that are not variables / When rendered / Then they stay as they are
    assert render("{x} {{ 1 }} {{a}}", {"a": "A"}) == "{x} {{ 1 }} A"


def test_non_strings_render_as_json() -> None:
    from evalgate.templating import render

    assert render("{{a}} {{b}} {{c}} {{d}}", {"a": True, "b": None, "c": 3, "d": [1, "x"]}) == 'true null 3 [1, "x"]'
