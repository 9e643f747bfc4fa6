"""05_manager against the shared lab: the manager's axis2.xml, carbon.xml,
catalina-server.xml and /etc/hosts on node206, and the SVN repository on the
svn host. Each test breaks only values this section owns, proves the preview
leaves the bytes alone, applies, and proves a second apply changes nothing."""

from __future__ import annotations

import hashlib
import os
import re
import types

import pytest

import runbook_lib as rb
from runbook_lib.configedit import EnsureProperty, SetAttr, SetParameter, SetText, apply_xml_edits, get_values
from runbook_lib.core.errors import CheckFailed
from runbook_lib.params import load_params, node_views
from runbook_lib.sections.nodes import clustering as cl
from runbook_lib.sections.nodes import svn

from .nbrun import applies_and_converges
from .conftest import PARAMS_LAB, ROOT, lab_ip

pytestmark = pytest.mark.lab
NB = ROOT / "notebooks" / "05_manager.ipynb"
SKELETONS = ROOT / "runbook_lib" / "lab" / "skeletons"
NS = cl.CARBON_NS
AXIS2 = "/opt/wso2/manager/wso2ei-6.1.1/conf/axis2/axis2.xml"
CARBON = "/opt/wso2/manager/wso2ei-6.1.1/conf/carbon.xml"
CATALINA = "/opt/wso2/manager/wso2ei-6.1.1/conf/tomcat/catalina-server.xml"


def sha(h, path: str, sudo: bool = False) -> str:
    return hashlib.sha256(h.read_file(path, sudo=sudo)).hexdigest()


def edit(h, path: str, edits, ns=None) -> None:
    """Put a file into a known wrong state (the test's own edit, straight over SSH)."""
    data = apply_xml_edits(h.read_file(path), edits, path, ns).data
    h.write_file(path, data, backup=False)


def values(h, path: str, xpath: str, ns=None) -> list[str]:
    return get_values(h.read_file(path), xpath, ns)


@pytest.fixture()
def run(lab):
    r = rb.open_run(PARAMS_LAB, apply=True)
    yield r
    r.close()


@pytest.fixture()
def node206(lab_hosts):
    return lab_hosts["node206"]


def _configure(run) -> None:
    for plan in (cl.plan_axis2(run, cl.MANAGER), cl.plan_carbon(run, cl.MANAGER),
                 cl.plan_catalina(run, cl.MANAGER), cl.plan_hosts(run, cl.MANAGER), svn.plan_repository(run)):
        plan.apply()


def test_preview_changes_nothing_apply_converges_second_apply_is_a_noop(run, node206):
    _configure(run)
    # back to the shipped values this section owns (E11: 127.0.0.1 active, subDomain off)
    edit(node206, AXIS2, [SetAttr(cl.C, "enable", "false"), SetParameter(cl.C, "localMemberHost", "127.0.0.1"),
                          EnsureProperty(cl.PROPS, "subDomain", "worker")])
    edit(node206, CARBON, [SetText(cl.DS + "/c:AutoCommit", "false"), SetText(cl.S + "/c:Ports/c:Offset", "0")], NS)
    node206.write_file(CATALINA, node206.read_file(CATALINA).replace(b' proxyPort="443"', b""), backup=False)
    before = {p: sha(node206, p) for p in (AXIS2, CARBON, CATALINA)}

    plans = [cl.plan_axis2(run, cl.MANAGER), cl.plan_carbon(run, cl.MANAGER), cl.plan_catalina(run, cl.MANAGER)]
    previews = [p.preview() for p in plans]
    assert {p: sha(node206, p) for p in before} == before  # a dry run writes nothing
    text = "\n".join(r.text() for r in previews)
    assert "-        <parameter name=\"localMemberHost\">127.0.0.1</parameter>" in text
    assert lab_ip("+        <parameter name=\"localMemberHost\">198.51.100.206</parameter>") in text
    assert "+        <AutoCommit>true</AutoCommit>" in text
    assert 'proxyPort="443"/>' in text and all(len(r.changed) == 1 for r in previews)

    assert all(len(p.apply().changed) == 1 for p in plans)
    assert values(node206, AXIS2, cl.C + "/@enable") == ["true"]
    assert values(node206, AXIS2, cl._param("localMemberHost")) == [lab_ip("198.51.100.206")]  # one, replaced
    assert values(node206, AXIS2, cl.PROPS + "/property[@name='subDomain']/@value") == ["mgt"]
    assert values(node206, CARBON, cl.DS + "/c:AutoCommit", NS) == ["true"]
    assert values(node206, CARBON, cl.S + "/c:Ports/c:Offset", NS) == ["1"]
    assert values(node206, CATALINA, "//Connector/@proxyPort") == ["80", "443"]

    after = {p: sha(node206, p) for p in before}
    again = [p.apply() for p in plans]
    assert all(not r.changed and "no changes" in r.headline() for r in again)
    assert {p: sha(node206, p) for p in before} == after  # byte-identical


def test_manager_values_read_back_from_the_host(run, node206, lab_secrets):
    _configure(run)
    assert values(node206, AXIS2, cl._param("domain")) == ["wso2.ei.domain"]
    assert values(node206, AXIS2, cl._param("localMemberPort")) == ["4100"]  # not shifted by Offset 1 (E10)
    # the well-known members: every well_known node but the manager itself
    assert values(node206, AXIS2, cl.C + "/members/member/hostName") == [lab_ip("198.51.100.132")]
    assert values(node206, AXIS2, cl.C + "/members/member/port") == ["4100"]
    assert values(node206, AXIS2, "//transportReceiver/parameter[@name='WSDLEPRPrefix']") == [
        "http://esb.wso2.com:80", "https://esb.wso2.com:443"]
    assert values(node206, CARBON, cl.S + "/c:MgtHostName", NS) == ["mgt.esb.wso2.com"]
    # Secure Vault on in params/lab.yaml (issue 19): `password` and the alias ServerConfiguration resolves
    assert values(node206, CARBON, cl.DS + "/c:SvnPassword", NS) == ["password"]
    assert values(node206, CARBON, cl.DS + "/c:SvnPassword/@svns:secretAlias",
                  {**NS, "svns": "http://org.wso2.securevault/configuration"}) == ["Carbon.DeploymentSynchronizer.SvnPassword"]
    assert lab_secrets["SVN_PASSWORD"].encode() not in node206.read_file(CARBON)
    data = node206.read_file(AXIS2)
    assert b'<!--property name="subDomain" value="worker"/-->' in data  # the shipped examples stay
    assert cl.verify_files(run, cl.MANAGER).failed == []


def test_verification_fails_with_a_fix_when_broken(run, node206):
    _configure(run)
    assert not cl.verify_axis2(run, cl.MANAGER).failed
    try:
        edit(node206, AXIS2, [SetParameter(cl.C, "localMemberHost", "127.0.0.1")])
        edit(node206, CARBON, [SetText(cl.DS + "/c:AutoCommit", "false")], NS)
        failed = cl.verify_axis2(run, cl.MANAGER).failed + cl.verify_carbon(run, cl.MANAGER).failed
        assert sorted(c.what for c in failed) == ["manager: axis2.xml localMemberHost",
                                                  "manager: carbon.xml DeploymentSynchronizer AutoCommit"]
        assert all(c.fix and c.found in ("127.0.0.1", "false") for c in failed)
        with pytest.raises(CheckFailed):
            rb.verify(cl.verify_axis2(run, cl.MANAGER))
    finally:
        _configure(run)
    assert not cl.verify_files(run, cl.MANAGER).failed


def test_hosts_resolve_and_a_wrong_line_is_corrected(run, node206):
    _configure(run)
    assert not cl.verify_hosts(run, cl.MANAGER).failed
    hosts = node206.read_file("/etc/hosts", sudo=True)
    try:
        wrong, n = re.subn(rb"(?m)^" + re.escape(lab_ip("198.51.100.11").encode()) + rb"(\s+)esb\.wso2\.com",
                           lab_ip("198.51.100.99").encode() + rb"\1esb.wso2.com", hosts)
        assert n == 1, hosts
        node206.write_file("/etc/hosts", wrong, sudo=True, backup=False)
        failed = cl.verify_hosts(run, cl.MANAGER).failed
        assert [(c.what, c.found) for c in failed] == [("esb.wso2.com resolves", lab_ip("198.51.100.99"))]
        broken = sha(node206, "/etc/hosts", sudo=True)
        assert cl.plan_hosts(run, cl.MANAGER).preview().changed
        assert sha(node206, "/etc/hosts", sudo=True) == broken
        cl.plan_hosts(run, cl.MANAGER).apply()
        fixed = node206.read_file("/etc/hosts", sudo=True)
        assert sorted(fixed.splitlines()) == sorted(hosts.splitlines())  # corrected, nothing else touched
    finally:
        cl.plan_hosts(run, cl.MANAGER).apply()
    assert not cl.verify_hosts(run, cl.MANAGER).failed


def test_one_hosts_operation_per_host(run):
    plan = cl.plan_hosts(run, ("manager", "worker"))
    assert [op.target for op in plan.operations] == ["node206:/etc/hosts", "node132:/etc/hosts"]


def test_svn_repository_created_once_and_answers_with_the_credentials(run, lab_hosts):
    svn_host = lab_hosts["svn"]
    path = f"/opt/svn/runbook-test-{os.getpid()}"
    ds = run.params.deployment_sync.model_copy(update={"repo_path": path})
    run.params = run.params.model_copy(update={"deployment_sync": ds})
    try:
        preview = svn.plan_repository(run).preview()
        assert preview.changed and "sudo svnadmin create " + path in preview.text()
        assert not svn_host.run("test -e %s", path).ok  # the dry run created nothing
        assert svn.plan_repository(run).apply().changed
        assert svn_host.run("svnlook youngest %s", path, sudo=True).stdout.strip() == "0"
        owner = svn_host.check("stat -c %%U %s", path).stdout.strip()
        assert owner == svn_host.check("stat -c %%U %s", "/opt/svn").stdout.strip()
        assert not svn.plan_repository(run).apply().changed  # idempotent
    finally:
        svn_host.run("rm -rf %s", path, sudo=True)


def test_svn_verification_passes_and_fails_on_a_wrong_password(run):
    svn.plan_repository(run).apply()
    checks = svn.verify_repository(run, cl.MANAGER)
    assert [(c.host, c.ok) for c in checks.checks] == [("svn", True), ("node206", True)]
    ds = run.params.deployment_sync.model_copy(update={"user": "nobody"})
    run.params = run.params.model_copy(update={"deployment_sync": ds})
    bad = svn.svn_info(run, "node206")
    assert not bad.ok and "svn info failed" in bad.found and "SVN_PASSWORD" in bad.fix


def test_start_command_is_recorded_without_setup(run):
    checks = cl.start_commands(run, cl.MANAGER)
    assert [c.expected for c in checks.checks] == ["sh /opt/wso2/manager/wso2ei-6.1.1/bin/integrator.sh"]
    assert not checks.failed


@pytest.mark.parametrize("example", ["esb-elb-000.yaml", "as-elb-001.yaml", "ei-nginx-002.yaml"])
def test_every_manager_layout_converges_on_its_skeleton(example):
    """The same edits on each product's shipped-shape files (no host needed)."""
    p = load_params(ROOT / "params" / example)
    fake = types.SimpleNamespace(params=p, secret=lambda name: "not-a-real-secret")
    v = next(v for v in node_views(p).values() if v.node.role == "manager")
    for kind in ("axis2", "carbon", "catalina"):
        step = cl.FILES[kind]
        rel, wanted, ns = step.rel(v), step.wanted, step.namespaces
        data = (SKELETONS / v.product.dist / v.layout.conf / rel).read_bytes()
        edits, wants = wanted(fake, v, data)
        first = apply_xml_edits(data, edits, rel, ns)
        assert first.changed and not apply_xml_edits(first.data, edits, rel, ns).changed
        assert all(get_values(first.data, xpath, ns) == expected for _, xpath, expected in wants)
    axis2 = (SKELETONS / v.product.dist / v.layout.conf / cl.AXIS2).read_bytes()
    assert bool(cl.wsdl_prefixes(fake, axis2)) == (p.product.name != "as")  # AS has no PassThrough listeners


def test_notebook_runs_headless_and_converges(lab, lab_secrets, tmp_path):
    text = applies_and_converges(NB.name, tmp_path, lab_secrets["SVN_PASSWORD"])
    for line in ("05 axis2.xml on the manager nodes: 11 passed, 0 failed",
                 "05 carbon.xml on the manager nodes: 11 passed, 0 failed",
                 "05 catalina-server.xml on the manager nodes: 2 passed, 0 failed",
                 "05 /etc/hosts on the hosts of the manager nodes: 3 passed, 0 failed",
                 "05 SVN repository: 2 passed, 0 failed",
                 "05 axis2.xml on the manager nodes: no changes - everything already as intended (1 checked)"):
        assert line in text
