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
CASES = [(doc, style) for doc in ("004", "002") for style in (doc004 if doc == "004" else doc002).STYLES]


def _build(doc: str, p, hosts, style: str) -> None:  # noqa: ANN001 - Params, hosts
    """Build the cluster by hand as document DOC says, in STYLE, with the lab's own secrets."""
    lab_secrets = read_secrets_file(p.secrets_file)
    if doc == "004":
        doc004.build(p, hosts, style, lab_secrets["DB_ADMIN_PASSWORD"])
    else:
        doc002.build(p, hosts, style, lab_secrets["DB_ADMIN_PASSWORD"], lab_secrets["SVN_PASSWORD"])


@pytest.mark.parametrize("doc,style", CASES, ids=[f"{d}-{s}" for d, s in CASES])
def test_a_cluster_built_by_hand_is_adopted_then_applied(doc, style, tmp_path):
    skip_if_shared()
    path = ROOT / "params" / ("ei-integrator-004.yaml" if doc == "004" else "ei-nginx-002.yaml")
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    try:
        hosts = hosts_from_params(p)
        try:
            _build(doc, p, hosts, style)
        finally:
            for h in hosts.values():
                h.close()
        res = subprocess.run(discover_args(p, tmp_path / "adopted.yaml", tmp_path / "secrets.env"), cwd=ROOT,
                             capture_output=True, text=True, timeout=900, env=dict(os.environ))
        assert res.returncode in (0, 2), res.stdout + res.stderr
        assert "NOT NAMED" not in res.stdout and "params written" in res.stdout, res.stdout
        adopted = load_params(tmp_path / "adopted.yaml")
        roles = sorted(v.role for v in adopted.nodes.values())
        if doc == "004":  # two well-known members, no manager
            assert set(roles) == {"member"}, roles
        else:
            assert roles == ["manager", "worker", "worker"], roles
            assert adopted.deployment_sync.kind == "svn" and adopted.deployment_sync.host == p.deployment_sync.host
            if style == "python":  # both HTTPS vhosts in one file, kept
                assert adopted.load_balancer.vhost_files == {"http": "wso2-esb-http.conf", "https": "wso2-esb-https.conf",
                                                             "mgt": "wso2-esb-https.conf"}, adopted.load_balancer
        # members by host name (the python style) are kept as member_name, and nothing is planned for them
        named = {n: v.member_name for n, v in adopted.nodes.items() if v.well_known}
        assert all(named[n] == (v.host if style == "python" else None) for n, v in adopted.nodes.items()
                   if n in named), named
        applied = run_sections(tmp_path / "adopted.yaml", apply=True, out_dir=tmp_path / "apply",
                               progress=lambda *_: None)
        assert applied.ok, applied.text()
        assert [s.name for s in applied.sections][-1] == "08_test_cluster"
        assert _members_written(adopted) == _members_by_hand(p, style), "the runbook rewrote the members"
        if doc == "002" and style == "python":  # the two HTTPS vhosts still in their one file, and no other
            confs = _conf_d(p)
            assert sorted(confs) == ["wso2-esb-http.conf", "wso2-esb-https.conf"], sorted(confs)
            assert confs["wso2-esb-https.conf"].count("server_name ") == 2 and "X-Runbook-Vhost" in confs["wso2-esb-https.conf"]
    finally:
        labmod.down(p, **quiet)


def _members_by_hand(p, style: str) -> set[str]:  # noqa: ANN001 - Params
    """Every <hostName> the person wrote: the well-known members' host names, or their IPs."""
    hosts = {p.nodes[n].host for n in p.nodes if p.nodes[n].well_known}
    return hosts if style == "python" else {str(p.hosts[h].address) for h in hosts}


def _members_written(p) -> set[str]:  # noqa: ANN001 - Params
    """The <hostName> of every <member> in every node's axis2.xml after --apply, read on the hosts."""
    from lxml import etree
    out: set[str] = set()
    hosts = hosts_from_params(p)
    try:
        for name, v in p.nodes.items():
            data = hosts[v.host].read_file(f"{v.home}/conf/axis2/axis2.xml")
            out |= {e.text for e in etree.fromstring(data).findall("clustering/members/member/hostName")}
    finally:
        for h in hosts.values():
            h.close()
    return out


def _conf_d(p) -> dict[str, str]:  # noqa: ANN001 - Params
    """The *.conf files (what nginx includes) in the load balancer's conf.d after --apply, by name."""
    hosts = hosts_from_params(p)
    lb = hosts[p.load_balancer.host]
    try:
        names = [n for n in lb.run("ls /etc/nginx/conf.d", sudo=True).stdout.split() if n.endswith(".conf")]
        return {n: (lb.read_file(f"/etc/nginx/conf.d/{n}", sudo=True) or b"").decode() for n in names}
    finally:
        for h in hosts.values():
            h.close()
