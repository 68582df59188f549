"""Writes tests/unit/scoring/promptfoo_parity/cases.json: assertion/output pairs that tools/promptfoo/parity.py runs
through both promptfoo and evalgate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CASES: list[dict[str, Any]] = []


def case(assertion: dict[str, Any], output: str, **extra: Any) -> None:
    CASES.append({"id": f"{len(CASES):03d}-{assertion['type']}", "assertion": assertion, "output": output, **extra})


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
        },
    }
]

for neg in ("", "not-"):
    case({"type": f"{neg}equals", "value": "Paris"}, "Paris")
    case({"type": f"{neg}equals", "value": "Paris"}, "Paris.")
    case({"type": f"{neg}equals", "value": 42}, "42")
    case({"type": f"{neg}equals", "value": {"a": 1, "b": [1, 2]}}, '{"b": [1, 2.0], "a": 1}')
    case({"type": f"{neg}equals", "value": {"a": 1}}, "not json")
    case({"type": f"{neg}equals", "value": "café"}, "café")
    case({"type": f"{neg}contains", "value": "Hello"}, "Hello Dr. Smith")
    case({"type": f"{neg}contains", "value": "hello"}, "Hello Dr. Smith")
    case({"type": f"{neg}contains", "value": 42}, "the answer is 42")
    case({"type": f"{neg}icontains", "value": "ÉTÉ"}, "un été chaud")
    case({"type": f"{neg}contains-any", "value": "cat, dog"}, "a dog")
    case({"type": f"{neg}contains-any", "value": '"a, b", c'}, "x a, b y")
    case({"type": f"{neg}contains-any", "value": '"a, b", c'}, "x a y b")
    case({"type": f"{neg}contains-all", "value": ["cat", "dog"]}, "cat and dog")
    case({"type": f"{neg}contains-all", "value": "cat,,dog , bird"}, "cat and dog")
    case({"type": f"{neg}icontains-any", "value": ["CAT", "x"]}, "a cat")
    case({"type": f"{neg}icontains-all", "value": 'CAT, "Dog ""big"""'}, 'cat dog "big"')
    case({"type": f"{neg}starts-with", "value": "Yes"}, "Yes, indeed")
    case({"type": f"{neg}starts-with", "value": "Yes"}, "  Yes")
    case({"type": f"{neg}regex", "value": "\\d{4}"}, "in 2024")
    case({"type": f"{neg}regex", "value": "^hello$"}, "hello\nworld")
    case({"type": f"{neg}is-json"}, ' {"a": [1, null]} ')
    case({"type": f"{neg}is-json"}, '```json\n{"a": 1}\n```')
    case({"type": f"{neg}is-json"}, "42")
    case(
        {
            "type": f"{neg}is-json",
            "value": {"type": "object", "required": ["lat"], "properties": {"lat": {"maximum": 90}}},
        },
        '{"lat": 95}',
    )
    case(
        {"type": f"{neg}is-json", "value": "type: object\nrequired: [name]\nproperties:\n  name: {type: string}"},
        '{"name": "Ada"}',
    )
    case({"type": f"{neg}is-json", "value": '{"type": "object", "required": ["name"]}'}, '{"nom": "Ada"}')
    case(
        {"type": f"{neg}is-json", "value": {"properties": {"email": {"type": "string", "format": "email"}}}},
        '{"email": "not-an-email"}',
    )
    case(
        {"type": f"{neg}is-json", "value": {"properties": {"d": {"type": "string", "format": "date-time"}}}},
        '{"d": "2024-02-30T10:00:00Z"}',
    )
    case(
        {"type": f"{neg}is-json", "value": {"properties": {"u": {"format": "uuid"}}}},
        '{"u": "123e4567-e89b-12d3-a456-426614174000"}',
    )
    case({"type": f"{neg}contains-json"}, 'Here: {"a": 1} done')
    case({"type": f"{neg}contains-json"}, "Here: {a: 1} done")
    case({"type": f"{neg}contains-json"}, "no json [1, 2]")
    case({"type": f"{neg}contains-json"}, 'cut off {"a": {"b": 1}')
    case({"type": f"{neg}contains-json", "value": {"required": ["b"]}}, 'first {"a": 1} then {"b": 2} end')
    case({"type": f"{neg}levenshtein", "value": "kitten"}, "sitting")
    case({"type": f"{neg}levenshtein", "value": "kitten", "threshold": 2}, "sitting")
    case({"type": f"{neg}word-count", "value": 3}, "one two  three")
    case({"type": f"{neg}word-count", "value": {"min": 2, "max": 3}}, " a b c d ")
    case({"type": f"{neg}word-count", "value": "2"}, "two words")

for neg in ("", "not-"):
    for ref, out in [
        ("the cat sat on the mat", "the cat sat on the mat"),
        ("The cat sat down", "the cat sat down."),
        ("the cat sat", "The cat sat down."),
        ("Hello, world! Don't stop.", "hello world do not stop"),
        ("the quick brown fox jumps over the lazy dog", "a quick brown dog jumps over the lazy fox"),
        ("Paris is the capital of France.", "The capital of France is Paris."),
        ("élan vital, naïve café", "naïve café élan"),
    ]:
        case({"type": f"{neg}rouge-n", "value": ref}, out)
        case({"type": f"{neg}bleu", "value": ref}, out)
        case({"type": f"{neg}gleu", "value": ref}, out)
    case(
        {"type": f"{neg}bleu", "value": ["the cat is on the mat", "there is a cat on the mat"]},
        "the cat the cat on the mat",
    )
    case({"type": f"{neg}gleu", "value": ["the cat is on the mat", "there is a cat on the mat"]}, "the cat on the mat")
    case({"type": f"{neg}bleu", "value": "Paris"}, "Paris")
    case({"type": f"{neg}rouge-n", "value": "hello world", "threshold": 0.5}, "")
    case({"type": f"{neg}bleu", "value": "hello world"}, "   ")
    case({"type": f"{neg}gleu", "value": "hello world."}, "Hello world")
    case({"type": f"{neg}is-xml"}, "<note><to>Ada</to></note>")
    case({"type": f"{neg}is-xml"}, "<note><to>Ada</note>")
    case({"type": f"{neg}is-xml", "value": "note.to, note.from"}, "<note><to>Ada</to><from>Bob</from></note>")
    case({"type": f"{neg}is-xml", "value": ["note.body"]}, "<note><to>Ada</to></note>")
    case({"type": f"{neg}is-xml"}, "plain text")
    case({"type": f"{neg}contains-xml"}, "Sure: <a><b>1</b></a> done")
    case({"type": f"{neg}contains-xml", "value": "a.c"}, "Sure: <a><b>1</b></a>")
    case({"type": f"{neg}contains-xml"}, "no tags here")
    case({"type": f"{neg}is-html"}, "<div><p>Hello</p></div>")
    case({"type": f"{neg}is-html"}, "Hello <b>there</b>")
    case({"type": f"{neg}is-html"}, "<!DOCTYPE html><html><body><h1>Hi</h1></body></html>")
    case({"type": f"{neg}is-html"}, "")
    case({"type": f"{neg}is-html"}, "<?xml version='1.0'?><a/>")
    case({"type": f"{neg}contains-html"}, "See <p>this</p>")
    case({"type": f"{neg}contains-html"}, "a < b and c > d")
    case({"type": f"{neg}contains-html"}, "Tom &amp; Jerry <br/>")
    case({"type": f"{neg}is-refusal"}, "I'm sorry, I can't help with that.")
    case({"type": f"{neg}is-refusal"}, "I\u2019m unable to provide that information.")
    case({"type": f"{neg}is-refusal"}, "Paris is the capital.")
    case({"type": f"{neg}is-refusal"}, "   ")
    case({"type": f"{neg}is-refusal"}, "As an AI, I think Paris.")
    case({"type": f"{neg}finish-reason", "value": "stop"}, "x", finishReason="STOP")
    case({"type": f"{neg}finish-reason", "value": "stop"}, "x", finishReason="length")
    case({"type": f"{neg}finish-reason", "value": "stop"}, "x")
    case({"type": f"{neg}perplexity", "threshold": 2}, "x", logProbs=[-0.1, -0.3])
    case({"type": f"{neg}perplexity", "threshold": 1.1}, "x", logProbs=[-0.1, -0.3])
    case({"type": f"{neg}perplexity-score", "threshold": 0.4}, "x", logProbs=[-0.2])
    case({"type": f"{neg}perplexity-score", "threshold": 0.5}, "x", logProbs=[-0.2, -0.9])

# SQL: promptfoo parses with node-sql-parser, evalgate with sqlglot plus promptfoo's own pre-checks.
SQL = [
    "SELECT id, name FROM users",
    "SELECT * FROM orders ORDERY BY order_date",
    "SELECT first_name, last_name FROM employees WHERE first_name ='Jane'",
    "SELECT * FROM products LIMIT 10 OFFSET 5",
    "SELEC * FROM users",
    "SELECT * FROM",
    "Hello, I am not SQL",
    "",
    "UPDATE employees SET salary = salary * 1.1 WHERE department_id = 3",
    "DELETE FROM users WHERE id = 5",
    "INSERT INTO users (id, name) VALUES (1, 'a')",
    "SELECT * FROM users; SELECT * FROM orders",
    "SELECT id FROM users WHERE",
    "SELECT COUNT(*) FROM sales WHERE product = 'bananas' AND sale_date >= DATE_SUB(CURDATE(), INTERVAL 1 MONTH)",
    "SELECT a FROM t1 JOIN t2 ON t1.id = t2.id",
    "CREATE TABLE t (id INT PRIMARY KEY)",
    "SELECT * FROM users WHERE id IN (SELECT user_id FROM orders)",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
    "SELECT * FROM `users`",
    "SELECT * FROM `users",
    "SELECT name email FROM users",
    "SELECT DISTINCT name FROM users",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT * FROM users ORDER BY",
    "SELECT * FROM users WHERE name = 'it''s'",
    "SELECT name, FROM users",
]
for neg in ("", "not-"):
    for sql in SQL[: (len(SQL) if not neg else 8)]:
        differs = None
        if sql == "SELECT name, FROM users":
            differs = "sqlglot accepts a trailing comma before FROM; node-sql-parser does not"
        case({"type": f"{neg}is-sql"}, sql, **({"differs": differs} if differs else {}))
    case({"type": f"{neg}is-sql", "value": {"databaseType": "PostgresQL"}}, "SELECT * FROM users WHERE id = $1")
    case({"type": f"{neg}is-sql", "value": {"databaseType": "TransactSQL"}}, "SELECT TOP 10 * FROM users")
    case({"type": f"{neg}is-sql"}, "SELECT TOP 10 * FROM users")
    case(
        {"type": f"{neg}is-sql", "value": {"allowedTables": ["(select|update|insert|delete)::null::departments"]}},
        "SELECT name FROM departments",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedTables": ["(select|update|insert|delete)::null::departments"]}},
        "SELECT name FROM employees",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedTables": ["select::null::users"]}},
        "DELETE FROM users WHERE id = 5",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedColumns": ["select::null::name", "update::null::id"]}},
        "SELECT name FROM departments",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedColumns": ["select::null::name", "update::null::id"]}},
        "SELECT name, salary FROM departments",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedColumns": ["select::departments::name"]}},
        "SELECT d.name FROM departments d",
    )
    case(
        {"type": f"{neg}is-sql", "value": {"allowedColumns": ["select::null::id"]}},
        "SELECT * FROM users",
    )
    case(
        {
            "type": f"{neg}is-sql",
            "value": {"allowedTables": ["update::null::employees"], "allowedColumns": ["update::null::salary"]},
        },
        "UPDATE employees SET salary = 1 WHERE id = 3",
    )
    case({"type": f"{neg}contains-sql"}, "Here you go:\n```sql\nSELECT id FROM users\n```\nEnjoy.")
    case({"type": f"{neg}contains-sql"}, "Here you go:\n```sql\nSELEC id FROM users\n```")
    case({"type": f"{neg}contains-sql"}, "```python\nprint(1)\n```\n```\nSELECT 1 FROM t\n```")
    case({"type": f"{neg}contains-sql"}, "SELECT id FROM users")
    case({"type": f"{neg}contains-sql"}, "No SQL here at all.")
    case({"type": f"{neg}contains-sql"}, "```sql\n\n```")
    case(
        {"type": f"{neg}contains-sql", "value": {"allowedTables": ["select::null::users"]}},
        "```sql\nSELECT id FROM orders\n```",
    )

(Path(__file__).parents[2] / "tests/unit/scoring/promptfoo_parity/cases.json").write_text(
    json.dumps(CASES, indent=1, ensure_ascii=False) + "\n"
)
print(len(CASES), "cases")
