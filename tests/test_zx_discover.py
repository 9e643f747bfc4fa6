"""`runbook discover` on the lab (issue 20): the lab layout, document 004's
(under Secure Vault) and the WSO2 ELB layouts 000 and 001, each after the
runbook applied it, adopted with a params file that validates and whose plan
changes nothing (004 and the ELB layouts then applied, 08 passing); secrets only by name, their values in a 0600
file; bad input reported by name; and discover changes nothing anywhere
(config files, /etc/hosts, nginx, tables, users, grants, running nodes)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from runbook_lib.lab import api as labmod
from runbook_lib.params import load_params, node_views
from runbook_lib.params.secrets import PUBLISHED_DEFAULTS, read_secrets_file
from runbook_lib.remote.db import Db
from runbook_lib.remote.inventory import hosts_from_params
from runbook_lib.run.runner import run_sections

from .conftest import ROOT, lab_ip, skip_if_shared

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
LAB, EI004 = ROOT / "params" / "lab.yaml", ROOT / "params" / "ei-integrator-004.yaml"


def _vault_off(path: Path, tmp: Path) -> Path:
    """PATH with Secure Vault off: the lab layout's round trip runs with every secret in clear
    (its values read from the nodes into --secrets-out); document 004's runs under the vault."""
    raw = yaml.safe_load(path.read_text())
    raw.setdefault("securevault", {})["enabled"] = False
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / path.name
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _applied(path: Path, tmp: Path, vault: bool = False):
    path = path if vault else _vault_off(path, tmp)
    p = load_params(path)
    labmod.down(p, **quiet)
    labmod.up(p, path, **quiet)
    applied = run_sections(path, apply=True, out_dir=tmp, progress=lambda *_: None)
    assert applied.ok, applied.text()
    return p


@pytest.fixture(scope="module")
def applied_lab(tmp_path_factory):
    skip_if_shared()
    p = _applied(LAB, tmp_path_factory.mktemp("apply-lab"))
    yield p
    labmod.down(p, **quiet)


def discover_args(p, out: Path, secrets_out: Path | None = None, hosts: list[str] | None = None,
                  admin_secret: str = "DB_ADMIN_PASSWORD", plan: bool = True) -> list[str]:
    nodes = hosts or list(dict.fromkeys(str(p.hosts[v.host].address) for v in p.nodes.values()))
    lb = ["--lb", str(p.hosts[p.load_balancer.host].address)] if p.load_balancer.host else []  # the ELB is a node
    args = [str(ROOT / ".venv/bin/runbook"), "discover", "--hosts", ",".join(nodes), "--user", "wso2",
            "--key", p.ssh.key, "--known-hosts", p.ssh.known_hosts, *lb,
            "--database", str(p.hosts[p.database.host].address),
            "--db-admin", p.database.admin_user, "--db-admin-secret", admin_secret,
            "--secrets-file", p.secrets_file, "--out", str(out), "--run-dir", str(out.parent / "run")]
    args += ["--secrets-out", str(secrets_out)] if secrets_out else []
    return args + ([] if plan else ["--no-plan"])


def run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def snapshot(p) -> dict:
    """What discover must leave as it is: every config file (content, mode, mtime),
    /etc/hosts, nginx's files, each node's process, the schemas, tables, users and grants."""
    out: dict = {}
    hosts = hosts_from_params(p)
    try:
        for name, h in hosts.items():
            homes = [v.node.home for v in node_views(p).values() if v.host_name == name]
            dirs = [f"{home}/{d}" for home in homes for d in ("conf", "repository/conf", "wso2/broker/conf")]
            dirs += ["/etc/nginx"] if "load_balancer" in p.hosts[name].roles else []
            listing = h.run("find " + " ".join(dirs) + " /etc/hosts -type f -exec stat -c '%n %a %Y %s' {} + "
                            "2>/dev/null | sort; find " + " ".join(dirs) + " -type f -exec sha256sum {} + 2>/dev/null "
                            "| sort" if dirs else "true")
            pids = h.run("for f in " + " ".join(f"{home}/wso2carbon.pid {home}/wso2/broker/wso2carbon.pid"
                                                 for home in homes) + "; do [ -f $f ] && cat $f && kill -0 $(cat $f) "
                         "&& echo alive; done; true" if homes else "true")
            out[name] = (listing.stdout, pids.stdout)
    finally:
        for h in hosts.values():
            h.close()
    secrets = read_secrets_file(p.secrets_file)
    with Db.connect(str(p.hosts[p.database.host].address), 3306, p.database.admin_user,
                    secrets["DB_ADMIN_PASSWORD"]) as db:
        out["tables"] = db.query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                                 "ORDER BY 1, 2")
        out["users"] = db.query("SELECT User, Host FROM mysql.user ORDER BY 1, 2")
        out["grants"] = [db.query(f"SHOW GRANTS FOR '{u}'@'{h}'") for u, h in out["users"] if u]
    return out


def test_discover_adopts_the_applied_lab_and_changes_nothing(applied_lab, tmp_path):
    p = applied_lab
    secrets_out = Path("/tmp") / f"discover-test-{os.getpid()}.env"  # outside the repository
    secrets_out.unlink(missing_ok=True)
    secrets_out.write_text("KEPT_ENTRY=already-here\n")
    before = snapshot(p)
    try:
        res = run(discover_args(p, tmp_path / "adopted.yaml", secrets_out))
        after = snapshot(p)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "ADOPTED: the runbook would change nothing" in res.stdout
        assert after == before  # read-only: files, nodes, tables, users, grants
        got = load_params(tmp_path / "adopted.yaml")
        for name, n in p.nodes.items():  # the model's values as the lab's params give them
            g = got.nodes[name]
            assert (g.role, g.home, g.local_member_port, g.well_known, g.broker_node_id) == \
                   (n.role, n.home, n.local_member_port, n.well_known, n.broker_node_id), name
            assert node_views(got)[name].offset == node_views(p)[name].offset
        assert got.cluster == p.cluster and got.brokers.domain == p.brokers.domain
        assert got.database.names == p.database.names and got.deployment_sync.url == p.deployment_sync.url
        text = (tmp_path / "adopted.yaml").read_text()
        assert "app_password: {secret: DB_APP_PASSWORD}" in text and "# guess" not in text
        assert "axis2.xml:" in text and "master-datasources.xml:" in text  # provenance: file and line
        values = [v for v in read_secrets_file(p.secrets_file).values() if v not in PUBLISHED_DEFAULTS]
        report = (tmp_path / "run" / "report.txt").read_text() + (tmp_path / "run" / "report.json").read_text()
        for v in values:
            assert v not in text and v not in res.stdout + res.stderr and v not in report
        assert stat.S_IMODE(secrets_out.stat().st_mode) == 0o600
        kept = read_secrets_file(secrets_out)
        assert kept["KEPT_ENTRY"] == "already-here"
        wanted = {k: v for k, v in read_secrets_file(p.secrets_file).items()
                  if k != "KEYSTORE_PASSWORD"}  # the lab's Secure Vault secret: this round trip runs with it off
        assert {k: kept[k] for k in wanted} == wanted
        assert got.secrets_file == str(secrets_out)
    finally:
        secrets_out.unlink(missing_ok=True)


def test_bad_input_is_named_and_discover_still_writes(applied_lab, tmp_path):
    """An unreachable host, a host without a Carbon home, an unreadable file,
    two homes on one host with the same ports, a database it cannot log into."""
    p = applied_lab
    views = node_views(p)
    hosts = hosts_from_params(p)
    w3, w1, m = views["worker3"], views["worker1"], views["manager"]
    registry = w3.file("registry")
    carbon = w1.file("carbon")
    original = hosts[w1.host_name].read_file(carbon)
    try:
        hosts[w3.host_name].check("chmod 000 %s", registry)
        hosts[w1.host_name].check(f"sed -i 's|<Offset>{w1.offset}</Offset>|<Offset>{m.offset}</Offset>|' {carbon}")
        nodes = list(dict.fromkeys(v.address for v in views.values()))
        svn, nowhere = str(p.hosts["svn"].address), lab_ip("198.51.100.250")
        res = run(discover_args(p, tmp_path / "bad.yaml", hosts=nodes + [svn, nowhere], admin_secret="WRONG_ADMIN",
                                plan=False), env={"WRONG_ADMIN": "not-the-password"})
    finally:
        hosts[w3.host_name].check("chmod 644 %s", registry)
        hosts[w1.host_name].write_file(carbon, original)
        for h in hosts.values():
            h.close()
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout
    assert f"host {nowhere}: unreachable" in out
    assert "host svn" in out and "no Carbon home found" in out
    assert f"{w3.host_name}:{registry}: cannot be read" in out
    assert "manager and worker1 on node206 claim the same ports" in out
    assert "database dbadmin@" in out and "cannot log in" in out
    assert "Traceback" not in out + res.stderr
    assert (tmp_path / "bad.yaml").exists() and "INCOMPLETE" in out


def test_the_notebook_adopts_the_lab(applied_lab, tmp_path):
    """09 (outside the run order) shows the same result and the file written."""
    import papermill as pm

    from runbook_lib.run.kernels import KERNEL
    out = tmp_path / "adopted.yaml"
    pm.execute_notebook(str(ROOT / "notebooks" / "09_discover.ipynb"), str(tmp_path / "09.ipynb"), kernel_name=KERNEL,
                        parameters={"out": str(out), "plan": False}, cwd=str(ROOT), progress_bar=False)
    text = (tmp_path / "09.ipynb").read_text()
    assert "params written" in text and "(valid)" in text and "consistency report" in text
    assert "{secret: DB_APP_PASSWORD}" in text and load_params(out).nodes.keys() == applied_lab.nodes.keys()
    for v in read_secrets_file(applied_lab.secrets_file).values():
        assert v in PUBLISHED_DEFAULTS or v not in text


def test_discover_adopts_document_004_after_the_runbook(tmp_path):
    """Under Secure Vault (as params/ei-integrator-004.yaml asks): every secret is reported as held by
    the vault and read from no node; the params get the vault, each vault-held value comes from the
    operator's --secrets-file by name, and the round trip (04 proving each cipher text) is clean."""
    skip_if_shared()
    p = _applied(EI004, tmp_path / "apply", vault=True)
    try:
        res = run(discover_args(p, tmp_path / "adopted.yaml", tmp_path / "secrets.env"))
        assert res.returncode == 0, res.stdout + res.stderr
        assert "ADOPTED: the runbook would change nothing" in res.stdout
        got = load_params(tmp_path / "adopted.yaml")
        assert got.securevault.enabled and got.securevault.keystore_password.secret == "KEYSTORE_PASSWORD"
        states = {line.split()[0]: line for line in res.stdout.splitlines()[1:] if line.startswith("  ")}
        assert "under Secure Vault (alias" in states["DB_APP_PASSWORD"], res.stdout
        assert "in clear" not in "".join(v for k, v in states.items() if k.endswith("_PASSWORD")), res.stdout
        lab_secrets = read_secrets_file(p.secrets_file)
        assert read_secrets_file(tmp_path / "secrets.env")["DB_APP_PASSWORD"] == lab_secrets["DB_APP_PASSWORD"]
        for v in (lab_secrets[k] for k in ("DB_APP_PASSWORD", "KEYSTORE_PASSWORD")):
            assert v not in res.stdout + res.stderr + (tmp_path / "adopted.yaml").read_text()
        assert {n.role for n in got.nodes.values()} == {"member"}
        assert all(n.well_known for n in got.nodes.values())
        assert got.load_balancer.affinity == "ip_hash" and got.cluster.hostnames == p.cluster.hostnames
        assert got.database.app_user == "regadmin" and got.database.jdbc_options == p.database.jdbc_options
        assert got.certificates.truststore_alias == "server"  # the truststore read with the given password
        applied = run_sections(tmp_path / "adopted.yaml", apply=True, out_dir=tmp_path / "adopted-apply",
                               progress=lambda *_: None)
        assert applied.ok and [s.name for s in applied.sections][-1] == "08_test_cluster", applied.text()
    finally:
        labmod.down(p, **quiet)


SHIPPED_SOCKET_TIMEOUT_MS = 6000  # passthru-http.properties as the ELB ships it (001 step 4), kept where 000 leaves it


@pytest.mark.parametrize("layout", ["esb-elb-000", "as-elb-001"])
def test_discover_adopts_an_elb_layout_after_the_runbook(layout, tmp_path):
    """Documents 000 (ESB 4.8.1 behind ELB 2.1.0, Hazelcast) and 001 (AS 5.2.1 behind ELB 2.0.5, Tribes),
    the ELB on the manager's host: the ELB home makes the load balancer `kind: elb`, its ports,
    group_mgt_port, tenant_range and socket timeout read from its own files (the cluster's domain,
    not the shipped samples'), the ELB a well-known member where the members list it (000: its
    group_mgt_port; 001: registration_port, its localMemberPort); the round trip changes nothing,
    and the adopted params apply and pass 08."""
    skip_if_shared()
    p = _applied(ROOT / "params" / f"{layout}.yaml", tmp_path / "apply")
    try:
        res = run(discover_args(p, tmp_path / "adopted.yaml", tmp_path / "secrets.env"))
        assert res.returncode == 0 and "ADOPTED: the runbook would change nothing" in res.stdout, res.stdout + res.stderr
        got = load_params(tmp_path / "adopted.yaml")
        lb = got.load_balancer
        want = p.load_balancer
        assert (lb.kind, lb.http_port, lb.https_port, lb.group_mgt_port, lb.tenant_range, lb.registration_port,
                lb.socket_timeout_ms) == ("elb", want.http_port, want.https_port, want.group_mgt_port,
                                          want.tenant_range, want.registration_port,
                                          want.socket_timeout_ms or SHIPPED_SOCKET_TIMEOUT_MS), lb
        for name, n in p.nodes.items():
            g = got.nodes[name]
            assert (g.role, g.home, g.local_member_port, g.well_known) == (n.role, n.home, n.local_member_port,
                                                                            n.well_known), name
        assert got.nodes["elb"].product.dist == p.nodes["elb"].product.dist
        assert all("node" in got.hosts[v.host].roles for v in got.nodes.values())
        applied = run_sections(tmp_path / "adopted.yaml", apply=True, out_dir=tmp_path / "adopted-apply",
                               progress=lambda *_: None)
        assert applied.ok and [s.name for s in applied.sections][-1] == "08_test_cluster", applied.text()
    finally:
        labmod.down(p, **quiet)
