"""Clusters built by hand (tests/handbuilt/), adopted: for each style of
documents 002 and 004, discover -> the params validate -> the plan shows no difference
the consistency report does not name -> --apply -> 08 passes."""

from __future__ import annotations

import os
import subprocess

import pytest

from runbook_lib.lab import api as labmod
from runbook_lib.params import load_params
from runbook_lib.params.secrets import read_secrets_file
from runbook_lib.remote.inventory import hosts_from_params
from runbook_lib.run.runner import run_sections

from .conftest import ROOT, skip_if_shared
from .handbuilt import doc002, doc004
from .test_zx_discover import discover_args

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
EI004 = ROOT / "params" / "ei-integrator-004.yaml"


@pytest.mark.parametrize("style", doc004.STYLES)
def test_a_004_cluster_built_by_hand_is_adopted_then_applied(style, tmp_path):
    skip_if_shared()
    p = load_params(EI004)
    labmod.down(p, **quiet)
    labmod.up(p, EI004, **quiet)
    try:
        hosts = hosts_from_params(p)
        try:
            doc004.build(p, hosts, style, read_secrets_file(p.secrets_file)["DB_ADMIN_PASSWORD"])
        finally:
            for h in hosts.values():
                h.close()
        res = subprocess.run(discover_args(p, tmp_path / "adopted.yaml", tmp_path / "secrets.env"), cwd=ROOT,
                             capture_output=True, text=True, timeout=900, env=dict(os.environ))
        assert res.returncode in (0, 2), res.stdout + res.stderr
        assert "NOT NAMED" not in res.stdout and "params written" in res.stdout
        adopted = load_params(tmp_path / "adopted.yaml")
        assert {n.role for n in adopted.nodes.values()} == {"member"}
        applied = run_sections(tmp_path / "adopted.yaml", apply=True, out_dir=tmp_path / "apply",
                               progress=lambda *_: None)
        assert applied.ok, applied.text()
        assert [s.name for s in applied.sections][-1] == "08_test_cluster"
    finally:
        labmod.down(p, **quiet)


EI002 = ROOT / "params" / "ei-nginx-002.yaml"


@pytest.mark.parametrize("style", doc002.STYLES)
def test_a_002_cluster_built_by_hand_is_adopted_then_applied(style, tmp_path):
    skip_if_shared()
    p = load_params(EI002)
    labmod.down(p, **quiet)
    labmod.up(p, EI002, **quiet)
    try:
        hosts = hosts_from_params(p)
        lab_secrets = read_secrets_file(p.secrets_file)
        try:
            doc002.build(p, hosts, style, lab_secrets["DB_ADMIN_PASSWORD"], lab_secrets["SVN_PASSWORD"])
        finally:
            for h in hosts.values():
                h.close()
        res = subprocess.run(discover_args(p, tmp_path / "adopted.yaml", tmp_path / "secrets.env"), cwd=ROOT,
                             capture_output=True, text=True, timeout=900, env=dict(os.environ))
        assert res.returncode in (0, 2), res.stdout + res.stderr
        assert "NOT NAMED" not in res.stdout and "params written" in res.stdout, res.stdout
        adopted = load_params(tmp_path / "adopted.yaml")
        roles = {n: v.role for n, v in adopted.nodes.items()}
        assert sorted(roles.values()) == ["manager", "worker", "worker"], roles
        assert adopted.deployment_sync.kind == "svn" and adopted.deployment_sync.host == p.deployment_sync.host
        applied = run_sections(tmp_path / "adopted.yaml", apply=True, out_dir=tmp_path / "apply",
                               progress=lambda *_: None)
        assert applied.ok, applied.text()
        assert [s.name for s in applied.sections][-1] == "08_test_cluster"
    finally:
        labmod.down(p, **quiet)
