"""Operations on a MySQL/MariaDB server: ensure a database, a user, a grant; source
a product script once.

Each computes its plan (the SQL it would run, passwords shown as '***') before
touching anything, returns a ``Change``, and is idempotent: a second run is
``changed=False`` with an "already ..." summary.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..core.change import Change
from ..core.errors import SqlError
from ..facts.mysql import _granted, _password_matches, databases, grant_objects, grants, like_escape, \
    tables, user_exists
from ..remote.db import Db, DbError, IdentifierError, _lit, check_identifier, quote_ident
from ..remote.sqlsplit import create_table_names, split_sql

_WORD_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_PRIVILEGES = {
    "ALL", "ALL PRIVILEGES", "ALTER", "ALTER ROUTINE", "CREATE", "CREATE ROUTINE",
    "CREATE TEMPORARY TABLES", "CREATE VIEW", "DELETE", "DROP", "EVENT", "EXECUTE",
    "INDEX", "INSERT", "LOCK TABLES", "REFERENCES", "SELECT", "SHOW VIEW", "TRIGGER", "UPDATE",
}


def ensure_database(db: Db, name: str, charset: str = "latin1", collation: str | None = None,
                    dry_run: bool = False) -> Change:
    """Create the database if absent. latin1 by default: the kernel scripts' indexes exceed
    767 bytes under utf8mb4 on older servers (E4/E5); pass charset to choose. An existing
    database with another charset is reported, never altered."""
    q = quote_ident(check_identifier(name, "database name"))
    for word in (charset, collation):
        if word is not None and not _WORD_RE.match(word):
            raise IdentifierError(f"charset/collation {word!r} is not a plain name")
    target = f"database {name}"
    rows = db.query("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
                    "information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (name,))
    if rows:
        have = rows[0][0] if not collation else f"{rows[0][0]}/{rows[0][1]}"
        wanted = charset if not collation else f"{charset}/{collation}"
        if have.lower() == wanted.lower():
            return Change(target, False, f"already exists ({have})")
        return Change(target, False, f"exists with {have}, not {wanted}: left as is "
                      f"(ALTER DATABASE would only affect new tables; drop and recreate if empty)")
    sql = f"CREATE DATABASE {q} CHARACTER SET {charset}"
    sql += f" COLLATE {collation}" if collation else ""
    if not dry_run:
        db.execute(sql)
    return Change(target, True, ("would create" if dry_run else "created") + f" ({charset})",
                  commands=(sql,))


def ensure_user(db: Db, user: str, host: str, password: str, dry_run: bool = False) -> Change:
    """Create user@host, or set its password when it differs (E1: CREATE USER, not GRANT)."""
    check_identifier(user, "user name")
    if not host or len(host) > 255:
        raise IdentifierError(f"host {host!r} must be 1-255 characters")
    target, acct = f"user {user}@{host}", f"{_lit(user)}@{_lit(host)}"
    if not user_exists(db, user, host):
        sql, summary = "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", "created"
        shown = f"CREATE USER IF NOT EXISTS {acct} IDENTIFIED BY '***'"
    else:
        match, plugin = _password_matches(db, user, host, password)
        if match:
            return Change(target, False, "already exists, password matches")
        summary = "password updated" if match is False else "password set (old one not verifiable)"
        if db.is_mariadb and plugin not in ("mysql_native_password", ""):
            # MariaDB's ALTER USER ... IDENTIFIED BY would switch the account to native auth
            sql = "SET PASSWORD FOR %s@%s = PASSWORD(%s)"
            shown = f"SET PASSWORD FOR {acct} = PASSWORD('***')"
        else:
            sql = "ALTER USER %s@%s IDENTIFIED BY %s"
            shown = f"ALTER USER {acct} IDENTIFIED BY '***'"
    if not dry_run:
        db.execute(sql, (user, host, password), [password])
    return Change(target, True, ("would be " if dry_run else "") + summary, commands=(shown,))


def ensure_grant(db: Db, privileges: str | Iterable[str], database: str, user: str, host: str,
                 dry_run: bool = False, literal: bool = False) -> Change:
    """GRANT privileges ON database.* unless SHOW GRANTS already covers them.

    ``literal``: write the name with '_' escaped (`REGISTRY\\_DB`.*), so the grant
    covers that one database and not every name matching it as a LIKE pattern;
    then only a grant on exactly that pattern (or *.*) counts as "already granted".
    """
    check_identifier(user, "user name")
    check_identifier(database, "database name")
    privs = [privileges] if isinstance(privileges, str) else list(privileges)
    want = {" ".join(p.upper().split()) for p in privs}
    want = {"ALL PRIVILEGES" if p == "ALL" else p for p in want}
    bad = sorted(p for p in want if p not in _PRIVILEGES)
    if bad or not want:
        raise IdentifierError(f"unknown privilege(s) {bad or privs}: use e.g. 'ALL' or 'SELECT'")
    target = f"grant {', '.join(sorted(want))} on {database}.* to {user}@{host}"
    lines = grants(db, user, host)
    wide: set[str] = set()
    if literal:
        objects = grant_objects(lines)
        have = objects.get("*.*", set()) | objects.get(f"{like_escape(database)}.*", set())
        obj = f"`{like_escape(database)}`"
        if like_escape(database) != database:  # a grant written by hand with `_` unescaped also covers lookalikes
            wide = objects.get(f"{database}.*", set())
    else:
        have, obj = _granted(lines, database), quote_ident(database)
    granted = "ALL PRIVILEGES" in have or want <= have
    if granted and not wide:
        return Change(target, False, "already granted")
    sqls = [] if granted else [f"GRANT {', '.join(sorted(want))} ON {obj}.* TO %s@%s"]
    sqls += [f"REVOKE {', '.join(sorted(wide))} ON `{database}`.* FROM %s@%s"] if wide else []
    if not dry_run:
        for sql in sqls:
            db.execute(sql, (user, host))
    done = [w for w, on in (("grant", not granted), ("revoke the wildcard grant", bool(wide))) if on]
    summary = "would " + " and ".join(done) if dry_run else \
        " and ".join(done).replace("grant", "granted", 1).replace("revoke ", "revoked ")
    return Change(target, True, summary,
                  commands=tuple(sql.replace("%s@%s", f"{_lit(user)}@{_lit(host)}") for sql in sqls))


_ZERO_TS_RE = re.compile(r"\bTIMESTAMP\b[^,]*?\bDEFAULT\s+'?0+'?(?=[\s,)])", re.IGNORECASE)


def source_script_once(db: Db, database: str, script_text: str, script_name: str,
                       marker_tables: Iterable[str] | None = None, dry_run: bool = False,
                       relax_zero_dates: bool = False) -> Change:
    """Run a product SQL script into a database exactly once (E4: they are not re-runnable).

    "Already there" = every marker table (default: every CREATE TABLE of the script) exists;
    some but not all raises, never re-runs. Zero TIMESTAMP defaults (old kernel mysql.sql)
    under strict NO_ZERO_DATE are refused before anything runs unless ``relax_zero_dates``,
    which drops NO_ZERO_DATE/NO_ZERO_IN_DATE for this session while sourcing only.
    The connection's default database is switched back afterwards when it had one.
    """
    q = quote_ident(check_identifier(database, "database name"))
    statements = split_sql(script_text)
    markers = list(marker_tables) if marker_tables is not None else create_table_names(statements)
    if not markers:
        raise SqlError(f"{script_name}: no CREATE TABLE found, cannot tell whether it ran")
    target = f"{script_name} in {database}"
    exists = database in databases(db)
    present_upper = {t.upper() for t in tables(db, database)} if exists else set()
    present = [t for t in markers if t.upper() in present_upper]
    if len(present) == len(markers):
        return Change(target, False, f"already there ({len(present)} of {len(markers)} tables)")
    if present:
        missing = [t for t in markers if t.upper() not in present_upper]
        raise SqlError(
            f"{database} holds {len(present)} of {len(markers)} tables of {script_name} (missing: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}): an earlier run "
            f"stopped "
            f"half-way and the script is not re-runnable (ERRATA E4)",
            fix="drop the database and source again, or finish the missing objects by hand")
    if not exists and not dry_run:
        raise SqlError(f"database {database} does not exist: run ensure_database first")
    old_mode = str(db.query("SELECT @@SESSION.sql_mode")[0][0])
    modes = old_mode.upper().split(",")
    strict = any(m in modes for m in ("STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "TRADITIONAL"))
    zero = _ZERO_TS_RE.search("\n".join(s.sql for s in statements)) is not None
    new_mode = None
    if zero and strict and "NO_ZERO_DATE" in modes:
        if not relax_zero_dates:
            raise SqlError(f"{script_name} has TIMESTAMP DEFAULT 0 columns that this server's "
                           f"sql_mode ({old_mode}) rejects",
                           fix="source mysql5.7.sql (needs_57_script) or pass relax_zero_dates=True (ERRATA E4)")
        new_mode = ",".join(m for m in modes if m not in ("NO_ZERO_DATE", "NO_ZERO_IN_DATE"))
    commands = [f"USE {q}"] + ([f"SET SESSION sql_mode = {_lit(new_mode)}"] if new_mode is not None
                               else []) + [s.sql for s in statements]
    summary = f"{len(statements)} statements, {len(markers)} tables"
    if dry_run:
        return Change(target, True, f"would source ({summary})", commands=tuple(commands))
    previous = db.query("SELECT DATABASE()")[0][0]
    db.execute(f"USE {q}")
    try:
        if new_mode is not None:
            db.execute("SET SESSION sql_mode = %s", (new_mode,))
        for st in statements:
            try:
                db.execute(st.sql)
            except DbError as e:
                raise DbError(f"{script_name} line {st.line}: {e.args[0].splitlines()[0]}; "
                              f"{database} is now partial: drop it and source again",
                              st.sql, e.code) from e
    finally:
        if new_mode is not None:
            db.execute("SET SESSION sql_mode = %s", (old_mode,))
        if previous and previous != database:
            db.execute(f"USE {quote_ident(previous)}")
    return Change(target, True, f"sourced ({summary})", commands=tuple(commands))
