"""A product version the lab has no skeleton of: EI 6.4.0, with real files.

The params model accepts every version of a supported line; the lab builds
the home on the skeleton of the nearest version of the same line (EI 6.1.1),
lays the real files of the distribution over it (here WSO2's 6.1.1 files in a
folder named for 6.4.0, standing for a real 6.4.0 unpacked), and the runbook
configures it as any other: preflight, then 03-06 with apply, then converges.
"""

from __future__ import annotations

import shutil

import pytest

from runbook_lib.lab import api as labmod
from runbook_lib.lab.homes import nearest_skeleton
from runbook_lib.params import load_params, node_views
from runbook_lib.products import spec_for

from .nbrun import runs_apply_twice_and_converge
from .conftest import ROOT, skip_if_shared

pytestmark = pytest.mark.lab
UPSTREAM = ROOT.parent / "shared" / "wso2-upstream" / "ei-6.1.1"
SECTIONS = ["preflight", "databases", "registry_mount", "manager", "workers"]


def test_nearest_skeleton_is_of_the_same_line():
    assert nearest_skeleton("ei", "6.4.0").skeleton == "ei-6.1.1"
    assert nearest_skeleton("esb", "4.9.0").skeleton == "esb-4.8.1"
    assert nearest_skeleton("as", "5.3.0").skeleton == "as-5.2.1"
    assert nearest_skeleton("ei", "6.1.1").exact
    assert spec_for("esb", "4.9.0").clustering_agent("4.9.0").endswith("HazelcastClusteringAgent")


def _params_for(version: str, tmp_path) -> tuple:
    """params/ei-nginx-002.yaml (manager, two workers, SVN) for another EI version."""
    text = (ROOT / "params" / "ei-nginx-002.yaml").read_text().replace("6.1.1", version)
    path = tmp_path / f"ei-nginx-002-{version}.yaml"
    path.write_text(text)
    dist = tmp_path / f"ei-{version}"
    shutil.copytree(UPSTREAM, dist)
    return path, dist


def test_version_without_skeleton_comes_up_from_real_files_and_converges(tmp_path):
    skip_if_shared()
    path, dist = _params_for("6.4.0", tmp_path)
    p = load_params(path)  # valid: any EI 6.x, and the lab has a skeleton of the line
    assert {v.product.version for v in node_views(p).values()} == {"6.4.0"}
    lines: list[str] = []
    labmod.down(p, log=lambda *_: None)
    try:
        labmod.up(p, path, {"ei-6.4.0": dist}, log=lines.append)
        said = [ln for ln in lines if "<-" in ln]
        assert said and all("skeleton ei-6.1.1 (nearest to ei-6.4.0, same line)" in ln and str(dist) in ln
                            for ln in said), lines
        home = labmod.lab_paths(p).host("ei102") / "opt" / "wso2" / "wso2ei-6.4.0"
        assert (home / "bin/version.txt").read_text() == "WSO2 Enterprise Integrator v6.4.0\n"
        assert (home / "conf/axis2/axis2.xml").read_bytes() == (UPSTREAM / "conf/axis2/axis2.xml").read_bytes()

        runs_apply_twice_and_converge(path, SECTIONS, tmp_path)
    finally:
        labmod.down(p, log=lambda *_: None)
