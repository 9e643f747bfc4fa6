"""Every layout in the source documents (one params example each) works end
to end: a lab is brought up from the example and the whole runbook runs
through it headless with --apply, every check passing, then converges."""

from __future__ import annotations

import json
import subprocess

import pytest

from runbook_lib.lab import api as labmod
from runbook_lib.core.context import open_run
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections, sections
from runbook_lib.sections.cluster.artifact import artifact_for
from runbook_lib.sections.cluster.through_lb import serving

from .conftest import skip_if_shared, ROOT

pytestmark = pytest.mark.lab
EXAMPLES = sorted(p.name for p in (ROOT / "params").glob("*.yaml") if p.name != "lab.yaml")
quiet = {"log": lambda *_: None}
FILES = [s for s in sections() if s != "08_test_cluster"]  # the sections that change files


def test_there_is_one_example_per_documented_layout():
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_layout_runs_end_to_end_on_its_own_lab(example, tmp_path):
    """The whole runbook with --apply, 08 included (start the cluster, deploy,
    send traffic, stop and restart a worker), then the file sections again:
    nothing left to change. Each worker's own log shows the requests it served."""
    skip_if_shared()
    path = ROOT / "params" / example
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    try:
        first = run_sections(path, apply=True, out_dir=tmp_path / "1", progress=lambda *_: None)
        assert first.ok, first.text()
        assert sum(s.changed for s in first.sections) > 0
        second = run_sections(path, apply=True, only=FILES, out_dir=tmp_path / "2", progress=lambda *_: None)
        assert second.ok and sum(s.changed for s in second.sections) == 0, second.text()
        run = open_run(path)
        try:
            art = artifact_for(run)
            served = {v.name: art.served(run, v, "runbook-08") for v in serving(run)}
        finally:
            run.close()
        if example == "ei-broker-003.yaml":  # brokers only: 07 proves their cluster, 08 has nothing to start
            assert served == {}
        else:  # three rounds of requests (before, during, after a worker's stop) reached every worker
            assert served and all(n > 0 for n in served.values()), served
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
