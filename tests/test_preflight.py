"""The preflight notebook, run headless with papermill against the lab."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from runbook_lib.lab import control as labmod

from .conftest import PARAMS_LAB, ROOT, skip_if_shared
from .nbrun import outputs_text, papermill

pytestmark = pytest.mark.lab
NB = ROOT / "notebooks" / "00_preflight.ipynb"


def _papermill(out, *extra: str) -> subprocess.CompletedProcess:
    return papermill("00_preflight.ipynb", out, *extra)[0]


def test_preflight_passes_on_the_lab(lab, tmp_path):
    res = _papermill(tmp_path / "out.ipynb")
    assert res.returncode == 0, res.stderr[-2000:]
    text = outputs_text(tmp_path / "out.ipynb")
    assert "preflight: 45 passed, 0 failed" in text  # 7 hosts; clocks: 4 node hosts + the spread (E17)
    assert "manager  manager/mgt    node206  198.51.100.206  ei-6.1.1  1" in text
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
        # 45 less node132's 10, which never ran, and its clock row (E17: the other 3 node hosts compared)
        assert "preflight: 34 passed, 1 failed" in text
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
