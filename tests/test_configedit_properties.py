"""configedit.properties on the shipped broker/ELB files and on small syntax cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.configedit.properties import (RemoveProperty, SetProperty, apply_properties_edits,
                                               read_properties)
from runbook_lib.core.valuemask import mask_value

HAZELCAST = "ei-6.1.1/wso2/broker/conf/hazelcast.properties"
LOG4J = "ei-6.1.1/wso2/broker/conf/log4j.properties"
CLUSTER_LOGGER = "log4j.logger.org.apache.axis2.clustering"


def lines_changed(diff: str) -> tuple[list[str], list[str]]:
    body = [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@", "\\"))]
    return [ln[1:] for ln in body if ln.startswith("-")], [ln[1:] for ln in body if ln.startswith("+")]


@pytest.mark.parametrize("rel", [HAZELCAST, LOG4J, "ei-6.1.1/conf/log4j.properties",
                                 "elb-2.0.5/repository/conf/log4j.properties"])
def test_setting_every_shipped_value_is_a_noop(upstream: Path, rel: str) -> None:
    before = (upstream / rel).read_bytes()
    props = read_properties(before)
    assert props
    r = apply_properties_edits(before, [SetProperty(k, v) for k, v in props.items()]
                               + [RemoveProperty("no.such.key")], rel)
    assert r.data == before and not r.changed and r.diff == ""


def test_hazelcast_shipped_without_final_newline(upstream: Path) -> None:
    before = (upstream / HAZELCAST).read_bytes()
    assert not before.endswith(b"\n")  # as shipped
    edits = [SetProperty("hazelcast.max.no.heartbeat.seconds", "300"),
             SetProperty("hazelcast.logging.type", "log4j")]
    r = apply_properties_edits(before, edits, "hazelcast.properties")
    assert r.data == (b"hazelcast.max.no.heartbeat.seconds=300\n"
                      b"hazelcast.shutdownhook.enabled=false\n"
                      b"hazelcast.logging.type=log4j")  # still no final newline
    assert read_properties(r.data)["hazelcast.logging.type"] == "log4j"
    assert not apply_properties_edits(r.data, edits, "hazelcast.properties").changed


def test_log4j_one_value_changes_one_line(upstream: Path) -> None:
    r = apply_properties_edits((upstream / LOG4J).read_bytes(),
                               [SetProperty(CLUSTER_LOGGER, "DEBUG, CARBON_CONSOLE, CARBON_LOGFILE")], "log4j")
    assert lines_changed(r.diff) == ([f"{CLUSTER_LOGGER}=INFO, CARBON_CONSOLE, CARBON_LOGFILE"],
                                     [f"{CLUSTER_LOGGER}=DEBUG, CARBON_CONSOLE, CARBON_LOGFILE"])
    assert r.texts == [f"{CLUSTER_LOGGER}: 'INFO, CARBON_CONSOLE, CARBON_LOGFILE' -> "
                       f"'DEBUG, CARBON_CONSOLE, CARBON_LOGFILE' (line 30)"]


def test_log4j_edit_set_and_second_run(upstream: Path) -> None:
    before = (upstream / LOG4J).read_bytes()
    edits = [SetProperty("log4j.logger.com.hazelcast", "INFO"),
             SetProperty("log4j.appender.LOGEVENT.password", "secretAlias:Log4j.Appender.LOGEVENT.Password"),
             RemoveProperty("log4j.logger.hive")]
    r = apply_properties_edits(before, edits, "log4j.properties")
    removed, added = lines_changed(r.diff)
    # the shipped password is masked in the diff (redact.py); a secure-vault alias is a name, shown
    assert removed == ["log4j.logger.hive=WARN", "log4j.appender.LOGEVENT.password=" + mask_value("admin")]
    assert added == ["log4j.appender.LOGEVENT.password=secretAlias:Log4j.Appender.LOGEVENT.Password",
                     "log4j.logger.com.hazelcast=INFO"]
    # the commented-out alternative stays a comment: an active line exists, so it is the one set
    assert b"\n#log4j.appender.LOGEVENT.password=secretAlias:" in r.data
    props = read_properties(r.data)
    assert "log4j.logger.hive" not in props and props["log4j.logger.com.hazelcast"] == "INFO"
    assert not apply_properties_edits(r.data, edits, "log4j.properties").changed


def test_commented_line_is_uncommented_when_no_active_one() -> None:
    data = b"a=1\n#b=2\n# b = 3\nc=4\n"
    r = apply_properties_edits(data, [SetProperty("b", "3")], "t")
    assert r.data == b"a=1\n#b=2\nb = 3\nc=4\n"  # picks the example already holding the value
    r = apply_properties_edits(data, [SetProperty("b", "9")], "t")
    assert r.data == b"a=1\n#b=2\nb = 9\nc=4\n"  # else the last example
    assert r.texts == ["b: uncommented line 3 and set '9'"]


def test_separators_continuations_and_crlf() -> None:
    data = b"a = 1\r\nb: two \\\r\n   three\r\n  c four\r\n! d=5\r\ne\r\n"
    assert read_properties(data) == {"a": "1", "b": "two three", "c": "four", "e": ""}
    edits = [SetProperty("a", "x"), SetProperty("b", "y"), SetProperty("c", "z"), SetProperty("d", "6"),
             SetProperty("e", "7"), SetProperty("f", " lead\\back")]
    r = apply_properties_edits(data, edits, "t")
    assert r.data == (b"a = x\r\nb: y\r\n  c z\r\nd=6\r\ne=7\r\nf=\\ lead\\\\back\r\n")
    assert read_properties(r.data)["f"] == " lead\\back"
    assert not apply_properties_edits(r.data, edits, "t").changed


def test_remove_takes_continuation_lines_and_duplicates() -> None:
    data = b"k=1\nx=2\nk=a \\\n  b\n"
    r = apply_properties_edits(data, [RemoveProperty("k")], "t")
    assert r.data == b"x=2\n" and r.texts == ["k: removed 2 line(s)"]


def test_duplicate_key_sets_the_effective_last_one() -> None:
    r = apply_properties_edits(b"k=1\nk=2\n", [SetProperty("k", "3")], "t")
    assert r.data == b"k=1\nk=3\n" and "1 earlier duplicate(s) left" in r.texts[0]


def test_non_ascii_values_are_unicode_escaped() -> None:
    r = apply_properties_edits(b"", [SetProperty("name", "caf\u00e9 \u2603 \U0001f600")], "t")
    assert r.data == b"name=caf\\u00e9 \\u2603 \\ud83d\\ude00\n"  # Java's UTF-16 escapes
    assert read_properties(r.data) == {"name": "caf\u00e9 \u2603 \U0001f600"}
