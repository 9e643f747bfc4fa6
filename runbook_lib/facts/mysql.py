"""Read-only facts about a MySQL/MariaDB server: databases, tables, accounts, grants.

Nothing here changes the server. ``needs_57_script`` decides between the
kernel's mysql.sql and mysql5.7.sql (ERRATA E4/E6).
"""

from __future__ import annotations

import hashlib
import re

from ..remote.db import Db
from ..remote.host import Host


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


def grant_objects(lines: list[str]) -> dict[str, set[str]]:
    """SHOW GRANTS lines as {object: privileges}, the object as the server prints it
    with the quotes removed (e.g. ``*.*`` or ``REGISTRY\\_DB.*``)."""
    out: dict[str, set[str]] = {}
    for line in lines:
        m = _GRANT_RE.match(line)
        if m:
            obj = m.group(2).replace("`", "").replace("'", "").replace('"', "")
            out.setdefault(obj, set()).update(p.strip().upper() for p in m.group(1).split(","))
    return out


def like_escape(name: str) -> str:
    """A database name as a literal grant pattern: '_' and '%' escaped, so a grant
    on it covers that database only (unescaped, '_' matches any character)."""
    return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _opt_value(value: str) -> str:
    """A value for a MySQL option file, double-quoted (keeps '#', spaces and quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def client_session(host: Host, address: str, port: int, user: str, password: str, sql: str,
                   database: str | None = None) -> tuple[bool, str, str]:
    """Run SQL (one or more statements) with the ``mariadb`` (or ``mysql``) client ON
    ``host``, as user/password: proof that the account works from that host's address,
    not only from ours. The client stops at the first failing statement.

    The password travels in an option file read from stdin (``--defaults-extra-file=
    /dev/stdin``), so it is never on a command line (ps) nor on disk.
    Returns (ok, rows, error): the rows printed before any failure (tab-separated),
    and the client's first error line ("" when every statement ran).
    """
    opts = f"[client]\nuser={_opt_value(user)}\npassword={_opt_value(password)}\n"
    client = "$(command -v mariadb || command -v mysql)"
    cmd = client + " --defaults-extra-file=/dev/stdin --protocol=TCP -h %s -P %s -N -B"
    args: list[object] = [address, port]
    if database:
        cmd += " -D %s"
        args.append(database)
    res = host.run(cmd + " -e %s", *args, sql, stdin=opts.encode())
    if res.ok:
        return True, res.stdout.strip(), ""
    lines = [ln for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
    error = next((ln for ln in lines if ln.startswith("ERROR")), lines[0] if lines else f"exit {res.rc}")
    return False, res.stdout.strip() if res.stderr else "", error.replace(password, "***") if password else error


def client_query(host: Host, address: str, port: int, user: str, password: str, sql: str,
                 database: str | None = None) -> tuple[bool, str]:
    """``client_session`` of one query: (ok, output), the output being the rows or
    the client's first error line."""
    ok, rows, error = client_session(host, address, port, user, password, sql, database)
    return ok, rows if ok else error


def client_queries(host: Host, logins: list[tuple[str, int, str, str, str, str | None]]) -> list[tuple[bool, str]]:
    """``client_query`` for several (address, port, user, password, sql,
    database) at once, in ONE remote command (issue 23: a node's datasource
    logins were one SSH command each). The option files travel on stdin, one
    after another, each read by the shell's ``read`` and piped to its client
    by ``printf`` (builtins: no password on any command line)."""
    if len(logins) < 2:
        return [client_query(host, *x) for x in logins]
    client = "$(command -v mariadb || command -v mysql)"
    parts, stdin, args = [f"c={client}"], [], []
    for address, port, user, password, sql, database in logins:
        stdin += ["[client]", f"user={_opt_value(user)}", f"password={_opt_value(password)}"]
        db = " -D %s" if database else ""
        args += [address, port] + ([database] if database else []) + [sql]
        parts.append('IFS= read -r a; IFS= read -r b; IFS= read -r d; echo "__BEGIN__"; '
                     'printf \'%%s\\n%%s\\n%%s\\n\' "$a" "$b" "$d" | "$c" --defaults-extra-file=/dev/stdin '
                     f"--protocol=TCP -h %s -P %s -N -B{db} -e %s 2>&1; echo \"__END__ $?\"")
    res = host.run("; ".join(parts), *args, stdin=("\n".join(stdin) + "\n").encode())
    out: list[tuple[bool, str]] = []
    for chunk in res.stdout.split("__BEGIN__\n")[1:]:
        body, _, rc = chunk.rpartition("__END__ ")
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if rc.strip() == "0":
            out.append((True, body.strip()))
            continue
        error = next((ln for ln in lines if ln.startswith("ERROR")), lines[0] if lines else f"exit {rc.strip()}")
        out.append((False, error))
    while len(out) < len(logins):  # the command itself failed part-way
        out.append((False, (res.stderr or f"exit {res.rc}").strip()))
    return [(ok, text.replace(pw, "***") if pw and not ok else text)
            for (ok, text), (_, _, _, pw, _, _) in zip(out, logins)]


_JDBC_RE = re.compile(r"^jdbc:(?:mysql|mariadb)://(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?/(?P<db>[A-Za-z0-9_$]+)"
                      r"(?:\?(?P<opts>[A-Za-z][\w.]*=[^&;\s=]*(?:&[A-Za-z][\w.]*=[^&;\s=]*)*))?$")


def parse_jdbc_url(url: str) -> tuple[str, int, str] | None:
    """(host, port, database) of a well-formed MySQL JDBC URL, else None: H2 options
    such as ;DB_CLOSE_ON_EXIT=FALSE (E3), a missing database or stray spaces fail."""
    m = _JDBC_RE.match(url)
    if not m:
        return None
    return m.group("host"), int(m.group("port") or 3306), m.group("db")
