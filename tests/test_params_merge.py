"""One problem reported once, naming every field it concerns (issue 7): a
product problem inherited by several nodes is not repeated per node."""

from __future__ import annotations

from runbook_lib.params import validate_file

from .conftest import ROOT


def test_same_problem_on_several_nodes_is_reported_once(tmp_path):
    text = (ROOT / "params" / "ei-nginx-002.yaml").read_text()
    path = tmp_path / "elb-as-cluster.yaml"
    path.write_text(text.replace("product: {name: ei, version: 6.1.1}", "product: {name: elb, version: 2.0.5}"))
    errors, _ = validate_file(path)
    workers = [e for e in errors if "not `worker`" in e.message]
    assert len(workers) == 1, "\n".join(map(str, errors))
    assert workers[0].fields == ["nodes.worker1.role", "nodes.worker2.role"]
    assert "nodes.worker1.role, nodes.worker2.role: the ELB product can only take the role `elb`" in str(workers[0])
    assert len({str(e) for e in errors}) == len(errors)
