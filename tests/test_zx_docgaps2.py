"""Issue 18, remaining items, on labs built from the documents' own examples.

Item 9 (002's lab: manager, two workers, SVN): 08 removes its test proxy once it
has proven delivery, and every node logs the undeployment and drops the file (the
manager's deletion travels through SVN); `runbook rollback` of the run then leaves
no file of the run on the nodes (certificates, the JDBC driver, the proxy),
and lists the SVN repository it created instead of deleting it. On 004's lab (rsync), the
rollback also stops the schedule loop the run started and leaves no file of the run
(the loop's own log and pid file included) and no line in another host's authorized_keys."""

from __future__ import annotations

import json
import posixpath
import time
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.core.context import open_run
from runbook_lib.lab import control as labmod
from runbook_lib.params import load_params
from runbook_lib.products import TEST_PROXY
from runbook_lib.run.changelog import read_changes
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster import carbonlog as L
from runbook_lib.sections.cluster.artifact import artifact_for
from runbook_lib.sections.cluster.lifecycle import read_log

from .conftest import ROOT, skip_if_shared
from .ownlab import fresh_lab

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "runbook"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_08_removes_its_proxy_everywhere_and_rollback_leaves_nothing(tmp_path):
    path, p = fresh_lab("ei-nginx-002.yaml")
    try:
        out = tmp_path / "apply"
        summary = run_sections(path, apply=True, out_dir=out, progress=lambda *_: None)
        assert summary.ok, summary.text()
        nb = (out / "08_test_cluster.ipynb").read_text()
        assert "removed from manager, the removal delivered to every node" in nb
        run = open_run(path, apply=False)
        try:
            art = artifact_for(run)
            nodes = [v for v in run.views.values() if v.node.role in ("manager", "worker")]
            for v in nodes:  # every node logged the undeployment and holds no file
                seg = L.latest_run(read_log(run, v))
                assert art.deployments(seg) >= 1 and art.undeployments(seg) >= 1, (v.name, seg[-2000:])
                assert f"ProxyService named '{TEST_PROXY}' has been undeployed" in seg
                assert run.host(v.host_name).read_file(art.path(v)) is None, v.name
            ds = run.params.deployment_sync  # the deletion is the repository's head too
            tree = run.host(ds.host).check("svnlook tree %s", ds.repo_path, sudo=True).stdout
            assert f"{TEST_PROXY}.xml" not in tree and "proxy-services/" in tree
            history = run.host(ds.host).check(  # the deletion is a commit of its own (08's `svn delete`)
                'r=%s; for n in $(seq "$(svnlook youngest $r)" -1 1); do svnlook changed -r $n $r; done',
                ds.repo_path, sudo=True).stdout
            assert any(ln.startswith("D ") and ln.endswith(f"{TEST_PROXY}.xml") for ln in history.splitlines()), history
        finally:
            run.close()
        changes = read_changes(out)
        made = {(c.host, c.path) for c in changes if not c.existed and c.kind == "file"}
        assert any(pth.endswith(f"{TEST_PROXY}.xml") for _, pth in made)  # the copies 08 made, recorded
        assert any(pth.endswith(".key") for _, pth in made) and any(pth.endswith(".jar") for _, pth in made)
        listed = [c for c in changes if c.kind == "listed"]
        assert [c.path for c in listed] == [p.deployment_sync.repo_path]

        back = _cli("rollback", str(out), "--force")
        print(back.stdout[-6000:], back.stderr[-2000:])
        assert back.returncode == 0, back.stdout + back.stderr
        assert "NOT removed" in back.stdout and f"{p.deployment_sync.host}:{p.deployment_sync.repo_path}" in back.stdout
        run = open_run(path, apply=False)
        try:
            left = [f"{host}:{pth}" for host, pth in made if run.host(host).run("test -e %s", pth, sudo=True).ok]
            assert left == [], left  # no file the run created is left on any node
            assert run.host(ds.host).run("svnlook youngest %s", ds.repo_path, sudo=True).ok  # kept
        finally:
            run.close()
        rollback_lines = json.dumps([c.path for c in changes])
        assert ".csr" in rollback_lines
    finally:
        labmod.down(p, **quiet)


def test_elb_is_started_as_root_and_a_plain_user_start_cannot_bind(tmp_path):
    """Item 3 (000's lab: ELB on 80/443): the lab leaves the ELB host's kernel default, so only root binds
    below 1024; 08 starts the ELB as 000 does (`sudo -E sh …/wso2server.sh start`) and it routes; the same
    script run as the plain product user fails to bind port 80 and is named with the fix."""
    from runbook_lib.lab import net
    from runbook_lib.sections.cluster import lifecycle as ct

    path, p = fresh_lab("esb-elb-000.yaml")
    try:
        elb_host = p.nodes["elb"].host
        sysctl = subprocess.run(["ip", "netns", "exec", net.ns_name(elb_host), "sysctl", "-n",
                                 "net.ipv4.ip_unprivileged_port_start"], capture_output=True, text=True)
        assert sysctl.stdout.strip() == "1024", sysctl  # the kernel's default, as on a real host
        summary = run_sections(path, apply=True, out_dir=tmp_path / "apply", progress=lambda *_: None)
        assert summary.ok, summary.text()
        nb = (tmp_path / "apply" / "08_test_cluster.ipynb").read_text()
        assert "sudo -E sh /opt/wso2/elb/wso2elb-2.1.0/bin/wso2server.sh start" in nb
        run = open_run(path, apply=True)
        try:
            v, h = run.views["elb"], run.host(elb_host)
            pid = h.check("cat %s", ct.pid_path(v)).stdout.strip()
            assert h.check("ps -o user= -p %s", pid).stdout.strip() == "root"
            assert ct.stop_node(run, v).ok
            # as on a fresh host: no log or pid file yet (the root-run ELB's are root's, which a plain user cannot write)
            h.check("rm -rf %s %s", posixpath.dirname(ct.log_path(v)), ct.pid_path(v), sudo=True)
            plain = f"sh {v.node.home}/bin/wso2server.sh start"  # as the product user: what the lab no longer allows
            assert h.run(plain).ok  # the script returns at once (nohup), as the real one
            deadline = time.monotonic() + 30
            while "Permission denied" not in ct.read_log(run, v) and time.monotonic() < deadline:
                time.sleep(0.5)
            seg = L.latest_run(ct.read_log(run, v))
            assert "java.net.BindException: Permission denied" in seg and ":80" in seg, seg[-1500:]
            assert not L.started_line(seg)
            h.run("kill %s 2>/dev/null; true", h.run("cat %s", ct.pid_path(v)).stdout.strip() or "0")
            assert ct.explain(next(ln for ln in seg.splitlines() if "Permission denied" in ln)).startswith(
                "a port below 1024 needs root")
            check = ct.start_node(run, v, 90)  # the runbook's start: as root, through sudo
            assert check.ok and check.what.startswith("elb: `sudo -E sh "), check
            ct.wait_joined(run, 60).require()
        finally:
            run.close()
    finally:
        labmod.down(p, **quiet)


def test_07_reads_the_store_health_each_broker_reports(tmp_path, upstream):
    """Item 5 (003's lab): 07 reads every broker's Node List ("Message Store Health : Healthy"); when a
    broker's store operations fail (the coordination table renamed away) the broker says so, and 07's
    check fails with the cause; once the store answers again, Healthy again."""
    from runbook_lib.sections.messaging import broker_health, broker_runtime as rt

    path = ROOT / "params" / "ei-broker-003.yaml"
    skip_if_shared()
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, distributions={"ei-6.1.1": upstream / "ei-6.1.1"}, **quiet)
    run = None
    try:
        summary = run_sections(path, apply=True, only=["preflight", "databases", "broker"], out_dir=tmp_path / "1",
                               progress=lambda *_: None)
        assert summary.ok, summary.text()
        nb = (tmp_path / "1" / "07_broker.ipynb").read_text()
        assert "message store health, as each broker reports it: 2 passed, 0 failed" in nb
        run = open_run(path, apply=True)
        healthy = broker_health.store_health(run)
        assert not healthy.failed and {c.found for c in healthy.checks} == {"Healthy"}, healthy.text()
        d = run.params.database
        db = run.db_connect(d.admin_user, run.secret(d.admin_password.secret))
        name = d.names.mb_store
        db.execute(f"RENAME TABLE `{name}`.MB_NODE_HEARTBEAT TO `{name}`.MB_NODE_HEARTBEAT_AWAY")
        try:
            deadline, broken = time.monotonic() + 30, healthy
            while time.monotonic() < deadline:
                broken = broker_health.store_health(run)
                if len(broken.failed) == 2:
                    break
                time.sleep(1)
            assert len(broken.failed) == 2, broken.text()
            assert all(c.found.startswith("org.wso2.andes.kernel.AndesException: ") for c in broken.failed)
            assert "MB store" in broken.failed[0].fix
        finally:
            db.execute(f"RENAME TABLE `{name}`.MB_NODE_HEARTBEAT_AWAY TO `{name}`.MB_NODE_HEARTBEAT")
        deadline = time.monotonic() + 30
        while broker_health.store_health(run).failed and time.monotonic() < deadline:
            time.sleep(1)
        assert not broker_health.store_health(run).failed
    finally:
        if run is not None:
            for v in rt.nodes(run):
                run.host(v.host_name).run(rt.stop_command(v))
            run.close()
        labmod.down(p, **quiet)


def test_004_rsync_delivers_the_artifact_from_the_source_node(tmp_path):
    """Item 2 (004's lab, deployment_sync.kind: rsync): 06 makes node1's key, list, script and schedule (the lab's
    hosts have no cron: the schedule loop), authorises the key on node2's host; 08 writes the test proxy on node1 only
    and node2 deploys it, then undeploys it once node1's copy is gone (rsync --delete)."""
    from runbook_lib.sections.nodes import rsync_sync

    path, p = fresh_lab("ei-integrator-004.yaml")
    try:
        summary = run_sections(path, apply=True, out_dir=tmp_path / "apply", progress=lambda *_: None)
        assert summary.ok, summary.text()
        nb = (tmp_path / "apply" / "08_test_cluster.ipynb").read_text()
        assert "deployed on node1, delivered to every worker" in nb
        assert "removed from node1, the removal delivered to every node" in nb
        run = open_run(path, apply=False)
        try:
            art = artifact_for(run)
            v2 = run.views["node2"]
            seg = L.latest_run(read_log(run, v2))
            assert art.deployments(seg) >= 1 and art.undeployments(seg) >= 1, seg[-2000:]
            checks = rsync_sync.verify_rsync(run)
            assert not checks.failed and "the schedule loop runs" in checks.text(), checks.text()
            h1 = run.host(run.views["node1"].host_name)
            log = h1.check("cat ~/rsync-for-carbon-depsync/rsync.log").stdout
            assert f"syncing wso2@{v2.address}:" in log and "FAILED" not in log, log[-2000:]
            second = run_sections(path, apply=True, only=["workers"], out_dir=tmp_path / "again",
                                  progress=lambda *_: None)
            assert second.ok and sum(s.changed for s in second.sections) == 0, second.text()
            folder = h1.check('printf %s "$HOME"').stdout + "/" + rsync_sync.DIR
            pub = h1.check("cat %s/id_ed25519.pub", folder).stdout.split()[1]
        finally:
            run.close()
        _rollback_leaves_no_rsync(path, tmp_path / "apply", folder, pub)
    finally:
        labmod.down(p, **quiet)


# This host's processes (the machine's /proc shows every lab instance's: other tests' 004 labs run
# the same loop in the same folder): those in this host's network namespace.
PROCS = """me=$(readlink /proc/self/ns/net); for d in /proc/[0-9]*; do [ "$(readlink $d/ns/net)" = "$me" ] || continue; \
printf '%s %s ' "${d#/proc/}" "$(readlink $d/cwd)"; tr '\\0' ' ' < $d/cmdline; echo; done 2>/dev/null"""


def _rollback_leaves_no_rsync(path: Path, out: Path, folder: str, pub: str) -> None:
    """Item 9 for rsync: rollback stops the schedule loop the run started (by its recorded pid, its whole process
    group) and removes every file of the run, the loop's own log and pid file and the folder included, and the key
    line from the other host's authorized_keys."""
    changes = read_changes(out)
    loops = [c for c in changes if c.kind == "loop"]
    assert len(loops) == 1 and loops[0].detail == f"{folder}/schedule.sh", loops
    assert {c.path for c in changes if c.kind == "output"} == {f"{folder}/rsync.log", f"{folder}/schedule.pid"}
    made = {(c.host, c.path) for c in changes if not c.existed and c.kind in ("file", "dir", "output")}
    assert (loops[0].host, folder) in made
    keys = {(c.host, c.path) for c in changes if c.path.endswith("/.ssh/authorized_keys")}
    assert keys and all(host != loops[0].host for host, _ in keys), keys

    back = _cli("rollback", str(out))
    print(back.stdout[-6000:], back.stderr[-2000:])
    assert back.returncode == 0, back.stdout + back.stderr
    assert "stopped 1 schedule(s)" in back.stdout and "refused" not in back.stdout, back.stdout
    run = open_run(path, apply=False)
    try:
        left = [f"{host}:{pth}" for host, pth in made if run.host(host).run("test -e %s", pth, sudo=True).ok]
        assert left == [], left  # no file or folder of the run on either node
        for host in {h for h, _ in made}:  # no process of the loop (its sleep, the script, rsync) runs: none has
            # the folder as its working directory (the loop cds there) or in its command line
            procs = run.host(host).run(PROCS, sudo=True).stdout.splitlines()
            assert len(procs) > 5 and [ln for ln in procs if folder in ln] == [], (host, procs)
        for host, pth in keys:
            assert pub not in (run.host(host).read_file(pth) or b"").decode(), (host, pth)
        again = _cli("rollback", str(out))  # a second rollback finds nothing left to do
        assert again.returncode == 0 and "stop " not in again.stdout, again.stdout
    finally:
        run.close()
