"""The rolling apply on the lab (issue 21): the lab cluster applied and
serving a steady load through nginx from a lab host; a change that needs a
restart on every node (axis2.xml's clustering domain edited by hand on every
node, which 05/06 put back); `runbook run --apply --rolling`; no request
failed, every node restarted once, 08 green after. Then the runner killed
during the third node, and `runbook resume` completing the rollout without
restarting a node twice; and a resume refused when a node was restarted
underneath."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import runbook_lib as rb
from runbook_lib.lab.loadgen import cluster_load
from runbook_lib.run.journal import Journal
from runbook_lib.run.report import write_report
from runbook_lib.run.report_rolling import save_load
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster.traffic import redeploy_for_load
from runbook_lib.sections.cluster import carbonlog as L
from runbook_lib.sections.cluster.lifecycle import members_of, read_log
from runbook_lib.sections.lb.nginx_drain import drained_now

from .conftest import PARAMS_LAB
from .ownlab import converge_session_lab

pytestmark = pytest.mark.usefixtures("lab")
DOMAIN = "wso2.ei.domain"  # params/lab.yaml cluster.domain
RUNBOOK = [sys.executable, "-m", "runbook_lib.cli"]


@pytest.fixture(scope="module")
def cluster(lab, lab_params, tmp_path_factory):
    """A fresh lab with the whole runbook applied once (08 leaves the cluster running)."""
    converge_session_lab(lab_params, tmp_path_factory.mktemp("applied"))


@pytest.fixture()
def run(cluster):
    deployed = redeploy_for_load(str(PARAMS_LAB))  # 08 (here and in earlier tests) removes it at its end
    assert not deployed.failed, deployed.text()
    r = rb.open_run(PARAMS_LAB, apply=True)
    yield r
    r.close()


def change_every_node(run) -> dict[str, int]:
    """axis2.xml's domain edited on every cluster node (the runbook puts it
    back, so each needs a restart); returns each node's start count so far."""
    starts = {}
    for v in members_of(run):
        h, path = run.host(v.host_name), v.file("axis2")
        text = h.read_file(path).decode()
        new, n = re.subn(f">{re.escape(DOMAIN)}<", ">wso2.ei.edited<", text, count=1)
        assert n == 1
        h.write_file(path, new.encode(), backup=False)
        starts[v.name] = read_log(run, v).count(L.STARTING)
    return starts


def assert_rolled(run, starts: dict[str, int], out: Path) -> None:
    """Every node restarted exactly once, its file as the params say, nothing left drained."""
    for v in members_of(run):
        assert read_log(run, v).count(L.STARTING) == starts[v.name] + 1, f"{v.name} not restarted exactly once"
        assert f">{DOMAIN}<" in run.host(v.host_name).read_file(v.file("axis2")).decode()
    assert drained_now(run) == set()
    st = Journal(out).state()
    assert st.finished and all(st.batch_done(i) for i in range(4))


def runbook(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(RUNBOOK + list(args), capture_output=True, text=True, timeout=600, **kw)


def test_08_under_load_waits_until_nginx_routes_to_restarted_nodes(run, tmp_path):
    """A plain 08 restarts every node whose files changed, one after another,
    while the load runs: nginx holds the restarted ones failed for its
    fail_timeout; 08 waits until it routes to each again before judging."""
    for v in members_of(run):
        run.host(v.host_name).check("touch %s", v.file("axis2"))  # newer than the start: 08 restarts it
    load = cluster_load(run.params, 20, 600).start()
    time.sleep(2)
    after = run_sections(PARAMS_LAB, apply=True, only=["test_cluster"], out_dir=tmp_path, progress=lambda *_: None)
    result = load.stop().result()
    print(result.text())  # the plain restarts may drop requests: the rolling apply is the way not to
    assert after.ok, after.text()
    nb = (tmp_path / "08_test_cluster.ipynb").read_text()
    assert nb.count("restarted (changed since its start") >= 4
    assert "the load balancer routes to every live worker" in nb


def test_rolling_apply_under_load_drops_no_request(run, tmp_path):
    starts = change_every_node(run)
    load = cluster_load(run.params, 20, 600).start()  # stopped when the rollout ends
    time.sleep(2)
    res = runbook("run", PARAMS_LAB, "--apply", "--rolling", "--out", str(tmp_path / "r"))
    time.sleep(2)
    result = load.stop().result()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "ROLLED: 4 nodes in 4 batches" in res.stdout
    print(result.text())
    # the load kept its rate from before the rollout began until after it ended (a fixed count
    # assumed a rollout of at least 40 s: a timing assertion, which failed once it took 29 s)
    assert result.sent >= 0.95 * 20 * result.seconds and result.failed == 0, result.text()
    assert_rolled(run, starts, tmp_path / "r")
    save_load(tmp_path / "r", result)  # as the benchmark does; `runbook report` then draws it over the rollout
    page = write_report(tmp_path / "r").read_text()
    assert "ROLLED" in page and f"{result.sent} requests, 0 failed" in page and "No request failed" in page
    out_rows = page.split("id='out-times'")[1].split("</table>")[0]
    assert all(f"<td>{n}</td>" in out_rows and f"{n} out" in page for n in ("worker1", "worker2", "worker3", "manager"))
    steps = [(e["batch"], e["step"]) for e in Journal(tmp_path / "r").entries() if e["event"] == "done"]
    assert [s for b, s in steps if b == 0] == ["drain", "apply", "restart", "wait", "return", "prove"]
    after = run_sections(PARAMS_LAB, apply=True, only=["test_cluster"], out_dir=tmp_path / "08",
                         progress=lambda *_: None)
    assert after.ok and after.sections[0].failed == 0 and after.sections[0].passed > 20, after.text()


def test_runner_killed_during_the_third_node_then_resumed(run, tmp_path):
    starts = change_every_node(run)
    out = tmp_path / "r"
    load = cluster_load(run.params, 20, 600).start()
    proc = subprocess.Popen(RUNBOOK + ["run", PARAMS_LAB, "--apply", "--rolling", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 400
    while not any(e["event"] == "begin" and e.get("batch") == 2 and e["step"] == "restart"
                  for e in Journal(out).entries()):
        assert proc.poll() is None and time.monotonic() < deadline, "the rollout ended before its third node"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and anything it started, mid-step
    proc.wait()
    third = run.views["worker3"]
    assert drained_now(run) & {f"{third.address}:{third.ports['pt_http']}"}  # killed while worker3 was out
    res = runbook("resume", str(out))
    time.sleep(2)
    result = load.stop().result()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "resuming" in res.stdout and "batch 3 (worker3), step restart" in res.stdout
    print(result.text())
    assert result.failed == 0, result.text()
    assert_rolled(run, starts, out)  # worker3 restarted once, though killed in its restart step
    page = (out / "index.html").read_text()  # written when the resumed rollout ended: no load.json, the journal's times
    assert "ROLLED" in page and "no load.json" in page and "<td>worker3</td>" in page.split("id='out-times'")[1]


def test_resume_refused_when_a_node_was_restarted_underneath(run, tmp_path):
    change_every_node(run)
    out = tmp_path / "r"
    proc = subprocess.Popen(RUNBOOK + ["run", PARAMS_LAB, "--apply", "--rolling", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 400
    while not any(e["event"] == "done" and e.get("batch") == 0 and e["step"] == "prove"
                  for e in Journal(out).entries()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    manager = run.views["manager"]
    h, path = run.host(manager.host_name), manager.file("axis2")  # an operator fixes the manager by hand ...
    h.write_file(path, h.read_file(path).replace(b">wso2.ei.edited<", f">{DOMAIN}<".encode()), backup=False)
    pid = run.host(manager.host_name).run("cat %s", manager.path(manager.spec.pid_file)).stdout.strip()
    from runbook_lib.sections.cluster.lifecycle import start_node
    assert start_node(run, manager, 90).ok  # ... and restarts it (its axis2.xml is newer than its start)
    before = (out / "journal.jsonl").read_text()
    res = runbook("resume", str(out))
    assert res.returncode == 1 and "changed underneath" in res.stderr and "manager runs as pid" in res.stderr
    assert f"the journal last saw pid {pid}" in res.stderr
    assert (out / "journal.jsonl").read_text() == before  # refused before touching anything
    again = runbook("run", PARAMS_LAB, "--apply", "--rolling", "--out", str(tmp_path / "new"))
    assert again.returncode == 0, again.stdout[-3000:]  # a new rollout finishes the change
    assert json.loads((tmp_path / "new" / "rolling.json").read_text())[-1]["event"] == "finished"
