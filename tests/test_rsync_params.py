"""`deployment_sync: kind: rsync` (issue 18 item 2): what validation refuses, with the field and the fix,
and where 08 deploys its artifact (the source node only). No lab."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from runbook_lib.params import validate_file

from .conftest import ROOT

P004 = (ROOT / "params" / "ei-integrator-004.yaml").read_text()
P002 = (ROOT / "params" / "ei-nginx-002.yaml").read_text()


def _with_sync(tmp_path, text: str, block: str):
    new = re.sub(r"(?ms)^deployment_sync:\n(?:  .*\n)+", "deployment_sync:\n" + block, text)
    assert new != text
    f = tmp_path / "p.yaml"
    f.write_text(new)
    return validate_file(f)


def test_004_example_uses_rsync_from_node1():
    errors, warnings = validate_file(ROOT / "params" / "ei-integrator-004.yaml")
    assert errors == [] and "kind: rsync" in P004 and "source: node1" in P004


@pytest.mark.parametrize("block, field, words", [
    ("  kind: rsync\n", "deployment_sync.source", "required for rsync"),
    ("  kind: rsync\n  source: node9\n", "deployment_sync.source", "not a node"),
    ("  kind: rsync\n  source: node1\n  url: svn://x/y\n", "deployment_sync.url", "would be ignored"),
    ("  kind: none\n  source: node1\n", "deployment_sync.source", "would be ignored"),
    ("  kind: rsync\n  source: node1\n  interval_min: 0\n", "interval_min", ""),
])
def test_rsync_mistakes_are_refused_with_the_field(tmp_path, block, field, words):
    errors, _ = _with_sync(tmp_path, P004, block)
    assert any(field in str(e) and words in str(e) for e in errors), errors


def test_with_a_manager_the_manager_is_the_source(tmp_path):
    errors, _ = _with_sync(tmp_path, P002, "  kind: rsync\n  source: worker1\n")
    assert any("deployment_sync.source" in str(e) and "worker" in str(e) for e in errors), errors
    errors, warnings = _with_sync(tmp_path, P002, "  kind: rsync\n  source: manager\n")
    assert errors == [] and not [w for w in warnings if "no deployment synchronizer" in str(w)]


def test_08_deploys_on_the_source_only():
    from runbook_lib.params import load_params, node_views
    from runbook_lib.sections.cluster.traffic import deploy_targets
    p = load_params(ROOT / "params" / "ei-integrator-004.yaml")
    views = node_views(p)
    run = SimpleNamespace(params=p, views=views, selected_nodes=lambda roles=None: list(views.values()))
    assert [v.name for v in deploy_targets(run)] == ["node1"]
