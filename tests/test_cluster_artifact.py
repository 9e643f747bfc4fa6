"""08's test artifact per product (sections/cluster/artifact.py; the facts are the product spec's artifact), and the
clustering agent the ELB must share with its members, without the lab."""

from __future__ import annotations

from types import SimpleNamespace

from runbook_lib.params import load_params, node_views
from runbook_lib.params.derive import cluster_agent
from runbook_lib.products import HAZELCAST, TRIBES, spec_for
from runbook_lib.sections.cluster.artifact import access_log_glob, artifact_for
from runbook_lib.sections.lb.elb import axis2_wanted

from .conftest import ROOT

SKELETONS = ROOT / "runbook_lib" / "lab" / "skeletons"


def _params(name: str):
    return load_params(ROOT / "params" / name)


def test_as_layout_deploys_a_webapp_and_counts_the_access_log():
    p = _params("as-elb-001.yaml")
    art = artifact_for(SimpleNamespace(params=p))
    worker = node_views(p)["worker"]
    assert art.kind == "webapp" and art.method == "GET"
    assert art.path(worker) == "/opt/wso2/worker/wso2as-5.2.1/repository/deployment/server/webapps/" \
                               "runbook-cluster-test/index.html"
    assert art.request_path("m1") == "/runbook-cluster-test/?runbook=m1"
    assert art.content("m1") == art.content("m2")  # a new marker is no new deployment
    catalina = (SKELETONS / "as-5.2.1/repository/conf/tomcat/catalina-server.xml").read_bytes()
    assert access_log_glob(worker, catalina) == \
        "/opt/wso2/worker/wso2as-5.2.1/repository/logs/http_access_*.log"
    assert access_log_glob(worker, b"<Server/>") == ""


def test_esb_and_ei_layouts_deploy_a_proxy_with_the_marker_in_its_log_mediator():
    for name in ("esb-elb-000.yaml", "ei-nginx-002.yaml", "ei-integrator-004.yaml"):
        art = artifact_for(SimpleNamespace(params=_params(name)))
        assert art.kind == "proxy" and art.request_path("m1") == "/services/RunbookClusterTest"
        assert b'<property name="runbook" value="m1"/>' in art.content("m1")


def test_the_elb_runs_its_members_agent():
    assert spec_for("elb", "2.0.5").agents_in("2.0.5") == [TRIBES]
    assert spec_for("elb", "2.1.0").agents_in("2.1.0") == sorted([TRIBES, HAZELCAST])
    for name, agent in (("esb-elb-000.yaml", HAZELCAST), ("as-elb-001.yaml", TRIBES)):
        p = _params(name)
        assert cluster_agent(p) == agent
        v = next(v for v in node_views(p).values() if v.node.role == "elb")
        edits, wants = axis2_wanted(p, v)
        assert ("clustering agent (the members' own)", "/axisconfig/clustering/@class", [agent]) in wants
