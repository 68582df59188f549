"""is-sql and contains-sql with promptfoo's semantics (0.123.1), on sqlglot's grammar.

promptfoo parses with node-sql-parser (`database` option, MySQL by default) and adds a few checks of its own
before trusting the parser: empty output, an odd number of backticks, two bare identifiers before FROM (a
likely missing comma), `generate_series` on MySQL. evalgate runs the same checks and parses with sqlglot in
the matching dialect; a statement sqlglot can only keep as an opaque command counts as not parsed.
`allowedTables` / `allowedColumns` are node-sql-parser's authority lists: each entry is a case-insensitive
regular expression matched against every `{statement}::{db or null}::{table}` / `{statement}::{table or
null}::{column}` the query touches; one unmatched authority fails the check. The grammars are not the same
program, so a rare statement may parse in one and not the other (docs/promptfoo.md lists the ones measured).
"""

from __future__ import annotations

import re
from typing import Any

from evalgate.scoring.base import Check, CheckError, Outcome, excerpt

# promptfoo's databaseType values -> sqlglot dialects
DIALECTS: dict[str, str] = {
    "MySQL": "mysql",
    "MariaDB": "mysql",
    "PostgresQL": "postgres",
    "Postgresql": "postgres",
    "PostgreSQL": "postgres",
    "Sqlite": "sqlite",
    "SQLite": "sqlite",
    "BigQuery": "bigquery",
    "TransactSQL": "tsql",
    "Snowflake": "snowflake",
    "Redshift": "redshift",
    "Hive": "hive",
    "Trino": "trino",
    "Db2": "postgres",
    "FlinkSQL": "postgres",
    "Athena": "athena",
    "Noql": "mysql",
}
DEFAULT_DATABASE = "MySQL"

_STANDARD_MODIFIERS = r"(?:all|distinct)"
_MYSQL_MODIFIERS = (
    r"(?:all|distinct(?:row)?|high_priority|straight_join|"
    r"sql_(?:big_result|buffer_result|cache|calc_found_rows|no_cache|small_result))"
)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def _missing_comma(modifiers: str) -> re.Pattern[str]:
    # `SELECT a b FROM`: two bare words before FROM (a modifier such as DISTINCT is not one of them)
    return re.compile(rf"\bselect\s+(?:{modifiers}\s+)*(?!{modifiers}\b){_IDENT}\s+{_IDENT}\s+from\b", re.I)


_MISSING_COMMA = {"standard": _missing_comma(_STANDARD_MODIFIERS), "mysql": _missing_comma(_MYSQL_MODIFIERS)}
_MYSQL_FAMILY = frozenset({"MySQL", "MariaDB"})
_BRACKET_IDENTIFIERS = frozenset({"TransactSQL", "Sqlite", "SQLite"})
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def _quoted_end(sql: str, start: int, quote: str) -> int:
    closing = "]" if quote == "[" else quote
    i = start + 1
    while i < len(sql):
        if closing != "]" and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == closing:
            if i + 1 < len(sql) and sql[i + 1] == closing:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def strip_ignored(sql: str, database: str) -> str:
    """The SQL with quoted text, identifiers and comments blanked out (so the heuristics see only keywords)."""
    brackets = database in _BRACKET_IDENTIFIERS
    chunks: list[str] = []
    plain = i = 0
    while i < len(sql):
        ch = sql[i]
        end: int | None = None
        replacement = " "
        if ch in "'\"`" or (ch == "[" and brackets):
            end, replacement = _quoted_end(sql, i, ch), " ? "
        elif (ch == "-" and sql[i + 1 : i + 2] == "-") or ch == "#":
            end = i + 1
            while end < len(sql) and sql[end] not in "\r\n":
                end += 1
        elif ch == "/" and sql[i + 1 : i + 2] == "*":
            close = sql.find("*/", i + 2)
            end = len(sql) if close == -1 else close + 2
        elif ch == "$":
            match = _DOLLAR_QUOTE.match(sql, i)
            if match:
                close = sql.find(match.group(), i + len(match.group()))
                end = len(sql) if close == -1 else close + len(match.group())
                replacement = " ? "
        if end is None:
            i += 1
            continue
        chunks += [sql[plain:i], replacement]
        i = plain = end
    chunks.append(sql[plain:])
    return "".join(chunks)


def _parse(sql: str, database: str) -> list[Any] | None:
    """The parsed statements, or None when sqlglot cannot parse the text as SQL of that dialect."""
    # lazy: sqlglot (a 3 MB pure-Python parser) loads only for SQL assertions (cold start)
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        trees = sqlglot.parse(sql, read=DIALECTS.get(database, "mysql"))
    except (SqlglotError, RecursionError, ValueError):
        return None
    statements = [tree for tree in trees if tree is not None]
    if not statements or any(isinstance(tree, exp.Command) for tree in statements):
        return None
    return statements


def syntax_ok(sql: str, database: str) -> bool:
    text = sql.strip()
    if not text:
        return False
    if text.count("`") % 2:
        return False
    family = "mysql" if database in _MYSQL_FAMILY else "standard"
    if _MISSING_COMMA[family].search(strip_ignored(text, database)):
        return False
    if database == "MySQL" and re.search(r"\bgenerate_series\s*\(", text, re.I):
        return False
    return _parse(sql, database) is not None


# --- authority lists (node-sql-parser's tableList / columnList) ------------------------------------------------


def _kind(statement: Any) -> str:
    # lazy: as in _parse
    from sqlglot import exp

    for cls, name in ((exp.Insert, "insert"), (exp.Update, "update"), (exp.Delete, "delete")):
        if isinstance(statement, cls):
            return name
    return "select"


def _target(statement: Any) -> Any:
    """The table a write statement changes (None for a query)."""
    # lazy: as in _parse
    from sqlglot import exp

    if isinstance(statement, exp.Insert | exp.Update | exp.Delete):
        node = statement.this
        if isinstance(node, exp.Schema):
            node = node.this
        return node if isinstance(node, exp.Table) else None
    return None


def table_authorities(statements: list[Any]) -> list[str]:
    # lazy: as in _parse
    from sqlglot import exp

    seen: list[str] = []
    for statement in statements:
        kind = _kind(statement)
        target = _target(statement)
        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            if not table.name or (table.name.lower() in ctes and not table.db):
                continue
            db = table.db or "null"
            authority = f"{kind if table is target else 'select'}::{db}::{table.name}"
            if authority not in seen:
                seen.append(authority)
        for name in sorted(ctes):  # node-sql-parser lists a CTE's name as a table read
            authority = f"select::null::{name}"
            if authority not in seen:
                seen.append(authority)
    return seen


def column_authorities(statements: list[Any]) -> list[str]:
    # lazy: as in _parse
    from sqlglot import exp

    seen: list[str] = []

    def add(authority: str) -> None:
        if authority not in seen:
            seen.append(authority)

    for statement in statements:
        kind = _kind(statement)
        target = _target(statement)
        aliases = {t.alias_or_name: t.name for t in statement.find_all(exp.Table) if t.name}
        written: set[int] = set()
        if kind == "insert" and isinstance(statement.this, exp.Schema) and target is not None:
            for column in statement.this.expressions:
                written.add(id(column))
                add(f"insert::{target.name}::{column.name}")
        if kind == "update":
            for assignment in statement.expressions:
                column = assignment.this if isinstance(assignment, exp.EQ) else None
                if isinstance(column, exp.Column):
                    written.add(id(column))
                    add(f"update::{aliases.get(column.table, column.table) or 'null'}::{column.name}")
        if kind == "delete" and target is not None:
            add(f"delete::{target.name}::(.*)")
        for star in statement.find_all(exp.Star):
            if isinstance(star.parent, exp.Select | exp.Column):
                add("select::null::(.*)")
        for column in statement.find_all(exp.Column):
            if id(column) in written or isinstance(column.this, exp.Star):
                continue
            table = aliases.get(column.table, column.table) if column.table else "null"
            add(f"select::{table}::{column.name}")
    return seen


def _unauthorized(authorities: list[str], allowed: list[str]) -> str | None:
    patterns = []
    for item in allowed:
        try:
            patterns.append(re.compile(f"^(?:{item})$", re.I))
        except re.error:
            patterns.append(re.compile(f"^{re.escape(item)}$", re.I))
    for authority in authorities:
        if not any(p.match(authority) for p in patterns):
            return authority
    return None


# --- checks --------------------------------------------------------------------------------------------------


def _options(c: Check) -> tuple[str, list[str] | None, list[str] | None]:
    value = c.spec.get("value")
    if value is None:
        return DEFAULT_DATABASE, None, None
    if not isinstance(value, dict):
        raise CheckError("is-sql assertion must have a object value.")
    return value.get("databaseType") or DEFAULT_DATABASE, value.get("allowedTables"), value.get("allowedColumns")


def _is_sql(sql: str, database: str, tables: list[str] | None, columns: list[str] | None) -> tuple[bool, list[str]]:
    """(passes, failure reasons) of the un-negated check."""
    reasons: list[str] = []
    syntax = f"SQL statement does not conform to the provided {database} database syntax."
    ok = syntax_ok(sql, database)
    if not ok:
        reasons.append(syntax)
    statements = _parse(sql, database) if (tables or columns) else None
    for allowed, kind, authorities in (
        (tables, "table", table_authorities),
        (columns, "column", column_authorities),
    ):
        if not allowed:
            continue
        if kind == "column":  # promptfoo also accepts `type::null::col` for every `type::table::col` it allows
            allowed = allowed + [
                f"{p[0]}::null::{p[2]}" for p in (a.split("::") for a in allowed) if len(p) == 3 and p[1] != "null"
            ]
        if statements is None:
            ok = False
            reasons.append(f"SQL validation failed: the {kind} list could not be read from the statement.")
            continue
        found = authorities(statements)
        denied = _unauthorized(found, allowed)
        if denied is not None:
            ok = False
            original = tables if kind == "table" else columns
            reasons.append(
                f"SQL references unauthorized {kind}(s). Found: [{', '.join(found)}]. "
                f"Allowed: [{', '.join(original or [])}]."
            )
    return ok, reasons


def check_is_sql(c: Check) -> Outcome:
    database, tables, columns = _options(c)
    ok, reasons = _is_sql(c.output, database, tables, columns)
    reason = f"The output is valid {database} SQL." if ok else " ".join(reasons)
    return Outcome(ok, float(ok), f"valid {database} SQL", excerpt(c.output), reason)


_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})(.*)$")


def sql_code_blocks(text: str) -> list[str]:
    """The bodies of fenced code blocks tagged `sql` or untagged (CommonMark fences of ``` or ~~~)."""
    blocks: list[str] = []
    active: tuple[str, int, bool, list[str]] | None = None
    for line in re.split(r"\r\n?|\n", text):
        fence = _FENCE.match(line)
        if active is None:
            if fence:
                info = fence.group(2).strip().lower()
                active = (fence.group(1)[0], len(fence.group(1)), info in ("", "sql"), [])
            continue
        char, length, is_sql, body = active
        if fence and not fence.group(2).strip() and fence.group(1)[0] == char and len(fence.group(1)) >= length:
            if is_sql:
                blocks.append("\n".join(body).strip())
            active = None
        else:
            body.append(line)
    return blocks


def check_contains_sql(c: Check) -> Outcome:
    database, tables, columns = _options(c)
    candidates = sql_code_blocks(c.output) or [c.output]
    found = False
    reason = "Output does not contain valid SQL"
    for candidate in candidates:
        if not candidate.strip():
            continue
        ok, reasons = _is_sql(candidate, database, tables, columns)
        if ok:
            found = True
            break
        reason = " ".join(reasons)
    if found:
        reason = f"The output contains valid {database} SQL."
    elif reason == "Output does not contain valid SQL":
        reason += "."
    return Outcome(found, float(found), f"valid {database} SQL", excerpt(c.output), reason)
