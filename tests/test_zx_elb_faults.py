"""Faults only a running WSO2 ELB layout shows (document 000 on its own lab,
the ELB and the ESB nodes run by the lab's stand-in), each caught by 08's
step that should catch it, with the cause and the fix named:

- a worker advertising subDomain `mgt` (as 000's worker XML shows, ERRATA E9)
  gets no worker traffic, and the ELB sends it console requests;
- an ELB layout whose nodes do not list the ELB as a well-known member: the
  ELB learns no member and answers "No application members available"
  (params validation refuses `well_known: false` on the ELB node before
  anything changes; here the files drifted after the runbook ran).

Each fault is made by editing nodes' files on their lab hosts; 08 restarts
a node whose configuration changed; 05/06 then put the files right."""

from __future__ import annotations

import time

from lxml import etree

import pytest

from runbook_lib.core.context import open_run
from runbook_lib.run.runner import run_sections
from runbook_lib.sections.cluster import lifecycle as ct
from runbook_lib.sections.cluster import traffic as tr
from runbook_lib.sections.cluster.traffic import redeploy_for_load

from .conftest import ROOT
from .ownlab import applied_lab

pytestmark = pytest.mark.lab
PARAMS = ROOT / "params" / "esb-elb-000.yaml"
MARKER = "runbook-08"  # the log property of the proxy 08 deployed


@pytest.fixture(scope="module")
def elb_lab(tmp_path_factory):
    with applied_lab(PARAMS.name, tmp_path_factory.mktemp("run"), skip=("07_broker",)):
        deployed = redeploy_for_load(str(PARAMS), MARKER)  # 08 removed it at its end (issue 18): every request got 500
        assert not deployed.failed, deployed.text()
        run = open_run(PARAMS)
        try:
            yield run
        finally:
            run.close()


def _edit_axis2(run, node: str, change) -> None:
    """Change NODE's axis2.xml on its host with CHANGE(root), as a hand edit would."""
    v = run.views[node]
    h, path = run.host(v.host_name), v.file("axis2")
    root = etree.fromstring(h.read_file(path))
    change(root)
    assert h.run("cat > %s", path, stdin=etree.tostring(root, xml_declaration=True, encoding="UTF-8")).ok


def _restore(run, tmp_path) -> None:
    """05/06 put the files back; 08's start restarts the nodes with them."""
    res = run_sections(PARAMS, apply=True, only=["05_manager", "06_workers"], out_dir=tmp_path / "restore",
                       progress=lambda *_: None)
    assert res.ok and sum(s.changed for s in res.sections) > 0, res.text()
    assert not ct.start_cluster(run, 60).failed
    assert not ct.wait_joined(run, 60).failed


def test_worker_with_subdomain_mgt_gets_no_traffic_and_is_named(elb_lab, tmp_path):
    run = elb_lab

    def to_mgt(root):
        (prop,) = root.xpath("/axisconfig/clustering/parameter[@name='properties']/property[@name='subDomain']")
        prop.set("value", "mgt")

    _edit_axis2(run, "worker3", to_mgt)
    start = ct.start_node(run, run.views["worker3"], 60)
    assert start.ok and "restarted (changed since its start: axis2/axis2.xml)" in start.found
    assert not ct.wait_joined(run, 60).failed  # it is a member: only the routing is wrong
    console = tr.console_checks(run)
    assert console.failed and "worker3 advertise subDomain `mgt`" in console.text()
    sent, spread = tr.send_requests(run, 12, MARKER)
    assert not sent.failed, sent.text()  # worker1 and worker2 answer every one
    assert spread.counts["worker3"] == 0 and spread.counts["worker1"] > 0 and spread.counts["worker2"] > 0
    checks = tr.spread_checks(run, spread)
    (bad,) = [c for c in checks.checks if not c.ok]
    assert bad.what == "worker3 served" and "subDomain `mgt`" in bad.fix and "ERRATA E9" in bad.fix
    _restore(run, tmp_path)
    sent, spread = tr.send_requests(run, 12, MARKER)
    assert not sent.failed, sent.text()
    assert not tr.spread_checks(run, spread).failed


def test_nodes_that_do_not_list_the_elb_are_never_routed_to(elb_lab, tmp_path):
    run = elb_lab
    elb_port = str(run.params.load_balancer.group_mgt_port)

    def drop_elb(root):
        gone = [m for m in root.xpath("/axisconfig/clustering/members/member") if m.findtext("port") == elb_port]
        assert len(gone) == 1
        gone[0].getparent().remove(gone[0])

    members = ct.members_of(run)
    for node in members:
        _edit_axis2(run, node.name, drop_elb)
    # A cold start: a running Hazelcast cluster would keep the ELB it already holds through a rolling restart.
    for node in reversed(members):
        assert tr.stop_node(run, node).ok
    deadline = time.monotonic() + 30
    while ct.views_now(run)["elb"] and time.monotonic() < deadline:  # the ELB logs each of them as left
        time.sleep(1)
    assert ct.views_now(run)["elb"] == []
    assert not ct.start_cluster(run, 60).failed
    joined = ct.wait_joined(run, 15)
    bad = [c for c in joined.checks if not c.ok]
    assert [(c.what, c.found) for c in bad] == [("elb sees as members", "(none)")], joined.text()
    assert "does not see manager, worker2, worker1, worker3" in bad[0].fix and "every node lists the ELB" in bad[0].fix
    checks, spread = tr.send_requests(run, 6, MARKER)
    assert checks.failed and "0 x 200" in checks.checks[0].found and "503" in checks.checks[0].found
    assert set(spread.counts.values()) == {0}
    log = run.host("node206").read_file(run.views["elb"].path("repository/logs/wso2carbon.log")).decode()
    assert "ERROR {org.apache.synapse.endpoints.dispatch.TenantAwareLoadBalanceEndpoint} -  No application members " \
           "available" in log
    _restore(run, tmp_path)
