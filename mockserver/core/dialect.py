"""The few statements SQLite and PostgreSQL spell differently, decided in one place.

Callers build a statement once per dialect name (``conn.dialect.name``) and pick it at run
time; nothing else in the code needs to know which database holds the world.
"""

from __future__ import annotations

import re

from sqlalchemy import Column, ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Insert

INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def insert_or_ignore(table: Table) -> dict[str, Insert]:
    """``INSERT`` that does nothing when a unique key already exists, per dialect name."""
    return {name: build(table).on_conflict_do_nothing() for name, build in INSERTS.items()}


def upsert(table: Table, values: dict, index_elements: list, set_: dict) -> dict[str, Insert]:
    """``INSERT ... ON CONFLICT DO UPDATE`` per dialect name; ``set_`` may name
    ``"excluded.<column>"`` strings for the proposed row's values."""
    built = {}
    for name, build in INSERTS.items():
        statement = build(table).values(**values)
        changes = {
            key: getattr(statement.excluded, value[len("excluded.") :])
            if isinstance(value, str) and value.startswith("excluded.")
            else value
            for key, value in set_.items()
        }
        built[name] = statement.on_conflict_do_update(index_elements=index_elements, set_=changes)
    return built


def glob(dialect: str, column: Column, pattern: str) -> ColumnElement:
    """SQLite's ``GLOB`` (``*``, ``?``, ``[...]``, case-sensitive) on either database."""
    if dialect == "postgresql":
        return column.op("~")(glob_to_regex(pattern))
    return column.op("GLOB")(pattern)


def glob_to_regex(pattern: str) -> str:
    """A GLOB pattern as an anchored POSIX regular expression."""
    out, index = ["^"], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("^"):
                    body = "^" + body[1:].replace("\\", "\\\\")
                else:
                    body = body.replace("\\", "\\\\")
                out.append(f"[{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    out.append("$")
    return "".join(out)
