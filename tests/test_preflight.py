"""The preflight notebook, run headless with papermill against the lab."""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess

import pytest

from runbook_lib.lab import api as labmod

from .conftest import PARAMS_LAB, ROOT, skip_if_shared, lab_ip
from .nbrun import outputs_text, papermill

pytestmark = pytest.mark.lab
NB = ROOT / "notebooks" / "00_preflight.ipynb"


def _papermill(out, *extra: str) -> subprocess.CompletedProcess:
    return papermill("00_preflight.ipynb", out, *extra)[0]


def test_preflight_passes_on_the_lab(lab, tmp_path):
    res = _papermill(tmp_path / "out.ipynb")
    assert res.returncode == 0, res.stderr[-2000:]
    text = outputs_text(tmp_path / "out.ipynb")
    assert "preflight: 55 passed, 0 failed" in text  # 7 hosts; JAVA_HOME and JDK per node host; clocks (E17); 6 keystores (issue 19)
    assert "JDK at $JAVA_HOME for ei-6.1.1" in text and "1.8.0_372" in text  # the lab's stand-in JDK
    assert lab_ip("manager  manager/mgt    node206  198.51.100.206  ei-6.1.1  1") in text
    assert "thrift=7614" in text  # E12: the broker's Offset 3 shifts the thrift port


def test_preflight_fails_naming_the_host_whose_sshd_is_down(lab, lab_params, tmp_path):
    skip_if_shared()
    # read afresh: an earlier test module may have rebuilt the lab since the session began
    sshd = labmod.status(lab_params)["hosts"]["node132"]["services"]["sshd"]["pid"]
    os.kill(sshd, signal.SIGTERM)
    try:
        res = _papermill(tmp_path / "out.ipynb")
        assert res.returncode != 0
        assert "node132: SSH with the known host key" in res.stderr + outputs_text(tmp_path / "out.ipynb")
        text = outputs_text(tmp_path / "out.ipynb")
        assert re.search(r"^FAIL\s+node132\s+SSH with the known host key", text, re.M)
        assert "Connection refused" in text or "cannot connect" in text
        # every other host's results are still there
        for host in ("db", "lb", "svn", "node206", "broker1", "broker2"):
            assert re.search(rf"^ok\s+{host}\s+SSH with the known host key", text, re.M), host
        # 55 less node132's 13 (2 keystores), which never ran, and its clock row (E17: the other node hosts compared)
        assert "preflight: 41 passed, 1 failed" in text
    finally:
        secrets_before = open(lab["secrets_file"]).read()
        pids_before = {h: v["services"] for h, v in labmod.status(lab_params)["hosts"].items()}
        said: list[str] = []
        labmod.up(lab_params, PARAMS_LAB, log=said.append)  # repairs: restarts only what died
        st = labmod.status(lab_params)
        assert st["healthy"] and said == ["lab repaired: restarted node132"]
        assert open(lab["secrets_file"]).read() == secrets_before
        assert {h: v["services"] for h, v in st["hosts"].items() if h != "node132"} == \
               {h: v for h, v in pids_before.items() if h != "node132"}


def test_preflight_host_filter(lab, tmp_path):
    res = _papermill(tmp_path / "out.ipynb", "-p", "hosts", "lb,worker2")
    assert res.returncode == 0, res.stderr[-2000:]
    text = outputs_text(tmp_path / "out.ipynb")
    checks = text[text.index("preflight: "):]  # the topology above always lists every node
    assert "FAIL" not in checks
    hosts = {line.split()[1] for line in checks.splitlines()[2:] if line.startswith("ok ")}
    assert hosts == {"lb", "node132"}


JDK17 = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*"))


@pytest.mark.parametrize("java_home", ["jdk17", "unset"])
def test_unsupported_or_missing_jdk_is_refused_by_preflight_and_the_start_script(lab, java_home):
    """SOURCES.md J1-J2: the product user's JAVA_HOME over a non-interactive SSH session: the
    machine's real JDK 17, or none. Preflight fails with the fix; the start script refuses too."""
    if java_home == "jdk17" and not JDK17:
        pytest.skip("no JDK 17 on this machine")
    import runbook_lib as rb
    from runbook_lib.sections.hosts import preflight_checks as preflight
    run = rb.open_run(PARAMS_LAB)
    try:
        h = run.host("node132")
        bashrc = f"/home/{run.params.hosts['node132'].ssh_user}/.bashrc"
        old = h.read_file(bashrc)
        new = old.decode().replace("export JAVA_HOME=", f"export JAVA_HOME={JDK17[0]} #" if java_home == "jdk17"
                                   else "# export JAVA_HOME=")
        h.write_file(bashrc, new.encode(), backup=False)
        try:
            checks = {c.what: c for c in preflight._host_checks(run, h, {})}
            if java_home == "jdk17":
                c = next(c for w, c in checks.items() if w.startswith("JDK at $JAVA_HOME"))
                assert not c.ok and c.found.startswith("17.") and "1.7 or 1.8" in c.fix
            else:
                c = checks["JAVA_HOME set"]
                assert not c.ok and c.found == "(not set)" and "JAVA_HOME is not defined correctly" in c.fix
            v = next(v for v in run.views.values() if v.host_name == "node132")
            script = f"{v.node.home}/{v.spec.start_script}"
            if java_home == "jdk17":  # the foreground run: the JVM itself refuses -Djava.endorsed.dirs
                res = h.run("timeout 60 sh %s", script)
                assert res.rc == 1 and " [ERROR] CARBON is supported only on JDK 1.7 and 1.8" in res.stdout
                assert "Error: Could not create the Java Virtual Machine." in res.stdout + res.stderr
            else:
                res = h.run("sh %s start", script)
                assert res.rc == 1 and "Error: JAVA_HOME is not defined correctly." in res.stdout
        finally:
            h.write_file(bashrc, old, backup=False)
        assert all(c.ok for c in preflight._host_checks(run, h, {}) if "JAVA" in c.what or "JDK" in c.what)
    finally:
        run.close()
