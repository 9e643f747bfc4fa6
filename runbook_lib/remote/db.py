"""The MySQL/MariaDB connection: a small pymysql wrapper, its errors, identifier quoting.

Read-only facts live in ``facts/mysql.py`` and operations (ensure_*,
source_script_once) in ``operations/mysql.py``: import them from there.
Values (passwords, hosts, user names) always travel as pymysql parameters;
only identifiers checked by ``check_identifier`` are written into SQL text.
"""

from __future__ import annotations

import re
import ssl
import threading
from typing import Any, Iterable

import pymysql
import pymysql.connections

from ..core.errors import SqlError

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
    2013: "the connection dropped: check that the database server is still running (its log) and the network, "
    "then run again (every step is idempotent)",
}
_IDENT_RE = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


class DbError(SqlError):
    """A server or driver error; ``code`` is the MySQL error number (None if unknown)."""

    def __init__(self, message: str, statement: str = "", code: int | None = None, fix: str = "") -> None:
        self.code = code
        super().__init__(message, statement, fix)


class IdentifierError(SqlError, ValueError):
    """A database or user name that is not safe to write into SQL text."""


def _wrap(e: Exception, statement: str = "", secrets: Iterable[str] = (), where: str = "") -> DbError:
    """A DbError with the error code and a one-line fix; secrets masked in the text."""
    code = e.args[0] if e.args and isinstance(e.args[0], int) else None
    msg = str(e.args[1]) if code is not None and len(e.args) > 1 else str(e)
    for s in secrets:
        if s:
            msg = msg.replace(s, "***")
    hint = _HINTS.get(code or 0)
    text = f"MySQL error {code}: {msg}" if code else f"MySQL error: {msg}"
    text += f" (database server {where})" if where else ""
    return DbError(text, statement, code, fix=hint or "")


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


_CONTEXT: list[ssl.SSLContext] = []  # the one context of pymysql's default mode, once made
_CONTEXT_LOCK = threading.Lock()


class _Connection(pymysql.connections.Connection):
    """pymysql's connection, with one change: in its default mode (TLS when the
    server offers it, plain otherwise) pymysql builds a new SSL context for
    every connection, loading the system's CA bundle each time (about 20 ms of
    CPU; 03 connects once per database object). Here that context is built
    once and shared (one SSL context may serve many connections and threads).
    With explicit SSL options pymysql's own path runs unchanged."""

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if sslp != {}:
            return super()._create_ssl_ctx(sslp)
        with _CONTEXT_LOCK:
            if not _CONTEXT:
                _CONTEXT.append(super()._create_ssl_ctx({}))
            return _CONTEXT[0]


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
            conn = _Connection(host=h, port=p, user=user, password=password, database=database,
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
            raise _wrap(e, sql, secrets, f"{self.host}:{self.port}") from e

    def execute(self, sql: str, params: tuple | list = (), secrets: Iterable[str] = ()) -> int:
        """Run one statement; returns the affected row count."""
        try:
            with self.conn.cursor() as cur:
                return int(cur.execute(sql, tuple(params) if params else None))
        except pymysql.MySQLError as e:
            raise _wrap(e, sql, secrets, f"{self.host}:{self.port}") from e

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
            _Connection(host=h, port=p, user=user, password=password,
                        connect_timeout=self.connect_timeout).close()
            return 0
        except pymysql.MySQLError as e:
            return e.args[0] if e.args and isinstance(e.args[0], int) else -1
