"""The lab is a real multi-host environment: each assertion reads a real
outcome on a lab host (a file, a login, a response)."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pymysql
import pytest

from .conftest import lab_ip

from runbook_lib.core.errors import HostKeyError
from runbook_lib.remote.host import Host
from runbook_lib.remote.inventory import fan_out

pytestmark = pytest.mark.lab


def test_paramiko_reaches_every_host_with_strict_host_keys(lab, lab_hosts):
    results = fan_out(lab_hosts, lambda h: h.check("hostname").stdout.strip())
    assert {name: o.value for name, o in results.items()} == {name: name for name in lab["hosts"]}
    for name, h in lab_hosts.items():
        policy = h.client._policy
        assert not isinstance(policy, (paramiko.AutoAddPolicy, paramiko.WarningPolicy)), name


def test_changed_host_key_is_refused_with_both_fingerprints(lab, lab_params, tmp_path):
    real = Path(lab["known_hosts"]).read_text().splitlines()
    other_key = paramiko.Ed25519Key.from_private_key_file(lab["hosts"]["db"]["ssh"]["key"])
    addr = lab["hosts"]["node206"]["address"]
    forged = [line for line in real if not line.startswith(addr + " ")]
    forged.append(f"{addr} ssh-ed25519 {other_key.get_base64()}")
    kh = tmp_path / "known_hosts"
    kh.write_text("\n".join(forged) + "\n")
    h = Host("node206", addr, "wso2", key_filename=lab["hosts"]["node206"]["ssh"]["key"], known_hosts=str(kh))
    with pytest.raises(HostKeyError) as e:
        h.run("true")
    msg = str(e.value)
    assert "CHANGED" in msg and msg.count("SHA256:") == 2 and "Refused" in msg


def test_unknown_host_key_is_refused(lab, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    h = Host("lb", lab["hosts"]["lb"]["address"], "wso2", key_filename=lab["hosts"]["lb"]["ssh"]["key"],
             known_hosts=str(kh))
    with pytest.raises(HostKeyError, match="not in .*known_hosts"):
        h.run("true")
    assert kh.read_text() == ""  # never auto-added


def test_same_product_path_holds_different_files_on_two_hosts(lab_hosts):
    a, b = lab_hosts["node206"], lab_hosts["node132"]
    assert sorted(a.check("ls /opt/wso2").stdout.split()) == ["manager", "worker1"]
    assert sorted(b.check("ls /opt/wso2").stdout.split()) == ["worker2", "worker3"]
    a.write_file("/opt/wso2/marker.txt", b"node206\n")
    b.write_file("/opt/wso2/marker.txt", b"node132\n")
    assert a.read_file("/opt/wso2/marker.txt") == b"node206\n"
    assert b.read_file("/opt/wso2/marker.txt") == b"node132\n"
    assert not Path("/opt/wso2/marker.txt").exists()


def test_etc_hosts_is_per_host(lab_hosts):
    machine_before = Path("/etc/hosts").read_bytes()
    a, b = lab_hosts["node206"], lab_hosts["node132"]
    other_before = b.read_file("/etc/hosts")
    mine = a.read_file("/etc/hosts")
    try:
        a.write_file("/etc/hosts", mine + lab_ip("198.51.100.77 lab-test.example\n").encode(), sudo=True)
        assert a.check("getent hosts lab-test.example").stdout.split()[0] == lab_ip("198.51.100.77")
        assert b.read_file("/etc/hosts") == other_before
        assert not b.run("getent hosts lab-test.example").ok
        assert Path("/etc/hosts").read_bytes() == machine_before
    finally:
        a.write_file("/etc/hosts", mine, sudo=True, backup=False)


def test_product_owner_is_not_root_and_sudo_works(lab_hosts):
    h = lab_hosts["node206"]
    assert h.check("id -un").stdout.strip() == "wso2"
    assert h.check("stat -c %U /opt/wso2/manager/wso2ei-6.1.1/conf/carbon.xml").stdout.strip() == "wso2"
    assert h.check("id -u", sudo=True).stdout.strip() == "0"
    assert "wso2" not in Path("/etc/passwd").read_text().split(":")


def test_java_keytool_jdbc_and_truststore_on_nodes(lab_hosts, lab_params):
    for node in lab_params.nodes.values():
        h = lab_hosts[node.host]
        sec = "wso2/broker/repository/resources/security" if node.role == "broker" else "repository/resources/security"
        out = h.check("keytool -list -keystore %s -storepass wso2carbon", f"{node.home}/{sec}/client-truststore.jks")
        assert "Keystore type: JKS" in out.stdout or "Keystore type: jks" in out.stdout.lower()
        h.check("test -r /usr/share/java/mariadb-java-client.jar && java -version")


def test_mariadb_accepts_lab_admin_from_a_node_and_refuses_wrong_password(lab, lab_params, lab_secrets, lab_hosts):
    db = lab_params.database
    addr = lab["hosts"]["db"]["address"]
    pw = lab_secrets[db.admin_password.secret]
    h = lab_hosts["node132"]
    ok = h.run("mariadb -h %s -u %s -p\"$P\" -N -e 'select current_user()'".replace('"$P"', '%s'),
               addr, db.admin_user, pw)
    assert ok.ok, ok.stderr
    assert ok.stdout.strip().startswith(f"{db.admin_user}@{lab_ip('198.51.100.')}")
    bad = h.run("mariadb -h %s -u %s -p%s -e 'select 1'", addr, db.admin_user, pw + "x")
    assert bad.rc != 0 and "Access denied" in bad.stderr
    with pymysql.connect(host=addr, user=db.admin_user, password=pw, connect_timeout=5) as c:
        with c.cursor() as cur:
            cur.execute("select @@datadir, @@port")
            datadir, port = cur.fetchone()
    assert datadir.startswith(lab["lab_dir"]) and port == 3306


def test_nginx_passes_config_test_and_answers(lab, lab_hosts):
    h = lab_hosts["lb"]
    t = h.run("nginx -t", sudo=True)
    assert t.ok and "syntax is ok" in t.stderr
    import http.client
    c = http.client.HTTPConnection(lab["hosts"]["lb"]["address"], 80, timeout=5)
    c.request("GET", "/lab-health")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"ok\n"
    assert not Path("/etc/nginx/conf.d/wso2.conf").exists()


def test_svn_info_from_a_node_reaches_the_svn_host(lab, lab_params, lab_secrets, lab_hosts):
    ds = lab_params.deployment_sync
    url = f"svn://{lab['hosts']['svn']['address']}/lab-check"
    res = lab_hosts["node206"].run(
        "svn info --non-interactive --no-auth-cache --username %s --password %s %s",
        ds.user, lab_secrets[ds.password.secret], url)
    assert res.ok, res.stderr
    assert f"URL: {url}" in res.stdout
    bad = lab_hosts["node206"].run(
        "svn info --non-interactive --no-auth-cache --username %s --password wrong %s", ds.user, url)
    assert not bad.ok


def test_lab_hosts_reach_only_the_lab(lab_hosts):
    res = lab_hosts["node206"].run("ip -4 route")
    routes = res.stdout.strip().splitlines()
    assert routes == [lab_ip("198.51.100.0/24 dev eth0 proto kernel scope link src 198.51.100.206")]


def test_status_json_has_what_tools_need(lab):
    assert lab["healthy"] is True
    for name, h in lab["hosts"].items():
        assert Path(h["ssh"]["key"]).exists() and Path(h["ssh"]["known_hosts"]).exists()
        assert all(s["healthy"] for s in h["services"].values()), name
    assert oct(Path(lab["secrets_file"]).stat().st_mode & 0o777) == "0o600"
    assert set(lab["hosts"]["db"]["services"]) == {"sshd", "mariadb"}
    assert set(lab["hosts"]["lb"]["services"]) == {"sshd", "nginx"}
    assert set(lab["hosts"]["svn"]["services"]) == {"sshd", "svnserve"}


def test_every_lab_address_is_a_permanent_neighbour_on_every_host(lab, lab_hosts):
    """Issue 23: the kernel's neighbour table is shared by all namespaces and its
    gc_thresh3 (1024) counts only dynamic entries; N hosts talking to each
    other make N² of them, so the lab pins every address (net.pin_neighbours)."""
    addresses = {h["address"] for h in lab["hosts"].values()}
    for name, h in lab_hosts.items():
        lines = h.check("ip neigh show dev eth0 nud permanent").stdout.splitlines()
        pinned = {line.split()[0] for line in lines}
        assert addresses - {lab["hosts"][name]["address"]} <= pinned, name
