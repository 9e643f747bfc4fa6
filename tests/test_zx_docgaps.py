"""Issue 18 gaps, on labs built from the documents' own examples:

- E16: 01 sets the ELB's PassThrough socket timeout (milliseconds) in
  passthru-http.properties on the ELB host (001's example), and only that line;
- 004's nginx vhosts carry the WebSocket upgrade headers and the log lines
  002/004 name, `nginx -t` accepts them, and a WebSocket upgrade request sent
  through nginx reaches the backend with its Upgrade/Connection headers."""

from __future__ import annotations

import pytest

from runbook_lib.configedit import read_properties
from runbook_lib.core.context import open_run
from runbook_lib.lab import control as labmod
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections

from .conftest import ROOT, skip_if_shared

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
SKEL_PASSTHRU = ROOT / "runbook_lib/lab/skeletons/elb-2.0.5/repository/conf/passthru-http.properties"


def _lab(name: str):
    skip_if_shared()
    path = ROOT / "params" / name
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    return path, p


def test_e16_elb_socket_timeout_on_the_001_lab(tmp_path):
    path, p = _lab("as-elb-001.yaml")
    try:
        plan = run_sections(path, apply=False, only=["01_load_balancer"], out_dir=tmp_path / "0",
                            progress=lambda *_: None)
        assert plan.exit_code == 2, plan.text()  # drift before the first apply: the timeout among it
        first = run_sections(path, apply=True, only=["01_load_balancer"], out_dir=tmp_path / "1",
                             progress=lambda *_: None)
        assert first.ok, first.text()
        run = open_run(path)
        try:
            v = next(v for v in run.views.values() if v.node.role == "elb")
            h = run.host(v.host_name)
            data = h.read_file(v.file("passthru"))
            assert read_properties(data)["http.socket.timeout"] == "60000"
            shipped = SKEL_PASSTHRU.read_bytes()  # what the lab installed (the skeleton)
            changed = [(a, b) for a, b in zip(shipped.splitlines(), data.splitlines()) if a != b]
            assert changed == [(b"http.socket.timeout=6000", b"http.socket.timeout=60000")]
            assert len(shipped.splitlines()) == len(data.splitlines())
            # a hand edit back to 001's "60 seconds" is drift that 01 names and puts right
            assert h.run("sed -i 's/^http.socket.timeout=.*/http.socket.timeout=6000/' %s", v.file("passthru")).ok
        finally:
            run.close()
        check = run_sections(path, apply=False, only=["01_load_balancer"], out_dir=tmp_path / "2",
                             progress=lambda *_: None)
        assert check.exit_code == 2 and "http.socket.timeout" in check.text(), check.text()
        again = run_sections(path, apply=True, only=["01_load_balancer"], out_dir=tmp_path / "3",
                             progress=lambda *_: None)
        assert again.ok and sum(s.changed for s in again.sections) == 1, again.text()
    finally:
        labmod.down(p, **quiet)
