"""Notebook 08 against the lab: every product home runs the lab's stand-in
behind its own start scripts. The cluster is configured by 00-06, then 08
runs headless; each fault case is then caught by the step that should catch
it, with a message naming the cause and the fix. Lab tests: hold the lab lock."""

from __future__ import annotations

import time

import re

import pytest

import runbook_lib as rb
from runbook_lib.core.errors import CheckFailed
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster import lifecycle as ct
from runbook_lib.sections.cluster.artifact import PROXY
from runbook_lib.sections.cluster import traffic as tr

from .conftest import PARAMS_LAB, lab_ip

pytestmark = pytest.mark.usefixtures("lab")


@pytest.fixture(scope="module")
def cluster(lab, tmp_path_factory):
    """00-06 applied and 08 run once (the cluster left running)."""
    out = tmp_path_factory.mktemp("run08")
    summary = run_sections(PARAMS_LAB, apply=True, out_dir=out, progress=lambda *_: None)
    assert summary.ok, summary.text()
    s08 = next(s for s in summary.sections if s.name == "08_test_cluster")
    assert s08.passed > 20 and s08.failed == 0
    nb = (out / "08_test_cluster.ipynb").read_text()
    assert "requests per worker" in nb and "<svg" in nb  # the spread, as a table and a chart
    return out


@pytest.fixture()
def run(cluster):
    r = rb.open_run(PARAMS_LAB, apply=True)
    yield r
    r.close()


def node(run, name):
    return run.views[name]


def edit_text(run, v, key: str, pattern: str, repl: str) -> bytes:
    """Change one node's config file by a regular expression; returns the old bytes."""
    h, path = run.host(v.host_name), v.file(key)
    old = h.read_file(path)
    new, n = re.subn(pattern, repl, old.decode(), count=1, flags=re.S)
    assert n, f"{pattern} not in {path}"
    h.write_file(path, new.encode(), backup=False)
    return old


def restore(run, v, key: str, data: bytes) -> None:
    run.host(v.host_name).write_file(v.file(key), data, backup=False)


def test_08_leaves_a_joined_cluster_serving_the_proxy(run):
    table = ct.membership_table(run)
    assert all(cell in ("self", "joined") for row in table.rows[1:] for cell in row[1:]), table.text()
    assert ct.finish(run, leave_running=True).failed == []
    assert "worker1" in tr.spread_report(str(PARAMS_LAB))


def test_a_late_joiner_logs_no_member_joined_yet_is_judged_joined(run):
    """SOURCES.md H1: a node joining a running Hazelcast cluster logs no "Member joined" for the
    members already there; 08 judges it by the others' lines about its own uuid."""
    v = node(run, "worker3")
    assert tr.stop_node(run, v).ok
    ct.wait_left(run, v).require()
    assert ct.start_node(run, v, 60).ok
    ct.wait_joined(run, 30).require()
    seg = ct.L.latest_run(ct.read_log(run, v))
    assert "Member joined [" not in seg and ct.L.local_uuid(seg)
    others = [o for o in ct.members_of(run) if o.name != v.name]
    assert sorted(ct.views_now(run)["worker3"]) == sorted(ct.member_id(o) for o in others)


def test_stop_returns_before_the_process_ends(run):
    """SOURCES.md S1: `stop` sends TERM and returns at once; stop_node waits, bounded, and says so."""
    v = node(run, "worker3")
    h = run.host(v.host_name)
    pid = h.check("cat %s", ct.pid_path(v)).stdout.strip()
    h.check("kill -STOP %s", pid)  # a JVM slow to shut down: TERM stays pending
    try:
        assert h.run(ct.stop_command(v)).ok and ct.running(run, v)  # the script returned; the process runs
        check = ct.stop_node(run, v, timeout=3)
        assert not check.ok and f"pid {pid} still running 3s after TERM" in check.found and "kill" in check.fix
    finally:
        h.run("kill -CONT %s", pid)
    check = ct.stop_node(run, v, timeout=30)
    assert check.ok and ("exited" in check.found or "was not running" in check.found), check.found
    assert ct.start_node(run, v, 60).ok
    ct.wait_joined(run, 30).require()


def test_wrong_database_password_stops_that_node_at_start_up(run):
    v = node(run, "worker3")
    assert tr.stop_node(run, v).ok
    old = edit_text(run, v, "datasources", r"<password[^>]*>[^<]*</password>",  # secured or not (issue 19)
                    r"<password>wrong-password</password>")
    try:
        check = ct.start_node(run, v, 60)
        assert not check.ok and "Access denied" in check.found and "master-datasources.xml" in check.fix
    finally:
        restore(run, v, "datasources", old)
        assert ct.start_node(run, v, 60).ok


def test_two_nodes_with_one_offset_on_one_host(run):
    manager, v = node(run, "manager"), node(run, "worker1")  # both on node206
    assert tr.stop_node(run, v).ok
    old = edit_text(run, v, "carbon", r"<Offset>\d+</Offset>", f"<Offset>{manager.offset}</Offset>")
    try:
        check = ct.start_node(run, v, 60)
        assert not check.ok and "Address already in use" in check.found and "offset" in check.fix
    finally:
        restore(run, v, "carbon", old)
        assert ct.start_node(run, v, 60).ok


def test_a_member_list_that_names_no_live_member(run):
    v = node(run, "worker3")
    assert tr.stop_node(run, v).ok
    gone_by = time.monotonic() + 30  # the others notice it left before it comes back (no stale membership)
    while any(ct.member_id(v) in seen for name, seen in ct.views_now(run).items() if name != "worker3"):
        assert time.monotonic() < gone_by, ct.views_now(run)
        time.sleep(1)
    old = edit_text(run, v, "axis2", r"<members>\s*<member>.*?</members>",
                    lab_ip("<members><member><hostName>198.51.100.132</hostName><port>4999</port></member></members>"))
    try:
        assert ct.start_node(run, v, 60).ok  # it starts, alone
        checks = ct.wait_joined(run, 8)
        bad = {c.what.split()[0]: c for c in checks.failed}
        assert "worker3" in bad and "well-known members" in bad["worker3"].fix
        with pytest.raises(CheckFailed):
            checks.require()
    finally:
        tr.stop_node(run, v)
        restore(run, v, "axis2", old)
        assert ct.start_node(run, v, 60).ok
        assert ct.wait_joined(run, 30).failed == []


def test_a_proxy_never_reaches_a_worker_whose_synchroniser_is_off(run):
    v = node(run, "worker2")
    assert tr.stop_node(run, v).ok
    old = edit_text(run, v, "carbon", r"(<DeploymentSynchronizer>\s*<Enabled>)true", r"\1false")
    try:
        assert ct.start_node(run, v, 60).ok
        checks = tr.deploy_artifact(run, "runbook-08-sync-off", timeout=40)
        bad = [c for c in checks.failed]
        assert [c.what for c in bad] == [f"worker2: proxy {PROXY}"], checks.text()
        assert "synchroniser is off" in bad[0].fix
    finally:
        tr.stop_node(run, v)
        restore(run, v, "carbon", old)
        assert ct.start_node(run, v, 60).ok
        tr.deploy_artifact(run, "runbook-08", timeout=60).require()


def test_a_node_advertising_loopback_is_never_joined(run):
    v = node(run, "worker3")
    assert tr.stop_node(run, v).ok
    old = edit_text(run, v, "axis2", r'(<parameter name="localMemberHost">)[^<]*', r"\g<1>127.0.0.1")
    try:
        assert ct.start_node(run, v, 60).ok
        log = ct.read_log(run, v)
        assert "localMemberHost is configured to use the loopback address" in ct.L.latest_run(log)
        checks = ct.wait_joined(run, 8)
        assert {c.what.split()[0] for c in checks.failed} >= {"manager", "worker1", "worker2"}
    finally:
        tr.stop_node(run, v)
        restore(run, v, "axis2", old)
        assert ct.start_node(run, v, 60).ok
        assert ct.wait_joined(run, 30).failed == []
