"""06_workers against the shared lab: three workers (two on node132, one
beside the manager on node206) and two broker-profile nodes; the 004 member
pair on its skeleton. Each test breaks only values this section owns, proves
the preview writes nothing, applies, and proves a second apply is a no-op."""

from __future__ import annotations

import hashlib
import types

import pytest

import runbook_lib as rb
from runbook_lib.configedit import EnsureProperty, SetParameter, SetText, apply_xml_edits, get_values
from runbook_lib.params import load_params, node_views
from runbook_lib.params.derive import well_known_members
from runbook_lib.sections.nodes import clustering as cl
from runbook_lib.sections.nodes import svn

from .nbrun import applies_and_converges
from .conftest import PARAMS_LAB, ROOT, lab_ip

pytestmark = pytest.mark.lab
NB = ROOT / "notebooks" / "06_workers.ipynb"
SKELETONS = ROOT / "runbook_lib" / "lab" / "skeletons"
NS = cl.CARBON_NS
HOME = {"worker1": "/opt/wso2/worker1/wso2ei-6.1.1", "worker2": "/opt/wso2/worker2/wso2ei-6.1.1",
        "worker3": "/opt/wso2/worker3/wso2ei-6.1.1"}
BROKER_AXIS2 = "/opt/wso2/wso2ei-6.1.1/wso2/broker/conf/axis2/axis2.xml"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def edit(h, path: str, edits, ns=None) -> None:
    h.write_file(path, apply_xml_edits(h.read_file(path), edits, path, ns).data, backup=False)


def values(h, path: str, xpath: str, ns=None) -> list[str]:
    return get_values(h.read_file(path), xpath, ns)


@pytest.fixture()
def run(lab):
    r = rb.open_run(PARAMS_LAB, apply=True)
    yield r
    r.close()


def _configure(run) -> None:
    svn.plan_repository(run).apply()  # 05's, for the workers' svn checks
    for plan in (cl.plan_axis2(run, cl.WORKERS), cl.plan_carbon(run, cl.WORKERS),
                 cl.plan_catalina(run, cl.WORKERS), cl.plan_hosts(run, cl.WORKERS),
                 cl.plan_axis2(run, cl.BROKERS)):  # 07's step for the brokers: the same code, their own domain
        plan.apply()


def test_preview_changes_nothing_apply_converges_second_apply_is_a_noop(run, lab_hosts):
    _configure(run)
    n206, b1 = lab_hosts["node206"], lab_hosts["broker1"]
    axis2, carbon = f"{HOME['worker1']}/conf/axis2/axis2.xml", f"{HOME['worker1']}/conf/carbon.xml"
    # what 000's XML shows for a worker (E9), what the manager has, what the broker ships
    edit(n206, axis2, [EnsureProperty(cl.PROPS, "subDomain", "mgt"), SetParameter(cl.C, "localMemberPort", "4100")])
    edit(n206, carbon, [SetText(cl.DS + "/c:AutoCommit", "true")], NS)
    edit(b1, BROKER_AXIS2, [SetParameter(cl.C, "membershipScheme", "multicast")])
    files = [(n206, axis2), (n206, carbon), (b1, BROKER_AXIS2)]
    before = [sha(h.read_file(p)) for h, p in files]

    plans = [cl.plan_axis2(run, cl.WORKERS), cl.plan_carbon(run, cl.WORKERS), cl.plan_axis2(run, cl.BROKERS)]
    text = "\n".join(p.preview().text() for p in plans)
    assert [sha(h.read_file(p)) for h, p in files] == before  # the dry run wrote nothing
    assert '+            <property name="subDomain" value="worker"/>' in text
    assert "+        <AutoCommit>false</AutoCommit>" in text
    assert "+        <parameter name=\"membershipScheme\">wka</parameter>" in text  # the broker's CRLF line

    reports = [p.apply() for p in plans]
    assert [len(r.changed) for r in reports] == [1, 1, 1]  # worker1; worker1; broker1 (07's step)
    assert values(n206, axis2, cl.PROPS + "/property[@name='subDomain']/@value") == ["worker"]
    assert values(n206, axis2, cl._param("localMemberPort")) == ["4200"]
    assert values(n206, carbon, cl.DS + "/c:AutoCommit", NS) == ["false"]
    assert values(b1, BROKER_AXIS2, cl._param("membershipScheme")) == ["wka"]
    assert b1.read_file(BROKER_AXIS2).count(b"\n") == b1.read_file(BROKER_AXIS2).count(b"\r\n")  # CRLF kept

    after = [sha(h.read_file(p)) for h, p in files]
    assert all(not p.apply().changed for p in plans)
    assert [sha(h.read_file(p)) for h, p in files] == after


def test_every_worker_reads_back_its_own_values(run, lab_hosts, lab_params):
    _configure(run)
    ports = {}
    for name, home in HOME.items():
        v = run.views[name]
        h = lab_hosts[v.host_name]
        axis2, carbon = f"{home}/conf/axis2/axis2.xml", f"{home}/conf/carbon.xml"
        assert values(h, axis2, cl.PROPS + "/property[@name='subDomain']/@value") == ["worker"]  # E9
        assert values(h, axis2, cl._param("localMemberHost")) == [v.address]  # E10/E11: the host's IP, once
        ports.setdefault(v.host_name, []).append(values(h, axis2, cl._param("localMemberPort"))[0])
        members = list(zip(values(h, axis2, cl.C + "/members/member/hostName"),
                           map(int, values(h, axis2, cl.C + "/members/member/port"))))
        assert members == well_known_members(lab_params, name)
        assert values(h, carbon, cl.S + "/c:Ports/c:Offset", NS) == [str(v.offset)]
        assert values(h, carbon, cl.DS + "/c:AutoCommit", NS) == ["false"]
        assert values(h, carbon, cl.S + "/c:MgtHostName", NS) == []  # a worker has no console
    assert ports == {"node206": ["4200"], "node132": ["4100", "4300"]}  # distinct per host (E10)
    for b in ("broker1", "broker2"):  # 07: every broker, itself included (003), in the brokers' own domain
        assert values(lab_hosts[b], BROKER_AXIS2, cl.C + "/members/member/hostName") == lab_ip(["198.51.100.21",
                                                                                                 "198.51.100.22"])
        assert values(lab_hosts[b], BROKER_AXIS2, cl._param("domain")) == ["wso2.mb.domain"]
    assert not cl.verify_files(run, cl.WORKERS).failed


def test_verification_fails_with_a_fix_when_broken(run, lab_hosts):
    _configure(run)
    n132 = lab_hosts["node132"]
    axis2 = f"{HOME['worker3']}/conf/axis2/axis2.xml"
    try:
        edit(n132, axis2, [EnsureProperty(cl.PROPS, "subDomain", "mgt")])
        failed = cl.verify_axis2(run, cl.WORKERS).failed
        assert [(c.host, c.what, c.expected, c.found) for c in failed] == [
            ("node132", "worker3: axis2.xml subDomain (E9)", "worker", "mgt")]
        assert "apply=True" in failed[0].fix
    finally:
        cl.plan_axis2(run, cl.WORKERS).apply()
    assert not cl.verify_axis2(run, cl.WORKERS).failed


def test_hosts_one_operation_per_host_and_resolving(run):
    _configure(run)
    targets = [op.target for op in cl.plan_hosts(run, cl.WORKERS).operations]
    assert targets == ["node206:/etc/hosts", "node132:/etc/hosts"]  # the broker hosts: 07
    checks = cl.verify_hosts(run, cl.WORKERS)
    assert len(checks.checks) == 6 and not checks.failed


def test_svn_answers_from_every_worker_host(run):
    _configure(run)
    checks = svn.verify_repository(run, cl.WORKERS)
    assert [(c.host, c.ok) for c in checks.checks] == [("svn", True), ("node206", True), ("node132", True)]


def test_emptying_the_deployment_folder_backs_up_first_and_is_idempotent(run, lab_hosts):
    h = lab_hosts["node206"]
    d = f"{HOME['worker1']}/repository/deployment/server"
    only = rb.open_run(PARAMS_LAB, apply=True, hosts="worker1")
    try:
        svn.plan_empty_deployment(only).apply()  # start from the state the notebook leaves
        h.check("mkdir -p %s/synapse-configs/default/proxy-services", d)
        h.write_file(f"{d}/synapse-configs/default/proxy-services/Test.xml", b"<proxy name='Test'/>\n", backup=False)
        mode = h.check("stat -c %%a:%%U %s", d).stdout

        plan = svn.plan_empty_deployment(only)
        assert [op.target for op in plan.operations] == [f"node206:{d}"]
        preview = plan.preview()
        assert h.run("test -f %s/synapse-configs/default/proxy-services/Test.xml", d).ok  # nothing deleted
        listed = [ln[1:] for ln in preview.changes[0].diff.splitlines() if ln.startswith("-/")]
        assert listed == [f"{d}/synapse-configs", f"{d}/synapse-configs/default",
                          f"{d}/synapse-configs/default/proxy-services",
                          f"{d}/synapse-configs/default/proxy-services/Test.xml"]

        change = plan.apply().changes[0]
        assert change.changed and h.check("find %s -mindepth 1", d).stdout == ""
        assert h.check("stat -c %%a:%%U %s", d).stdout == mode  # the folder itself is kept
        backup = change.commands[1].split()[2]
        assert "./synapse-configs/default/proxy-services/Test.xml" in h.check("tar -tzf %s", backup).stdout
        assert not svn.plan_empty_deployment(only).apply().changed
        assert not svn.verify_empty_deployment(only).failed

        # a working copy belongs to the synchronizer: never emptied again
        h.check("mkdir -p %s/.svn %s/carbonapps", d, d)
        assert not svn.plan_empty_deployment(only).preview().changed
        assert svn.verify_empty_deployment(only).checks[0].found == "an SVN working copy"
        h.check("rm -rf %s/.svn", d)
        assert svn.verify_empty_deployment(only).failed  # one entry left: fails with a fix
    finally:
        svn.plan_empty_deployment(only).apply()
        only.close()


def test_start_commands_flag_workers_only(run):
    got = {c.what.split(":")[0]: c.expected for c in cl.start_commands(run, cl.WORKERS).checks}
    assert got == {
        "worker1": "sh /opt/wso2/worker1/wso2ei-6.1.1/bin/integrator.sh -DworkerNode=true",
        "worker2": "sh /opt/wso2/worker2/wso2ei-6.1.1/bin/integrator.sh -DworkerNode=true",
        "worker3": "sh /opt/wso2/worker3/wso2ei-6.1.1/bin/integrator.sh -DworkerNode=true"}  # brokers: 07


def test_host_filter_selects_one_node(lab):
    only = rb.open_run(PARAMS_LAB, hosts="worker2")
    assert [op.target for op in cl.plan_axis2(only, cl.WORKERS).operations] == [
        "node132:/opt/wso2/worker2/wso2ei-6.1.1/conf/axis2/axis2.xml"]
    assert [op.target for op in cl.plan_hosts(only, cl.WORKERS).operations] == ["node132:/etc/hosts"]
    assert svn.plan_repository(only).operations == []  # the SVN host is not selected
    only.close()


@pytest.mark.parametrize("example, role", [("ei-integrator-004.yaml", "member"), ("ei-broker-003.yaml", "broker"),
                                           ("esb-elb-000.yaml", "worker"), ("as-elb-001.yaml", "worker")])
def test_other_layouts_converge_on_their_skeletons(example, role):
    """004's equal members (no subDomain, nonWorkerManager), 003's brokers, the Carbon 4.x workers."""
    p = load_params(ROOT / "params" / example)
    fake = types.SimpleNamespace(params=p, secret=lambda name: "not-a-real-secret")
    for v in (v for v in node_views(p).values() if v.node.role == role):
        for kind in ("axis2", "carbon", "catalina"):
            step = cl.FILES[kind]
            rel, wanted, ns, roles = step.rel(v), step.wanted, step.namespaces, step.roles
            if role not in roles:
                continue
            data = (SKELETONS / v.product.dist / v.layout.conf / rel).read_bytes()
            edits, wants = wanted(fake, v, data)
            first = apply_xml_edits(data, edits, rel, ns)
            assert not apply_xml_edits(first.data, edits, rel, ns).changed
            assert all(get_values(first.data, xpath, ns) == expected for _, xpath, expected in wants)
            if kind == "axis2" and role == "member":
                assert get_values(first.data, cl.PROPS + "/property[@name='subDomain']") == []
                assert get_values(first.data, cl._param("clusteringPattern")) == ["nonWorkerManager"]
            if kind == "axis2" and role == "broker":  # 003: the other brokers, and the shipped subDomain kept
                assert get_values(first.data, cl.C + "/members/member/port") == [
                    str(port) for _, port in well_known_members(p, v.name)]
                assert get_values(first.data, cl.PROPS + "/property[@name='subDomain']/@value") == ["worker"]
            if kind == "carbon" and example == "as-elb-001.yaml":  # AS ships the synchronizer commented out
                assert get_values(first.data, cl.DS + "/c:AutoCommit", ns) == ["false"]


def test_notebook_runs_headless_and_converges(lab, lab_secrets, tmp_path):
    text = applies_and_converges(NB.name, tmp_path, lab_secrets["SVN_PASSWORD"])
    for line in ("06 axis2.xml on the worker/member nodes: 33 passed, 0 failed",
                 "06 carbon.xml on the worker/member nodes: 30 passed, 0 failed",
                 "06 catalina-server.xml on the worker/member nodes: 6 passed, 0 failed",
                 "06 /etc/hosts on the hosts of the worker/member nodes: 6 passed, 0 failed",
                 "06 SVN repository: 3 passed, 0 failed",
                 "06 worker deployment folders before the first checkout: 3 passed, 0 failed",
                 "-DworkerNode=true"):
        assert line in text
