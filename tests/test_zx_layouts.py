"""Every layout in the source documents (one params example each) works end
to end: a lab is brought up from the example and the whole runbook runs
through it headless with --apply, every check passing, then converges.
Secure Vault (issue 19): the examples that turn it on leave every secret
the runbook wrote encrypted on the nodes; the one that leaves it off (001)
then has it turned on, on the same lab, and converges again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from lxml import etree

from runbook_lib.lab import api as labmod
from runbook_lib.core.context import open_run
from runbook_lib.params import load_params
from runbook_lib.run.runner import run_sections, sections
from runbook_lib.sections.cluster.artifact import artifact_for
from runbook_lib.sections.cluster.through_lb import serving
from runbook_lib.sections.securevault.startup import password_file
from runbook_lib.sections.securevault.vaultfiles import revealed

from .conftest import skip_if_shared, ROOT

pytestmark = pytest.mark.lab
EXAMPLES = sorted(p.name for p in (ROOT / "params").glob("*.yaml") if p.name != "lab.yaml")
quiet = {"log": lambda *_: None}
SVNS = "{http://org.wso2.securevault/configuration}secretAlias"
FILES = [s for s in sections() if s != "08_test_cluster"]  # the sections that change files


def test_there_is_one_example_per_documented_layout():
    assert len(EXAMPLES) == 5


def _vault_on(path: Path, tmp: Path) -> Path:
    """PATH with Secure Vault turned on, the keystore's password by name (KEYSTORE_PASSWORD)."""
    raw = yaml.safe_load(path.read_text())
    raw["securevault"] = {"enabled": True, "keystore_password": {"secret": "KEYSTORE_PASSWORD"}}
    out = tmp / path.name
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _secured(path: Path) -> int:
    """Every node's datasource passwords, as the runbook left them under Secure Vault: the file
    says `password` and names the alias, the value is nowhere in it, the alias's cipher text
    decrypts with the node's key to the database password, and password-tmp is gone."""
    run, n = open_run(path), 0
    try:
        want = run.secret(run.params.database.app_password.secret)
        for v in run.views.values():
            if v.node.role == "elb":  # the ELB's own files hold none of these secrets
                continue
            h = run.host(v.host_name)
            data = h.read_file(v.file("datasources"))
            assert want.encode() not in data and b'svns:secretAlias="Datasources.' in data, v.name
            marked = [el.get(SVNS) for el in etree.fromstring(data).iter() if isinstance(el.tag, str) and el.get(SVNS)]
            assert marked, v.name  # (a commented-out sample datasource in the shipped file is not one of them)
            for alias in set(marked):
                assert revealed(run, v, alias) == want, (v.name, alias)
                n += 1
            assert not h.run("test -e %s", password_file(v)).ok, v.name
    finally:
        run.close()
    return n


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_layout_runs_end_to_end_on_its_own_lab(example, tmp_path, monkeypatch):
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
        if p.securevault.enabled:
            assert _secured(path) >= 2
        else:  # the example without the vault: turned on for the running cluster, 08 passes, then converged
            assert not (tmp_path / "on").exists()
            (tmp_path / "on").mkdir()
            on = _vault_on(path, tmp_path / "on")
            monkeypatch.setenv("KEYSTORE_PASSWORD", "wso2carbon")  # the lab's keystores keep WSO2's shipped one
            third = run_sections(on, apply=True, out_dir=tmp_path / "3", progress=lambda *_: None)
            assert third.ok and sum(s.changed for s in third.sections) > 0, third.text()
            again = run_sections(on, apply=True, only=FILES, out_dir=tmp_path / "4", progress=lambda *_: None)
            assert again.ok and sum(s.changed for s in again.sections) == 0, again.text()
            assert _secured(on) >= 2
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
