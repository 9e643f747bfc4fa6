"""Split MySQL scripts into statements the way the ``mysql`` client does.

pymysql runs one statement per call, so a product script (WSO2 dbscripts)
must be cut first. A naive ``split(";")`` breaks on semicolons inside quotes
and comments and on trigger/procedure bodies written under ``DELIMITER``;
this scanner follows the client's rules instead, and keeps each statement's
1-based script line so an error can point at the script, not at a buffer.

Rules (as in the mysql client): ``-- `` needs whitespace or end of line after
the dashes; ``#`` starts a line comment; ``/* */`` comments are dropped but
``/*! ... */`` (version) and ``/*+ ... */`` (optimizer hint) comments are kept
verbatim as part of the statement; '...', "..." take backslash escapes and
doubled quotes, `...` takes doubled backticks only; ``DELIMITER xx`` is
recognised at the start of a line while no statement is pending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import SqlError

_DELIMITER_RE = re.compile(r"[ \t]*delimiter[ \t]+(\S+)[^\n]*", re.IGNORECASE)
_CREATE_TABLE_RE = re.compile(
    r"^\s*CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:`?\w+`?\s*\.\s*)?(`[^`]+`|\w+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Statement:
    """One statement without its delimiter; ``line`` is where it starts (1-based)."""

    sql: str
    line: int


def _quoted_end(text: str, i: int) -> int:
    """Index just past the quoted token opening at ``text[i]``, or -1 if unterminated."""
    quote, j, n = text[i], i + 1, len(text)
    while j < n:
        ch = text[j]
        if ch == "\\" and quote != "`":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and text[j + 1] == quote:  # doubled quote is an escaped quote
                j += 2
                continue
            return j + 1
        j += 1
    return -1


def _is_dash_comment(text: str, i: int) -> bool:
    """``--`` opens a comment only when followed by whitespace/control or end of text."""
    if not text.startswith("--", i):
        return False
    return i + 2 >= len(text) or text[i + 2].isspace() or ord(text[i + 2]) < 32


def split_sql(text: str) -> list[Statement]:
    """Cut a MySQL script into statements; empty (comment-only) statements are dropped."""
    out: list[Statement] = []
    delim = ";"
    buf: list[str] = []
    start: int | None = None
    line, i, n = 1, 0, len(text)

    def finish() -> None:
        nonlocal buf, start
        sql = "".join(buf).strip()
        if sql:
            out.append(Statement(sql, start or line))
        buf, start = [], None

    while i < n:
        if (i == 0 or text[i - 1] == "\n") and start is None:
            m = _DELIMITER_RE.match(text, i)
            if m:
                delim = m.group(1)
                buf = []
                i = m.end()
                continue
        c = text[i]
        if c == "\n":
            line += 1
            buf.append(c)
            i += 1
        elif c in "'\"`":
            end = _quoted_end(text, i)
            if end < 0:
                raise SqlError(f"unterminated {c}-quoted string starting at script line {line}")
            chunk = text[i:end]
            start = start or line
            buf.append(chunk)
            line += chunk.count("\n")
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise SqlError(f"unterminated /* comment starting at script line {line}")
            chunk = text[i : end + 2]
            if chunk[2:3] in ("!", "+"):
                start = start or line
                buf.append(chunk)
            else:
                buf.append(" ")
            line += chunk.count("\n")
            i = end + 2
        elif c == "#" or _is_dash_comment(text, i):
            eol = text.find("\n", i)
            i = n if eol < 0 else eol
        elif text.startswith(delim, i):
            finish()
            i += len(delim)
        else:
            if start is None and not c.isspace():
                start = line
            buf.append(c)
            i += 1
    finish()
    return out


def create_table_names(statements: list[Statement]) -> list[str]:
    """Table names the script's CREATE TABLE statements make, in script order."""
    names: list[str] = []
    for st in statements:
        m = _CREATE_TABLE_RE.match(st.sql)
        if m:
            name = m.group(1).strip("`")
            if name not in names:
                names.append(name)
    return names
