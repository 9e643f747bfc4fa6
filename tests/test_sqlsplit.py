"""The splitter against the real WSO2 dbscripts and hand-made edge cases (no server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook_lib.core.errors import SqlError
from runbook_lib.remote.sqlsplit import Statement, create_table_names, split_sql

# Counted by hand and cross-checked: kernel scripts have 39 live CREATE TABLE, 21 CREATE
# INDEX, 1 CREATE UNIQUE INDEX, 13 ALTER TABLE; `grep -ci 'create table'` says 40 because
# REG_ASSOCIATIONS is commented out. mysql-mb.sql: 26 tables, 3 indexes; its licence
# header holds a ';' that a naive split(';') would turn into a 30th statement.
EXPECTED = {
    "ei-6.1.1/dbscripts/mysql.sql": (74, 39),
    "ei-6.1.1/dbscripts/mysql5.7.sql": (74, 39),
    "ei-6.1.1/wso2/broker/dbscripts/mysql.sql": (74, 39),
    "ei-6.1.1/wso2/broker/dbscripts/mb-store/mysql-mb.sql": (29, 26),
}


def _scripts(upstream: Path) -> list[Path]:
    return sorted(p for p in upstream.rglob("*.sql") if "dbscripts" in p.parts)


def test_every_shipped_dbscript_is_known(upstream: Path) -> None:
    found = {str(p.relative_to(upstream)) for p in _scripts(upstream)}
    assert found == set(EXPECTED), "a new upstream dbscript needs its counts in EXPECTED"


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_upstream_script_counts(upstream: Path, rel: str) -> None:
    text = (upstream / rel).read_text()
    stmts = split_sql(text)
    n_statements, n_tables = EXPECTED[rel]
    assert len(stmts) == n_statements
    assert len(create_table_names(stmts)) == n_tables
    # independent count: lines that start (uncommented) with CREATE TABLE
    lines = text.splitlines()
    live = [i + 1 for i, ln in enumerate(lines) if re.match(r"\s*create\s+table", ln, re.I)]
    assert len(live) == n_tables
    assert [s.line for s in stmts if s.sql.upper().startswith("CREATE TABLE")] == live
    # grep -ci counts commented-out lines too
    grep = sum(1 for ln in lines if "create table" in ln.lower())
    assert grep == n_tables + (0 if "mb-store" in rel else 1)  # kernel: REG_ASSOCIATIONS
    for s in stmts:
        assert ";" not in s.sql and "--" not in s.sql and not s.sql.startswith("/*")
        assert lines[s.line - 1].strip(), "a statement starts on a blank line"
        first_word = s.sql.split()[0]
        assert first_word in lines[s.line - 1]


def test_kernel_statement_kinds(upstream: Path) -> None:
    stmts = split_sql((upstream / "ei-6.1.1/dbscripts/mysql5.7.sql").read_text())
    kinds: dict[str, int] = {}
    for s in stmts:
        k = " ".join(s.sql.split()[:2]).upper()
        kinds[k] = kinds.get(k, 0) + 1
    assert kinds == {"CREATE TABLE": 39, "CREATE INDEX": 21, "ALTER TABLE": 13, "CREATE UNIQUE": 1}
    names = create_table_names(stmts)
    assert names[0] == "REG_CLUSTER_LOCK" and "UM_USER" in names and "REG_RESOURCE" in names
    assert "REG_ASSOCIATIONS" not in names and "REG_ASSOCIATION" in names


def test_mb_script_header_and_trailing_comments(upstream: Path) -> None:
    mb = upstream / "ei-6.1.1/wso2/broker/dbscripts/mb-store/mysql-mb.sql"
    stmts = split_sql(mb.read_text())
    assert stmts[0].line == 23
    assert stmts[0].sql.startswith("CREATE TABLE IF NOT EXISTS MB_QUEUE_MAPPING")
    dtx = next(s for s in stmts if "MB_DTX_XID (" in s.sql)
    assert "AMQP-10" not in dtx.sql and "BRANCH_ID VARBINARY(260)," in dtx.sql


def test_quotes_and_comments_hide_semicolons() -> None:
    text = (
        "SELECT 'a;b', \"c;d\", `e;f`;\n"  # 1
        "SELECT 'it\\'s;', 'x''y;', \"q\\\";\";\n"  # 2
        "-- a comment; with semicolon\n"  # 3
        "# hash comment;\n"  # 4
        "/* block ; comment\n spanning; lines */ SELECT 2;\n"  # 5-6
        "SELECT 1--1;\n"  # 7: '--' without a space is minus minus
        "SELECT `a``b;c` FROM t;\n"  # 8
    )
    stmts = split_sql(text)
    assert [s.sql for s in stmts] == [
        "SELECT 'a;b', \"c;d\", `e;f`",
        "SELECT 'it\\'s;', 'x''y;', \"q\\\";\"",
        "SELECT 2",
        "SELECT 1--1",
        "SELECT `a``b;c` FROM t",
    ]
    assert [s.line for s in stmts] == [1, 2, 6, 7, 8]


def test_version_comments_are_kept_and_empty_statements_dropped() -> None:
    stmts = split_sql("/*!40101 SET NAMES utf8 */;\n;;\n  ;\n/* only a comment */;\nSELECT 3")
    assert stmts == [Statement("/*!40101 SET NAMES utf8 */", 1), Statement("SELECT 3", 5)]


def test_delimiter_blocks() -> None:
    text = (
        "CREATE TABLE t (a INT);\n"  # 1
        "DELIMITER $$\n"  # 2
        "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW\n"  # 3
        "BEGIN\n"
        "  SET NEW.a = 1; -- inner ; stays\n"
        "  SET NEW.a = NEW.a + 1;\n"
        "END$$\n"  # 7
        "\n"
        "CREATE PROCEDURE p() BEGIN SELECT ';'; SELECT 2; END $$\n"  # 9
        "delimiter //\n"  # 10
        "CREATE FUNCTION f() RETURNS INT RETURN 1//\n"  # 11
        "DELIMITER ;\n"  # 12
        "INSERT INTO t VALUES (1);\n"  # 13
    )
    stmts = split_sql(text)
    assert [s.line for s in stmts] == [1, 3, 9, 11, 13]
    trigger = stmts[1].sql
    assert trigger.startswith("CREATE TRIGGER") and trigger.endswith("END")
    assert "SET NEW.a = 1;" in trigger and "inner" not in trigger
    assert stmts[2].sql == "CREATE PROCEDURE p() BEGIN SELECT ';'; SELECT 2; END"
    assert stmts[3].sql == "CREATE FUNCTION f() RETURNS INT RETURN 1"
    assert stmts[4].sql == "INSERT INTO t VALUES (1)"


def test_mysqldump_style_trigger() -> None:
    text = (
        "DELIMITER ;;\n"
        "/*!50003 CREATE*/ /*!50003 TRIGGER x AFTER INSERT ON t FOR EACH ROW BEGIN "
        "SET @a = 1; END */;;\n"
        "DELIMITER ;\n"
        "SELECT 1;\n"
    )
    stmts = split_sql(text)
    assert len(stmts) == 2 and stmts[0].line == 2 and stmts[0].sql.endswith("END */")
    assert stmts[1] == Statement("SELECT 1", 4)


def test_last_statement_without_delimiter_and_crlf() -> None:
    stmts = split_sql("SELECT 1;\r\n\r\nSELECT\r\n 2")
    assert [(s.sql, s.line) for s in stmts] == [("SELECT 1", 1), ("SELECT\r\n 2", 3)]


@pytest.mark.parametrize("text, line", [("SELECT 1;\nSELECT 'abc;\n", 2), ("SELECT 1; /* x\n", 1)])
def test_unterminated_raises_with_line(text: str, line: int) -> None:
    with pytest.raises(SqlError, match=f"line {line}"):
        split_sql(text)


def test_create_table_names_variants() -> None:
    stmts = split_sql(
        "CREATE TABLE IF NOT EXISTS `Quoted` (a INT);\n"
        "create temporary table tmp (a INT);\n"
        "CREATE TABLE db1.Qualified (a INT);\n"
        "CREATE TABLE x(a INT);\n"
        "CREATE INDEX i ON x(a);\n"
    )
    assert create_table_names(stmts) == ["Quoted", "tmp", "Qualified", "x"]
