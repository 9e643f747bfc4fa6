"""Day two on the lab: `runbook check` exits 0 on a converged cluster, 2
after one value is changed by hand on one host (naming the host, the file
and the value), 1 with a host down; each run folder gets its report."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from runbook_lib.lab import api as labmod
from runbook_lib.params import node_views

from .conftest import PARAMS_LAB, ROOT
from .ownlab import converge_session_lab

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
HAND_VALUE = "hand.edited.domain"


@pytest.fixture(scope="module")
def converged(lab, lab_params, tmp_path_factory):
    """A fresh lab with the whole runbook applied."""
    yield converge_session_lab(lab_params, tmp_path_factory.mktemp("apply"))


def check(out, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/runbook"), "check", "params/lab.yaml", "--out", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_check_exits_0_on_a_converged_lab_and_writes_the_report(converged, tmp_path):
    res = check(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "AS INTENDED" in res.stdout and "would change" not in res.stdout
    assert "[1/" not in res.stdout  # check prints the summary, not progress
    assert "Kernel is running over TCP" not in res.stdout + res.stderr
    page = (tmp_path / "index.html").read_text()
    assert "AS INTENDED: nothing would change" in page
    assert {p.name for p in tmp_path.glob("*.html")} == \
           {"index.html"} | {p.stem + ".html" for p in tmp_path.glob("[0-9][0-9]_*.ipynb")}


def test_check_exits_2_and_names_host_file_and_value_after_a_hand_edit(converged, lab_hosts, tmp_path):
    worker = node_views(converged)["worker3"]
    axis2, host = worker.file("axis2"), lab_hosts[worker.host_name]
    original = host.read_file(axis2)
    assert b"<parameter name=\"domain\">wso2.ei.domain</parameter>" in original
    host.check(f"sed -i 's|<parameter name=\"domain\">wso2.ei.domain<|<parameter name=\"domain\">{HAND_VALUE}<|' "
               f"{axis2}")
    try:
        res = check(tmp_path)
        assert res.returncode == 2, res.stdout + res.stderr
        drift = [line for line in res.stdout.splitlines() if line.startswith("  06_workers  ")]
        assert len(drift) == 1, res.stdout
        assert drift[0].startswith(f"  06_workers  {worker.host_name}  {axis2}: ")
        assert f"'{HAND_VALUE}' -> 'wso2.ei.domain'" in drift[0]
        assert "WOULD CHANGE" in res.stdout and "exit 2" in res.stdout
        # the file is as the hand left it: check changed nothing
        assert HAND_VALUE.encode() in host.read_file(axis2)
        page = (tmp_path / "index.html").read_text()
        assert "WOULD CHANGE: drift found" in page and HAND_VALUE in page
        # the one row that differs reads "to change", not a failure
        assert "1 to change, 0 failed" in res.stdout
    finally:
        host.check(f"sed -i 's|{HAND_VALUE}|wso2.ei.domain|' {axis2}")
    assert host.read_file(axis2) == original


def test_check_exits_1_naming_the_host_whose_sshd_is_down(converged, lab_params, tmp_path):
    st = labmod.status(lab_params)
    os.kill(st["hosts"]["node132"]["services"]["sshd"]["pid"], signal.SIGTERM)
    try:
        res = check(tmp_path)
        assert res.returncode == 1, res.stdout + res.stderr
        assert "FAIL 00_preflight" in res.stdout and "node132" in res.stdout
        assert "FAILED" in res.stdout.splitlines()[-2]
    finally:
        labmod.up(lab_params, PARAMS_LAB, **quiet)  # repairs: restarts node132
    assert labmod.status(lab_params)["healthy"]
