"""runbook_lib.db against a real MariaDB/MySQL (lab_mysql fixture; skips without one)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Callable, Iterator

import pytest

from runbook_lib.remote import db as D
from runbook_lib.facts import mysql as F
from runbook_lib.operations import mysql as O
from runbook_lib.core.errors import SqlError

KERNEL = "ei-6.1.1/dbscripts/mysql.sql"
KERNEL_57 = "ei-6.1.1/dbscripts/mysql5.7.sql"
MB = "ei-6.1.1/wso2/broker/dbscripts/mb-store/mysql-mb.sql"


@pytest.mark.parametrize("version, expected", [
    ("5.6.51", False), ("5.7.44-log", True), ("8.0.36", True), ("8.4.0", True),
    ("10.1.48-MariaDB", False), ("10.2.44-MariaDB", True), ("10.11.6-MariaDB-0+deb12u1", True),
    ("5.5.5-10.11.6-MariaDB-0+deb12u1", True), ("5.5.5-10.1.48-MariaDB", False),
])
def test_needs_57_script(version: str, expected: bool) -> None:
    assert F.needs_57_script(version) is expected


@pytest.mark.parametrize("lines, database, expected", [
    (["GRANT ALL PRIVILEGES ON `wso2_db`.* TO 'app'@'%'"], "wso2_db", {"ALL PRIVILEGES"}),
    # '_' in a db-level grant is a LIKE wildcard, as on the server
    (["GRANT ALL PRIVILEGES ON `wso2_db`.* TO 'app'@'%'"], "wso2xdb", {"ALL PRIVILEGES"}),
    (["GRANT SELECT ON `wso2\\_db`.* TO `app`@`%`"], "wso2xdb", set()),  # escaped _ is literal
    (["GRANT SELECT ON `wso2\\_db`.* TO `app`@`%`"], "wso2_db", {"SELECT"}),
    (["GRANT USAGE ON *.* TO `u`@`h` IDENTIFIED BY PASSWORD '***'",
      "GRANT SELECT, INSERT ON `shop`.* TO `u`@`h`"], "shop", {"USAGE", "SELECT", "INSERT"}),
    (["GRANT SELECT ON `shop`.`orders` TO `u`@`h`"], "shop", set()),  # table level: not db.*
    (["GRANT SELECT, UPDATE ON *.* TO 'u'@'h'"], "any", {"SELECT", "UPDATE"}),
    (["GRANT SELECT ON `other`.* TO 'u'@'h'"], "shop", set()),
])
def test_granted_reads_show_grants_lines(lines: list[str], database: str, expected: set) -> None:
    assert F._granted(lines, database) == expected


@pytest.mark.parametrize("pattern, host, expected", [
    ("%", "10.0.0.5", True), ("10.0.0.%", "10.0.0.5", True), ("10.0.0.%", "10.0.1.5", False),
    ("localhost", "LOCALHOST", True), ("db_1", "dbx1", True), ("db\\_1", "dbx1", False),
])
def test_like_patterns(pattern: str, host: str, expected: bool) -> None:
    assert F._like(pattern, host) is expected


@pytest.mark.parametrize("name", ["x; DROP", "a`b", "", "123", "a" * 65, "db-name", "é"])
def test_bad_identifiers_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        D.check_identifier(name)
    with pytest.raises(SqlError):
        D.quote_ident(name)


def test_good_identifiers() -> None:
    assert D.quote_ident("WSO2_carbon$db") == "`WSO2_carbon$db`"
    assert D.check_identifier("1abc") == "1abc" and D.check_identifier("a" * 64)


@pytest.fixture(scope="module")
def admin(lab_mysql: dict) -> Iterator[D.Db]:
    with D.Db.connect(**lab_mysql) as db:
        yield db


@pytest.fixture
def new_name(admin: D.Db) -> Iterator[Callable[[], str]]:
    """Unique t_<random> names; every database and user made from them is dropped after."""
    made: list[str] = []

    def make() -> str:
        made.append("t_" + secrets.token_hex(5))
        return made[-1]

    yield make
    host = F.client_host(admin)
    for name in made:
        admin.execute(f"DROP DATABASE IF EXISTS {D.quote_ident(name)}")
        for h in (host, "%"):
            admin.execute("DROP USER IF EXISTS %s@%s", (name, h))


def _login(lab_mysql: dict, user: str, password: str, database: str | None = None) -> D.Db:
    return D.Db.connect(lab_mysql["host"], lab_mysql["port"], user, password, database=database)


def test_connect_errors_carry_code_and_hint(lab_mysql: dict) -> None:
    with pytest.raises(D.DbError) as e:
        D.Db.connect(lab_mysql["host"], lab_mysql["port"], lab_mysql["user"], "wrong-" + "x" * 8)
    assert e.value.code == 1045 and "Fix:" in str(e.value)
    with pytest.raises(D.DbError) as e:
        D.Db.connect(**lab_mysql, database="t_no_such_db_" + secrets.token_hex(3))
    assert e.value.code == 1049 and "ensure_database" in str(e.value)


def test_server_facts(admin: D.Db) -> None:
    assert admin.server_version()[0].isdigit()
    assert isinstance(admin.is_mariadb, bool)
    assert "mysql" in F.databases(admin) and "information_schema" in F.databases(admin)


def test_secret_masked_in_server_error(admin: D.Db) -> None:
    with pytest.raises(D.DbError) as e:
        admin.execute("SELECT FROM %s", ("Sup3rSecret",), secrets=["Sup3rSecret"])
    assert e.value.code == 1064 and "Sup3rSecret" not in str(e.value) and "***" in str(e.value)


def test_ensure_database_twice_and_dry_run(admin: D.Db, new_name: Callable[[], str]) -> None:
    name = new_name()
    dry = O.ensure_database(admin, name, dry_run=True)
    assert dry.changed and dry.summary == "would create (latin1)"
    assert dry.commands == (f"CREATE DATABASE `{name}` CHARACTER SET latin1",)
    assert name not in F.databases(admin)
    first = O.ensure_database(admin, name)
    assert first.changed and F.database_charset(admin, name) == "latin1"
    second = O.ensure_database(admin, name)
    assert not second.changed and second.summary == "already exists (latin1)"


def test_ensure_database_reports_other_charset(admin: D.Db, new_name: Callable[[], str]) -> None:
    name = new_name()
    admin.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    change = O.ensure_database(admin, name)
    assert not change.changed and "exists with utf8mb4, not latin1" in change.summary
    assert F.database_charset(admin, name) == "utf8mb4"


def test_ensure_user_twice_and_password_change(admin: D.Db, lab_mysql: dict,
                                               new_name: Callable[[], str]) -> None:
    user, host = new_name(), F.client_host(admin)
    dry = O.ensure_user(admin, user, host, "pw-One;'\"1", dry_run=True)
    assert dry.changed and not F.user_exists(admin, user, host)
    assert dry.commands == (f"CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '***'",)
    assert O.ensure_user(admin, user, host, "pw-One;'\"1").changed
    second = O.ensure_user(admin, user, host, "pw-One;'\"1")
    assert not second.changed and second.summary == "already exists, password matches"
    _login(lab_mysql, user, "pw-One;'\"1").close()
    with pytest.raises(D.DbError) as e:
        _login(lab_mysql, user, "not-the-password")
    assert e.value.code == 1045 and "not-the-password" not in str(e.value)
    change = O.ensure_user(admin, user, host, "pw-Two")
    assert change.changed and change.summary == "password updated"
    assert "pw-Two" not in str(change) + "".join(change.commands)
    _login(lab_mysql, user, "pw-Two").close()
    with pytest.raises(D.DbError):
        _login(lab_mysql, user, "pw-One;'\"1")
    assert not O.ensure_user(admin, user, host, "pw-Two").changed


def test_ensure_grant(admin: D.Db, lab_mysql: dict, new_name: Callable[[], str]) -> None:
    app_db, other_db, user = new_name(), new_name(), new_name()
    host = F.client_host(admin)
    O.ensure_database(admin, app_db)
    O.ensure_database(admin, other_db)
    O.ensure_user(admin, user, host, "AppPw-1")
    dry = O.ensure_grant(admin, "ALL", app_db, user, host, dry_run=True)
    assert dry.changed and not any(app_db in g for g in F.grants(admin, user, host))
    first = O.ensure_grant(admin, "all", app_db, user, host)
    assert first.changed
    assert first.commands == (f"GRANT ALL PRIVILEGES ON `{app_db}`.* TO '{user}'@'{host}'",)
    lines = F.grants(admin, user, host)
    assert any("ALL PRIVILEGES" in g and f"`{app_db}`.*" in g for g in lines)
    assert not any(re.search(r"'\*[0-9A-F]{40}'", g) for g in lines)  # MariaDB's hash masked
    assert not O.ensure_grant(admin, "ALL", app_db, user, host).changed
    assert not O.ensure_grant(admin, ["SELECT", "insert"], app_db, user, host).changed
    sel = O.ensure_grant(admin, ["SELECT"], other_db, user, host, dry_run=True)
    assert sel.changed  # another database is not covered
    with _login(lab_mysql, user, "AppPw-1", database=app_db) as app:
        app.execute("CREATE TABLE probe (a INT)")
        assert app.query("SELECT COUNT(*) FROM probe") == [(0,)]
        with pytest.raises(D.DbError) as e:
            app.execute(f"USE `{other_db}`")
        assert e.value.code == 1044
    with pytest.raises(D.DbError) as e:
        _login(lab_mysql, user, "AppPw-1", database=other_db)
    assert e.value.code == 1044
    with pytest.raises(ValueError):
        O.ensure_grant(admin, "ALL; DROP DATABASE x", app_db, user, host)


def _source_case(upstream: Path, admin: D.Db, rel: str, name: str, expect: set[str]) -> None:
    text = (upstream / rel).read_text()
    O.ensure_database(admin, name)
    dry = O.source_script_once(admin, name, text, rel, dry_run=True)
    assert dry.changed and dry.summary.startswith("would source") and not F.tables(admin, name)
    first = O.source_script_once(admin, name, text, rel)
    assert first.changed
    present = F.tables(admin, name)
    assert expect <= present
    again = O.source_script_once(admin, name, text, rel)
    n = len(present)
    assert not again.changed and again.summary == f"already there ({n} of {n} tables)"


def test_source_kernel_script(upstream: Path, admin: D.Db, new_name: Callable[[], str]) -> None:
    rel = KERNEL_57 if F.needs_57_script(admin.server_version()) else KERNEL
    expect = {"UM_USER", "UM_TENANT", "UM_ROLE", "REG_RESOURCE", "REG_PATH", "REG_LOG"}
    _source_case(upstream, admin, rel, new_name(), expect)


def test_source_broker_mb_script(upstream: Path, admin: D.Db, new_name: Callable[[], str]) -> None:
    expect = {"MB_QUEUE_MAPPING", "MB_METADATA", "MB_CONTENT", "MB_SLOT", "MB_CLUSTER_EVENT"}
    _source_case(upstream, admin, MB, new_name(), expect)


def test_partial_state_raises_and_never_reruns(upstream: Path, admin: D.Db,
                                               new_name: Callable[[], str]) -> None:
    name, text = new_name(), (upstream / MB).read_text()
    O.ensure_database(admin, name)
    O.source_script_once(admin, name, text, "mysql-mb.sql")
    admin.execute(f"DROP TABLE `{name}`.MB_CLUSTER_EVENT")
    before = F.tables(admin, name)
    with pytest.raises(SqlError, match=r"25 of 26 tables .*missing: MB_CLUSTER_EVENT.*drop"):
        O.source_script_once(admin, name, text, "mysql-mb.sql")
    assert F.tables(admin, name) == before


def test_missing_database(admin: D.Db, new_name: Callable[[], str]) -> None:
    name = new_name()
    dry = O.source_script_once(admin, name, "CREATE TABLE a (x INT);", "a.sql", dry_run=True)
    assert dry.changed and dry.commands == (f"USE `{name}`", "CREATE TABLE a (x INT)")
    with pytest.raises(SqlError, match="ensure_database"):
        O.source_script_once(admin, name, "CREATE TABLE a (x INT);", "a.sql")


def test_failing_statement_names_script_line(admin: D.Db, new_name: Callable[[], str]) -> None:
    name = new_name()
    O.ensure_database(admin, name)
    script = "CREATE TABLE a (x INT);\n\n-- next one is wrong\nCREATE TABLE b (x INT,);\n"
    with pytest.raises(D.DbError, match=r"bad\.sql line 4: MySQL error 1064.*partial") as e:
        O.source_script_once(admin, name, script, "bad.sql")
    assert e.value.code == 1064 and e.value.statement == "CREATE TABLE b (x INT,)"
    with pytest.raises(SqlError, match="1 of 2 tables"):
        O.source_script_once(admin, name, script, "bad.sql")


def test_old_kernel_script_under_strict_zero_dates(upstream: Path, lab_mysql: dict,
                                                   new_name: Callable[[], str]) -> None:
    """MySQL 5.7+ defaults (strict + NO_ZERO_DATE), simulated for one session (E4)."""
    name, text = new_name(), (upstream / KERNEL).read_text()
    strict = "STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION"
    with D.Db.connect(**lab_mysql) as db:
        O.ensure_database(db, name)
        db.execute("SET SESSION sql_mode = %s", (strict,))
        with pytest.raises(SqlError, match="mysql5.7.sql"):
            O.source_script_once(db, name, text, "mysql.sql")
        assert F.tables(db, name) == set()  # refused before running anything
        change = O.source_script_once(db, name, text, "mysql.sql", relax_zero_dates=True)
        assert change.changed and "SET SESSION sql_mode" in change.commands[1]
        assert {"UM_USER", "REG_RESOURCE"} <= F.tables(db, name)
        restored = db.query("SELECT @@SESSION.sql_mode")[0][0]
        assert set(restored.split(",")) == set(strict.split(","))


def test_login_check_when_hash_is_unreadable(admin: D.Db, new_name: Callable[[], str]) -> None:
    """The fallback for non-native plugins: decide by logging in, honestly say 'unknown'."""
    user, host = new_name(), F.client_host(admin)
    O.ensure_user(admin, user, host, "Right-pw1")
    assert F._login_check(admin, user, host, "Right-pw1") is True
    assert F._login_check(admin, user, host, "wrong-pw") is False
    # an account for another host: a refused login proves nothing about its password
    assert F._login_check(admin, user, "192.0.2.%", "wrong-pw") is None


def test_ensure_user_with_ed25519_account(admin: D.Db, new_name: Callable[[], str]) -> None:
    """A MariaDB ed25519 account: no comparable hash, so ensure_user logs in to check."""
    if not admin.query("SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME='ed25519' "
                       "AND PLUGIN_STATUS='ACTIVE'"):
        pytest.skip("ed25519 auth plugin not loaded on this server")
    user, host = new_name(), F.client_host(admin)
    admin.execute("CREATE USER %s@%s IDENTIFIED VIA ed25519 USING PASSWORD(%s)",
                  (user, host, "Ed-pw1"))
    assert not O.ensure_user(admin, user, host, "Ed-pw1").changed
    change = O.ensure_user(admin, user, host, "Ed-pw2")
    assert change.summary == "password updated" and "PASSWORD('***')" in change.commands[0]
    plugin = admin.query("SELECT plugin FROM mysql.user WHERE User=%s AND Host=%s", (user, host))
    assert plugin == [("ed25519",)]  # kept: ALTER USER IDENTIFIED BY would make it native
    assert not O.ensure_user(admin, user, host, "Ed-pw2").changed
