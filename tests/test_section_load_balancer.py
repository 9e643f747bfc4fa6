"""Section 01: nginx vhosts on the lab's load balancer (real nginx, real
requests), and the WSO2 ELB's files at the file level (configedit on the
skeleton's bytes: the ELB cannot run in the lab, and these tests may not
rebuild the shared lab from an ELB layout)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import time
from pathlib import Path

import pytest
import yaml

import runbook_lib as rb
from runbook_lib.configedit import apply_lbconf_edits, apply_xml_edits, get_values, read_lbconf
from runbook_lib.core.errors import RunbookError
from runbook_lib.params import load_params
from runbook_lib.sections.lb import elb, nginx_conf
from runbook_lib.sections.lb import balancer as loadbalancer
from runbook_lib.sections.lb.nginx_site import Site, served_vhost

from .conftest import ROOT, lab_ip
from .nbrun import papermill

pytestmark = pytest.mark.lab
SKEL = ROOT / "runbook_lib/lab/skeletons/elb-2.0.5/repository/conf"
PARAMS = ROOT / "params"


# -- helpers shared with test_section_certificates ---------------------------

def open_lab_run(apply: bool = True) -> rb.Run:
    return rb.open_run(PARAMS / "lab.yaml", apply=apply)


ECHO = r'''
import http.server, ssl, sys
name, addr, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s|%s|%s" % (name, self.headers.get("X-Forwarded-For"), self.headers.get("Host"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer((addr, port), H)
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("/tmp/rbtest-echo.crt", "/tmp/rbtest-echo.key")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
'''


@contextlib.contextmanager
def echo_listeners(lab_hosts, lab_params):
    """Throwaway servers standing in for WSO2 on the node hosts: each worker on
    its pass-through HTTP (plain) and HTTPS (TLS) ports, the manager on its
    HTTPS port; each answers with its node name. Killed by pid afterwards."""
    views = nginx_conf.node_views(lab_params)
    wanted = [(v, "pt_http", "plain") for v in nginx_conf.workers(lab_params)]
    wanted += [(v, "pt_https", "tls") for v in nginx_conf.workers(lab_params)]
    wanted += [(v, "https", "tls") for v in nginx_conf.managers(lab_params)]
    started: list[tuple[str, str]] = []
    hosts = {v.host_name for v, _, _ in wanted}
    try:
        for name in hosts:
            h = lab_hosts[name]
            h.write_file("/tmp/rbtest-echo.py", ECHO.encode(), backup=False)
            h.check("openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/rbtest-echo.key -out /tmp/rbtest-echo.crt "
                    "-subj /CN=echo -days 1 2>/dev/null")
        for v, key, mode in wanted:
            h = lab_hosts[v.host_name]
            res = h.check("nohup python3 /tmp/rbtest-echo.py %s %s %s %s >/dev/null 2>&1 & echo $!",
                          v.name, v.address, v.ports[key], mode)
            started.append((v.host_name, res.stdout.strip()))
        lb = lab_hosts[lab_params.load_balancer.host]
        for v, key, _ in wanted:
            for _ in range(50):
                if lb.run("timeout 1 bash -c %s", f"</dev/tcp/{v.address}/{v.ports[key]}").ok:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"echo server {v.name}:{v.ports[key]} did not start")
        # nginx remembers failed peers for fail_timeout (10s); a reload starts afresh
        lb.check("nginx -s reload && sleep 1", sudo=True)
        yield views
    finally:
        for host, pid in started:
            lab_hosts[host].run("kill %s", pid)
        for name in hosts:
            lab_hosts[name].run("rm -f /tmp/rbtest-echo.py /tmp/rbtest-echo.crt /tmp/rbtest-echo.key")


def get(address: str, port: int, host: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.getheader(nginx_conf.MARKER) or "", r.read().decode()
    finally:
        conn.close()


def sha(h, path: str) -> str | None:
    data = h.read_file(path, sudo=True)
    return hashlib.sha256(data).hexdigest() if data is not None else None


def conf_d_state(h, conf_dir: str) -> dict[str, str]:
    """Every file of conf.d with its sha256 (backups included)."""
    names = h.check("ls -1A %s", conf_dir, sudo=True).stdout.split()
    return {n: sha(h, f"{conf_dir}/{n}") or "" for n in names}


# -- rendering: every nginx layout ----------------------------------------------

@pytest.mark.parametrize("name", ["lab", "ei-nginx-002", "ei-integrator-004"])
def test_vhosts_rendered_for_every_nginx_layout(name: str) -> None:
    p = load_params(PARAMS / f"{name}.yaml")
    http_v, https_v, mgt_v = nginx_conf.all_vhosts(p)
    workers = nginx_conf.workers(p)
    assert http_v.upstream.servers == tuple(f"{v.address}:{8280 + v.offset}" for v in workers)
    assert https_v.upstream.servers == tuple(f"{v.address}:{8243 + v.offset}" for v in workers)
    mgr = nginx_conf.managers(p)[0]
    assert mgt_v.upstream.servers == (f"{mgr.address}:{9443 + mgr.offset}",)
    assert mgt_v.server_name == p.cluster.hostnames.management
    for v in (https_v, mgt_v):
        text = v.text()
        assert "listen 443 ssl;" in text and "ssl on" not in text  # E14
        assert f"ssl_certificate {p.load_balancer.ssl_dir}/{v.server_name}.crt;" in text
    assert "    ip_hash;\n" in https_v.text() and "sticky" not in https_v.text()  # E15
    for header in ("X-Forwarded-Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for", "Host $http_host"):
        assert f"proxy_set_header {header};" in http_v.text()
    assert "proxy_read_timeout 5m;" in http_v.text() and "listen 80;" in http_v.text()


def test_lab_offsets_and_roles() -> None:
    p = load_params(PARAMS / "lab.yaml")
    assert nginx_conf.http_vhost(p).upstream.servers == lab_ip(("198.51.100.206:8282", "198.51.100.132:8280",
                                                                "198.51.100.132:8281"))
    assert nginx_conf.mgt_vhost(p).upstream.servers == (lab_ip("198.51.100.206:9444"),)
    # 004: no manager role; the console goes to the first member, the services to both
    p4 = load_params(PARAMS / "ei-integrator-004.yaml")
    assert [v.name for v in nginx_conf.managers(p4)] == ["node1"]
    assert len(nginx_conf.workers(p4)) == 2


def test_sticky_only_where_nginx_has_it() -> None:
    assert not nginx_conf.sticky_supported("nginx version: nginx/1.22.1")
    assert nginx_conf.sticky_supported("nginx version: nginx/1.29.6")
    assert nginx_conf.sticky_supported("nginx version: nginx/1.25.3 (nginx-plus-r31)")
    up = nginx_conf.Upstream("esb.wso2.com-https", ("10.0.0.1:8243",), "sticky")
    assert "sticky learn create=$upstream_cookie_jsessionid lookup=$cookie_jsessionid " \
           "zone=esb_wso2_com_https_sessions:1m;" in up.text()


# -- the WSO2 ELB, at the file level ------------------------------------------------

def _elb_apply(p, data_lb: bytes, data_ax: bytes, v=None):
    v = v or elb.elb_nodes(p)[0]
    lb = apply_lbconf_edits(data_lb, elb.lbconf_wanted(p, v, data_lb)[0], "loadbalancer.conf")
    ax = apply_xml_edits(data_ax, elb.axis2_wanted(p, v)[0], "axis2.xml")
    return v, lb, ax


def test_elb_000_files() -> None:
    p = load_params(PARAMS / "esb-elb-000.yaml")
    shipped_lb, shipped_ax = (SKEL / "loadbalancer.conf").read_bytes(), (SKEL / "axis2/axis2.xml").read_bytes()
    v, lb, ax = _elb_apply(p, shipped_lb, shipped_ax)
    dom = read_lbconf(lb.data)["services"]["esb"]["domains"]
    assert dom == {"wso2.esb.domain": {"tenant_range": "*", "group_mgt_port": "5000",
                                       "mgt": {"hosts": "management.esb.cloud-test.wso2.com"},
                                       "worker": {"hosts": "esb.cloud-test.wso2.com"}}}
    assert b"# The clusters (services) this load balancer fronts" in lb.data  # comments kept
    assert not lb.diff.count("\n-")  # only additions: the shipped values were already right
    c = "/axisconfig/clustering"
    assert get_values(ax.data, c + "/parameter[@name='domain']") == ["wso2.carbon.lb.domain"]
    assert get_values(ax.data, c + "/parameter[@name='localMemberHost']") == [lab_ip("198.51.100.206")]  # E10
    assert get_values(ax.data, c + "/parameter[@name='localMemberPort']") == ["4000"]
    assert get_values(ax.data, "/axisconfig/transportReceiver[@name='http']/parameter[@name='port']") == ["80"]
    assert get_values(ax.data, "/axisconfig/transportReceiver[@name='https']/parameter[@name='port']") == ["443"]
    assert get_values(ax.data, c + "/members") == []
    # converged: the second pass changes nothing; the checks pass on the result and fail on the shipped file
    _, lb2, ax2 = _elb_apply(p, lb.data, ax.data)
    assert lb2.data == lb.data and ax2.data == ax.data
    assert all(ch.ok for ch in elb.lbconf_checks(p, v, lb.data, "node206") + elb.axis2_checks(p, v, ax.data, "node206"))
    bad = [ch for ch in elb.lbconf_checks(p, v, shipped_lb, "node206") + elb.axis2_checks(p, v, shipped_ax, "node206")
           if not ch.ok]
    assert {ch.what for ch in bad} == {"elb: loadbalancer.conf group_mgt_port", "elb: loadbalancer.conf mgt hosts",
                                      "elb: loadbalancer.conf worker hosts", "elb: axis2.xml localMemberHost",
                                      "elb: axis2.xml http transport port", "elb: axis2.xml https transport port",
                                      "elb: axis2.xml clustering agent (the members' own)"}  # 2.0.5 ships Tribes
    assert all("apply=True" in ch.fix for ch in bad)


def test_elb_001_replaces_the_sample_domains() -> None:
    p = load_params(PARAMS / "as-elb-001.yaml")
    _, lb, ax = _elb_apply(p, (SKEL / "loadbalancer.conf").read_bytes(), (SKEL / "axis2/axis2.xml").read_bytes())
    svc = read_lbconf(lb.data)["services"]["appserver"]
    assert svc["hosts"] == "as.cloud-test.wso2.com"
    assert list(svc["domains"]) == ["wso2.as.domain"]  # wso2.as1..3.domain would claim the same names
    assert svc["domains"]["wso2.as.domain"]["mgt"] == {"hosts": "mgt.as.cloud-test.wso2.com"}
    assert set(read_lbconf(lb.data)["services"]) == {"defaults", "appserver", "esb", "governance", "identity"}
    # 001 keeps the PassThrough ports: no change there
    assert get_values(ax.data, "/axisconfig/transportReceiver[@name='http']/parameter[@name='port']") == ["8280"]


def test_elb_two_load_balancers_know_each_other(tmp_path: Path) -> None:
    raw = yaml.safe_load((PARAMS / "esb-elb-000.yaml").read_text())
    raw["nodes"]["elb2"] = {"host": "node132", "role": "elb", "product": {"name": "elb", "version": "2.1.0"},
                            "home": "/opt/wso2/elb/wso2elb-2.1.0", "offset": 3, "local_member_port": 4100}
    f = tmp_path / "two-elbs.yaml"
    f.write_text(yaml.safe_dump(raw))
    p = load_params(f)
    first, second = elb.elb_nodes(p)
    v, lb, ax = _elb_apply(p, (SKEL / "loadbalancer.conf").read_bytes(), (SKEL / "axis2/axis2.xml").read_bytes(),
                           first)
    members = read_lbconf(lb.data)["services"]["esb"]["domains"]["wso2.esb.domain"]["members"]
    assert members == lab_ip("198.51.100.132:5000")
    assert get_values(ax.data, "/axisconfig/clustering/members/member/hostName") == [lab_ip("198.51.100.132")]
    assert get_values(ax.data, "/axisconfig/clustering/members/member/port") == ["4100"]
    _, lb2, ax2 = _elb_apply(p, lb.data, ax.data, first)
    assert not lb2.changed and not ax2.changed


# -- nginx on the lab ---------------------------------------------------------------

@pytest.fixture()
def run(lab):
    r = open_lab_run()
    yield r
    r.close()


def test_preview_changes_nothing_then_apply_then_no_changes(run, lab_hosts, lab_params) -> None:
    lb = lab_hosts["lb"]
    v = nginx_conf.http_vhost(lab_params)
    lb.check("rm -f %s && nginx -s reload && sleep 1", v.path, sudo=True)  # a fresh LB for this vhost
    assert served_vhost(lb, v) is None
    before = conf_d_state(lb, lab_params.load_balancer.conf_dir)
    report = loadbalancer.plan_load_balancer(run).preview()
    assert [c.changed for c in report.changes] == [True, True]
    assert "would test the configuration, then reload" in report.changes[1].summary
    assert conf_d_state(lb, lab_params.load_balancer.conf_dir) == before
    assert served_vhost(lb, v) is None

    report = loadbalancer.plan_load_balancer(run).apply()
    assert len(report.changed) == 2
    assert lb.read_file(v.path, sudo=True) == v.content()
    assert lb.file(v.path, sudo=True).stat()["mode"] == "644"
    status, marker, _ = get(str(lab_params.hosts["lb"].address), 80, "esb.wso2.com")
    assert (status, marker) == (502, "esb.wso2.com")  # our vhost answers; no backend runs
    assert get(str(lab_params.hosts["lb"].address), 80, "lb")[1] == ""  # other names: the default server

    state = conf_d_state(lb, lab_params.load_balancer.conf_dir)
    again = loadbalancer.plan_load_balancer(run).apply()
    assert again.headline().endswith("no changes - everything already as intended (2 checked)")
    assert conf_d_state(lb, lab_params.load_balancer.conf_dir) == state
    checks = loadbalancer.verify_load_balancer(run)
    assert not checks.failed, checks.text()


def test_verify_fails_when_broken_and_apply_repairs(run, lab_hosts, lab_params) -> None:
    lb = lab_hosts["lb"]
    v = nginx_conf.http_vhost(lab_params)
    loadbalancer.plan_load_balancer(run).apply()
    wrong = v.content().replace(lab_ip("198.51.100.132:8281;").encode(), lab_ip("198.51.100.132:9999;").encode())
    lb.write_file(v.path, wrong, sudo=True, backup=False)
    lb.check("nginx -s reload && sleep 1", sudo=True)
    checks = loadbalancer.verify_load_balancer(run)
    failed = {c.what: c for c in checks.failed}
    assert set(failed) == {"esb.wso2.com.http.conf content", "upstream esb.wso2.com-http (nginx -T)"}
    assert lab_ip("198.51.100.132:9999") in failed["upstream esb.wso2.com-http (nginx -T)"].found
    assert all("apply=True" in c.fix for c in failed.values())

    lb.check("rm -f %s && nginx -s reload && sleep 1", v.path, sudo=True)  # nginx no longer serves it
    failed = {c.what: c for c in loadbalancer.verify_load_balancer(run).failed}
    assert "HTTP esb.wso2.com:80 answered by its vhost" in failed
    assert "without X-Runbook-Vhost" in failed["HTTP esb.wso2.com:80 answered by its vhost"].found

    loadbalancer.plan_load_balancer(run).apply()
    assert not loadbalancer.verify_load_balancer(run).failed


def test_reload_when_files_are_right_but_nginx_never_loaded_them(run, lab_hosts, lab_params) -> None:
    """An earlier run that stopped between write and reload is finished."""
    lb, v = lab_hosts["lb"], nginx_conf.http_vhost(lab_params)
    loadbalancer.plan_load_balancer(run).apply()
    lb.check("mv %s /tmp/rbtest-vhost && nginx -s reload && sleep 1 && mv /tmp/rbtest-vhost %s", v.path, v.path,
             sudo=True)
    report = loadbalancer.plan_load_balancer(run).apply()
    assert [c.changed for c in report.changes] == [False, True]
    assert "does not serve esb.wso2.com:80 yet" in report.changes[1].summary
    assert served_vhost(lb, v) == "esb.wso2.com"


def test_failed_nginx_test_restores_the_previous_files(run, lab_hosts, lab_params) -> None:
    lb = lab_hosts["lb"]
    good = nginx_conf.http_vhost(lab_params)
    loadbalancer.plan_load_balancer(run).apply()
    # A broken config nginx 1.22 rejects: `sticky` is NGINX Plus only (E15); plus a new file.
    broken = dataclasses.replace(good, upstream=dataclasses.replace(good.upstream, affinity="sticky"))
    extra = dataclasses.replace(good, path=f"{lab_params.load_balancer.conf_dir}/zz-rbtest.conf",
                                upstream=dataclasses.replace(good.upstream, name="rbtest-up", affinity="sticky"))
    plan = rb.Plan("broken", Site(run, [broken, extra]).operations())
    with pytest.raises(RunbookError) as e:
        plan.apply()
    msg = str(e.value)
    assert "`nginx -t` rejected the new configuration" in msg and "NOT reloaded" in msg
    assert "previous files were restored" in msg and 'unknown directive "sticky"' in msg
    assert lb.read_file(good.path, sudo=True) == good.content()  # the previous file is back
    assert lb.read_file(extra.path, sudo=True) is None  # the new one is gone
    assert lb.run("nginx -t", sudo=True).ok
    assert served_vhost(lb, good) == "esb.wso2.com"
    assert not loadbalancer.plan_load_balancer(run).preview().changed


def test_routing_through_nginx_reaches_the_workers(run, lab_hosts, lab_params) -> None:
    loadbalancer.plan_load_balancer(run).apply()
    addr = str(lab_params.hosts["lb"].address)
    with echo_listeners(lab_hosts, lab_params):
        answers = [get(addr, 80, "esb.wso2.com") for _ in range(9)]
        reach = loadbalancer.backend_reachability(run)
        ok = loadbalancer.answer_check(run, nginx_conf.http_vhost(lab_params))
    nodes = [body.split("|")[0] for _, _, body in answers]
    assert {s for s, _, _ in answers} == {200}
    assert sorted(set(nodes)) == ["worker1", "worker2", "worker3"]  # round robin over the workers only
    _, xff, host = answers[0][2].split("|")
    assert xff == lab_params.lab.gateway.compressed and host == "esb.wso2.com"  # the documents' proxy headers
    assert not reach.failed and len(reach.checks) == 3
    assert ok.ok and ok.found == "200 from vhost esb.wso2.com (backend answered)"
    after = loadbalancer.backend_reachability(run)  # listeners gone: information, shown as down
    assert {c.found for c in after.checks} == {"nothing listening"}


def test_host_filter_leaves_the_lb_alone(lab) -> None:
    r = rb.open_run(PARAMS / "lab.yaml", apply=True, hosts="worker2")
    try:
        assert loadbalancer.plan_load_balancer(r).operations == []
        assert loadbalancer.verify_load_balancer(r).checks == []
    finally:
        r.close()


def test_notebook_headless(lab, tmp_path) -> None:
    t0 = time.time()
    res, text = papermill("01_load_balancer.ipynb", tmp_path / "a.ipynb", "-p", "apply", "True")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "01 nginx HTTP vhost: 4 passed, 0 failed" in text
    assert "502 from vhost esb.wso2.com (expected while no node is up: no backend answered)" in text
    assert "backends behind nginx (information: down until the WSO2 servers are started): 0 up, 3 down" in text
    res, text = papermill("01_load_balancer.ipynb", tmp_path / "b.ipynb", "-p", "apply", "True")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "01 nginx: HTTP vhost: no changes - everything already as intended (2 checked)" in text
    res, text = papermill("01_load_balancer.ipynb", tmp_path / "c.ipynb")  # plan only, on a converged lab
    assert res.returncode == 0 and "01 nginx: HTTP vhost: nothing to apply." in text  # no changes, no Apply (issue 25)
    assert "01 nginx HTTP vhost (plan, not applied): 4 passed, 0 to change, 0 failed" in text
    print(f"three notebook runs: {time.time() - t0:.1f}s")


def test_elb_plan_on_a_real_host_with_a_scratch_copy(lab, lab_hosts, tmp_path) -> None:
    """The ELB operations over SSH on a copy of the skeleton in /opt/wso2 of node206
    (the lab runs the EI layout, so there is no ELB home; /etc/hosts is left
    out: 000's database alias would clash with the lab's)."""
    home = "/opt/wso2/rbtest-elb/wso2elb-2.0.5"  # under /opt, as the lab section requires
    raw = yaml.safe_load((PARAMS / "esb-elb-000.yaml").read_text())  # its lab section kept: on a lab
    # instance (RUNBOOK_LAB_INSTANCE) the addresses and the lab's ssh files then move with it
    raw["nodes"]["elb"]["home"] = home
    f = tmp_path / "elb-scratch.yaml"
    f.write_text(yaml.safe_dump(raw))
    h = lab_hosts["node206"]
    conf = f"{home}/repository/conf"
    h.check("mkdir -p %s/axis2", conf)
    for rel in ("loadbalancer.conf", "axis2/axis2.xml"):
        h.write_file(f"{conf}/{rel}", (SKEL / rel).read_bytes(), backup=False)
    r = rb.open_run(f, apply=True, hosts="elb")
    try:
        files_only = [op for op in elb.plan_elb(r).operations if not op.target.endswith("/etc/hosts")]
        plan = rb.Plan("ELB files", files_only)
        shas = {rel: sha(h, f"{conf}/{rel}") for rel in ("loadbalancer.conf", "axis2/axis2.xml")}
        assert len(plan.preview().changed) == 2
        assert {rel: sha(h, f"{conf}/{rel}") for rel in shas} == shas
        applied = plan.apply()
        assert len(applied.changed) == 2
        data = h.read_file(f"{conf}/loadbalancer.conf")
        assert read_lbconf(data)["services"]["esb"]["domains"]["wso2.esb.domain"]["group_mgt_port"] == "5000"
        assert get_values(h.read_file(f"{conf}/axis2/axis2.xml"),
                          "/axisconfig/transportReceiver[@name='https']/parameter[@name='port']") == ["443"]
        # the members' agent (ESB 4.8.1: Hazelcast), not the Tribes the 2.0.5 skeleton ships
        assert get_values(h.read_file(f"{conf}/axis2/axis2.xml"), "/axisconfig/clustering/@class") == \
            ["org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"]
        after = {rel: sha(h, f"{conf}/{rel}") for rel in shas}
        assert not plan.apply().changed
        assert {rel: sha(h, f"{conf}/{rel}") for rel in shas} == after
        file_checks = [c for c in elb.verify_elb(r).checks if " resolves" not in c.what]
        assert len(file_checks) == 16 and all(c.ok for c in file_checks), [c for c in file_checks if not c.ok]
    finally:
        r.close()
        h.run("rm -rf /opt/wso2/rbtest-elb")
