"""Every layout in the source documents (one params example each) works end
to end: a lab is brought up from the example and the whole runbook runs
through it headless with --apply, every check passing, then converges."""

from __future__ import annotations

import json
import subprocess

import pytest

from runbook_lib import lab as labmod
from runbook_lib.params import load_params
from runbook_lib.runner import sections

from .nbrun import runs_apply_twice_and_converge
from .conftest import skip_if_shared, ROOT

pytestmark = pytest.mark.lab
EXAMPLES = sorted(p.name for p in (ROOT / "params").glob("*.yaml") if p.name != "lab.yaml")
quiet = {"log": lambda *_: None}
# 08 (starting the cluster) runs on params/lab.yaml (tests/test_zw_cluster_test.py, test_zy_runbook.py).
# Not yet on these layouts: 000 pairs ELB 2.0.5 (Tribes only) with ESB 4.8.1 (Hazelcast), which never
# see each other (CARBON-RUNTIME.md), and 001's AS has no proxy services to test with.
SECTIONS = [s for s in sections() if s != "08_test_cluster"]


def test_there_is_one_example_per_documented_layout():
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_layout_runs_end_to_end_on_its_own_lab(example, tmp_path):
    skip_if_shared()
    path = ROOT / "params" / example
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    try:
        runs_apply_twice_and_converge(path, SECTIONS, tmp_path)
    finally:
        labmod.down(p, **quiet)


def test_lab_status_describes_the_lab_that_is_up_and_the_params_that_built_it():
    skip_if_shared()
    path = ROOT / "params" / "ei-nginx-002.yaml"
    p = load_params(path)
    labmod.down(p, **quiet)
    subprocess.run([str(ROOT / ".venv/bin/runbook"), "lab", "up", "params/ei-nginx-002.yaml"], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    try:
        res = subprocess.run([str(ROOT / ".venv/bin/runbook"), "lab", "status"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        lines = res.stdout.splitlines()
        assert lines[0] == f"lab built from params/ei-nginx-002.yaml: {p.lab.dir}"
        assert [line.split()[0] for line in lines[2:-1]] == sorted(p.hosts)  # its hosts, and only those
        assert lines[-1] == "lab healthy"
        other = subprocess.run([str(ROOT / ".venv/bin/runbook"), "lab", "status", "params/lab.yaml", "--json"],
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
        st = json.loads(other.stdout)
        assert other.returncode == 3 and st["params_file"] == "params/ei-nginx-002.yaml"
        assert sorted(st["hosts"]) == sorted(p.hosts) and not st["matches"] and not st["healthy"]
        assert all(s["healthy"] for h in st["hosts"].values() for s in h["services"].values())
        assert {x["node"] for h in st["hosts"].values() for x in h["products"]} == set(p.nodes)
    finally:
        labmod.down(p, **quiet)
    res = subprocess.run([str(ROOT / ".venv/bin/runbook"), "lab", "status"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 3 and res.stdout.startswith("no lab is up")
