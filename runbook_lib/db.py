"""The MySQL/MariaDB layer: a small pymysql wrapper, read-only facts, and operations.

Facts only read. Operations compute their plan (the SQL they would run, with
passwords shown as '***') before touching anything, return a ``Change``, and
are idempotent: a second run is ``changed=False`` with an "already ..." summary.
Values (passwords, hosts, user names) always travel as pymysql parameters;
only identifiers checked by ``check_identifier`` are written into SQL text.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

import pymysql

from .change import Change
from .errors import SqlError
from .sqlsplit import create_table_names, split_sql

_HINTS = {
    1044: "the account lacks privileges on that database: grant them (ensure_grant)",
    1045: "check the user name and password, and that the account's host part matches "
    "the address you connect from (SELECT user, host FROM mysql.user)",
    1049: "the database does not exist: create it first (ensure_database) or fix the name",
    1064: "the server rejected the syntax: check the server version; GRANT ... IDENTIFIED BY "
    "is gone in MySQL 8 (ERRATA E1)",
    1067: "strict sql_mode rejects zero TIMESTAMP defaults: source mysql5.7.sql (ERRATA E4)",
    1071: "index too long for the charset: create the database with latin1 (ERRATA E4/E5)",
    1709: "index column over 767 bytes (COMPACT rows): use a latin1 database (ERRATA E4/E5)",
    1396: "CREATE/ALTER/DROP USER failed: the account already exists or does not exist; "
    "check user@host spelling",
    1410: "MySQL 8 no longer creates users in GRANT: CREATE USER first, then GRANT (ERRATA E1)",
    2003: "no server listening there: check the server runs, bind-address, port, "
    "firewall, or the SSH tunnel",
    2013: "the connection dropped: check the server log and network",
}
_IDENT_RE = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_WORD_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_PRIVILEGES = {
    "ALL", "ALL PRIVILEGES", "ALTER", "ALTER ROUTINE", "CREATE", "CREATE ROUTINE",
    "CREATE TEMPORARY TABLES", "CREATE VIEW", "DELETE", "DROP", "EVENT", "EXECUTE",
    "INDEX", "INSERT", "LOCK TABLES", "REFERENCES", "SELECT", "SHOW VIEW", "TRIGGER", "UPDATE",
}


class DbError(SqlError):
    """A server or driver error; ``code`` is the MySQL error number (None if unknown)."""

    def __init__(self, message: str, statement: str = "", code: int | None = None) -> None:
        self.code = code
        super().__init__(message, statement)


class IdentifierError(SqlError, ValueError):
    """A database or user name that is not safe to write into SQL text."""


def _wrap(e: Exception, statement: str = "", secrets: Iterable[str] = ()) -> DbError:
    """A DbError with the error code and a one-line fix; secrets masked in the text."""
    code = e.args[0] if e.args and isinstance(e.args[0], int) else None
    msg = str(e.args[1]) if code is not None and len(e.args) > 1 else str(e)
    for s in secrets:
        if s:
            msg = msg.replace(s, "***")
    hint = _HINTS.get(code or 0)
    text = f"MySQL error {code}: {msg}" if code else f"MySQL error: {msg}"
    return DbError(text + (f". Fix: {hint}" if hint else ""), statement, code)


def check_identifier(name: str, what: str = "identifier") -> str:
    """Accept only [A-Za-z0-9_$], 1..64 chars, not all digits: safe inside backticks anywhere."""
    if not isinstance(name, str) or not _IDENT_RE.match(name) or name.isdigit():
        raise IdentifierError(
            f"{what} {name!r} is not allowed: use 1-64 letters, digits, '_' or '$', not only digits"
        )
    return name


def quote_ident(name: str) -> str:
    """Backtick-quote a checked identifier."""
    return f"`{check_identifier(name)}`"


def _lit(value: str) -> str:
    """A SQL string literal for display only (plans); execution uses parameters."""
    return "'" + pymysql.converters.escape_string(value) + "'"


class Db:
    """One pymysql connection. ``tunnel`` (anything with ``.local_port``) routes via loopback."""

    def __init__(self, conn: Any, host: str, port: int, connect_timeout: int, tunnel: Any = None):
        self.conn, self.host, self.port = conn, host, port
        self.connect_timeout, self.tunnel = connect_timeout, tunnel
        self._version: str | None = None

    @staticmethod
    def _endpoint(host: str, port: int, tunnel: Any) -> tuple[str, int]:
        return ("127.0.0.1", int(tunnel.local_port)) if tunnel is not None else (host, int(port))

    @classmethod
    def connect(cls, host: str, port: int, user: str, password: str, database: str | None = None,
                connect_timeout: int = 10, tunnel: Any = None) -> "Db":
        """Open a connection (autocommit; DDL commits anyway) or raise DbError with a hint."""
        h, p = cls._endpoint(host, port, tunnel)
        try:
            conn = pymysql.connect(host=h, port=p, user=user, password=password, database=database,
                                   connect_timeout=connect_timeout, autocommit=True,
                                   charset="utf8mb4")
        except pymysql.MySQLError as e:
            where = f"{user}@{host}:{port}" + (f" via tunnel :{p}" if tunnel is not None else "")
            raise _wrap(e, f"connect {where}", [password]) from e
        return cls(conn, host, port, connect_timeout, tunnel)

    def query(self, sql: str, params: tuple | list = (),
              secrets: Iterable[str] = ()) -> list[tuple]:
        """Rows as tuples. Without params the SQL is sent as is ('%' needs no escaping)."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, tuple(params) if params else None)
                return list(cur.fetchall())
        except pymysql.MySQLError as e:
            raise _wrap(e, sql, secrets) from e

    def execute(self, sql: str, params: tuple | list = (), secrets: Iterable[str] = ()) -> int:
        """Run one statement; returns the affected row count."""
        try:
            with self.conn.cursor() as cur:
                return int(cur.execute(sql, tuple(params) if params else None))
        except pymysql.MySQLError as e:
            raise _wrap(e, sql, secrets) from e

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Db":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def server_version(self) -> str:
        """SELECT VERSION(), e.g. '8.0.36' or '10.11.6-MariaDB-0+deb12u1'."""
        if self._version is None:
            self._version = str(self.query("SELECT VERSION()")[0][0])
        return self._version

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self.server_version().lower()

    def try_login(self, user: str, password: str) -> int:
        """0 if user/password logs in at this server's endpoint, else the error code."""
        h, p = self._endpoint(self.host, self.port, self.tunnel)
        try:
            pymysql.connect(host=h, port=p, user=user, password=password,
                            connect_timeout=self.connect_timeout).close()
            return 0
        except pymysql.MySQLError as e:
            return e.args[0] if e.args and isinstance(e.args[0], int) else -1


# ---------------------------------------------------------------- facts (read only)

def databases(db: Db) -> set[str]:
    return {r[0] for r in db.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")}


def tables(db: Db, database: str) -> set[str]:
    """Base tables of ``database`` (names as the server stores them)."""
    rows = db.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                    "AND TABLE_TYPE='BASE TABLE'", (database,))
    return {r[0] for r in rows}


def database_charset(db: Db, name: str) -> str:
    """Default charset of a database, '' if it does not exist."""
    rows = db.query("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                    "WHERE SCHEMA_NAME=%s", (name,))
    return str(rows[0][0]) if rows else ""


def user_exists(db: Db, user: str, host: str) -> bool:
    return bool(db.query("SELECT 1 FROM mysql.user WHERE User=%s AND Host=%s", (user, host)))


_PW_HASH_RE = re.compile(r"(IDENTIFIED (?:BY PASSWORD|VIA \S+ USING|WITH \S+ AS) )'[^']*'", re.I)


def grants(db: Db, user: str, host: str) -> list[str]:
    """SHOW GRANTS lines for user@host ([] if no such account); password hashes masked
    (MariaDB prints them, and a native hash is enough to log in with a patched client)."""
    if not user_exists(db, user, host):
        return []
    rows = db.query("SHOW GRANTS FOR %s@%s", (user, host))
    return [_PW_HASH_RE.sub(r"\1'***'", r[0]) for r in rows]


def client_host(db: Db) -> str:
    """The host part the server sees for this connection (USER() after the '@')."""
    return str(db.query("SELECT USER()")[0][0]).rpartition("@")[2]


def needs_57_script(server_version: str) -> bool:
    """True when the kernel's mysql5.7.sql must be sourced instead of mysql.sql (E4/E6).

    mysql.sql has ``TIMESTAMP NOT NULL DEFAULT 0``, which strict mode with
    NO_ZERO_DATE rejects (MySQL 5.7+ default); mysql5.7.sql uses CURRENT_TIMESTAMP
    defaults, valid from MySQL 5.6.5 / MariaDB 10.0. We pick it for MySQL >= 5.7 and
    MariaDB >= 10.2 (where strict mode became the default), as WSO2 documents;
    older servers keep mysql.sql. Accepts VERSION() text and the '5.5.5-' prefix
    MariaDB puts in its handshake.
    """
    v = server_version.strip()
    mariadb = "mariadb" in v.lower()
    if mariadb and v.startswith("5.5.5-"):
        v = v[len("5.5.5-"):]
    m = re.match(r"(\d+)\.(\d+)", v)
    if not m:
        raise ValueError(f"cannot read a version from {server_version!r}")
    major_minor = (int(m.group(1)), int(m.group(2)))
    return major_minor >= ((10, 2) if mariadb else (5, 7))


def _like(pattern: str, value: str) -> bool:
    """MySQL LIKE semantics for grant/host patterns: '%', '_', backslash escapes."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            rx += re.escape(pattern[i])
        else:
            rx += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL) is not None


_GRANT_RE = re.compile(r"^GRANT (.+?) ON (?:TABLE |FUNCTION |PROCEDURE )?(\S+) TO ", re.I)


def _granted(lines: list[str], database: str) -> set[str]:
    """Privileges the grant lines give on ``database``.* (from *.* or a db-level grant)."""
    got: set[str] = set()
    for line in lines:
        m = _GRANT_RE.match(line)
        if not m:
            continue
        obj = m.group(2)
        if obj != "*.*":
            dbpart, _, tbl = obj.partition(".")
            if tbl != "*" or not _like(dbpart.strip("`'\""), database):
                continue
        got |= {p.strip().upper() for p in m.group(1).split(",")}
    return got


def _login_check(db: Db, user: str, host: str, password: str) -> bool | None:
    """Try a login as user; a refusal counts as 'differs' only when the account's host
    pattern covers the host the server sees us as (else another account answered)."""
    code = db.try_login(user, password)
    if code == 0:
        return True
    return False if code == 1045 and _like(host, client_host(db)) else None


def _password_matches(db: Db, user: str, host: str, password: str) -> tuple[bool | None, str]:
    """(matches, plugin): matches is True/False when we can tell, None when we cannot.

    mysql_native_password: compare the stored hash with '*'+SHA1(SHA1(pw)) computed here,
    with no login (no failed-login counters touched). Other plugins: ``_login_check``.
    The password is never stored.
    """
    rows = db.query("SELECT plugin, authentication_string FROM mysql.user WHERE User=%s AND "
                    "Host=%s", (user, host))
    plugin, stored = (str(rows[0][0] or ""), str(rows[0][1] or "")) if rows else ("", "")
    if plugin in ("mysql_native_password", "") and stored.startswith("*"):
        want = "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest()
        return stored.upper() == want.upper(), plugin
    return _login_check(db, user, host, password), plugin


# ---------------------------------------------------------------- operations

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
                 dry_run: bool = False) -> Change:
    """GRANT privileges ON database.* unless SHOW GRANTS already covers them."""
    check_identifier(user, "user name")
    check_identifier(database, "database name")
    privs = [privileges] if isinstance(privileges, str) else list(privileges)
    want = {" ".join(p.upper().split()) for p in privs}
    want = {"ALL PRIVILEGES" if p == "ALL" else p for p in want}
    bad = sorted(p for p in want if p not in _PRIVILEGES)
    if bad or not want:
        raise IdentifierError(f"unknown privilege(s) {bad or privs}: use e.g. 'ALL' or 'SELECT'")
    target = f"grant {', '.join(sorted(want))} on {database}.* to {user}@{host}"
    have = _granted(grants(db, user, host), database)
    if "ALL PRIVILEGES" in have or want <= have:
        return Change(target, False, "already granted")
    sql = f"GRANT {', '.join(sorted(want))} ON {quote_ident(database)}.* TO %s@%s"
    if not dry_run:
        db.execute(sql, (user, host))
    return Change(target, True, "would grant" if dry_run else "granted",
                  commands=(sql.replace("%s@%s", f"{_lit(user)}@{_lit(host)}"),))


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
            f"half-way and the script is not re-runnable (ERRATA E4). Fix: drop the database and "
            f"source again, or finish the missing objects by hand.")
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
                           f"sql_mode ({old_mode}) rejects. Fix: source mysql5.7.sql "
                           f"(needs_57_script) or pass relax_zero_dates=True (ERRATA E4)")
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
