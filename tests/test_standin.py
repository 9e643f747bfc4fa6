"""The lab's stand-in of a Carbon node, without the lab: product homes copied
from the skeletons into tmp_path, run through their own start scripts on
127.0.0.x with free ports. Each test asserts what the node writes in its log
or answers on its ports."""

from __future__ import annotations

import os
import re
import signal
import ssl
import time
import zipfile
import urllib.error
import urllib.request

import pytest

from runbook_lib.lab.standin.main import alive

from tests.standin_homes import Home, free_port, make_homes

HZ = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"
TRIBES = "org.apache.axis2.clustering.tribes.TribesClusteringAgent"
ADDR = "127.0.0.%d" % (os.getpid() % 200 + 20)   # one loopback address per test run


@pytest.fixture
def homes(tmp_path):
    yield from make_homes(tmp_path, ADDR)


def get(url: str, host: str | None = None, data: bytes | None = None) -> tuple[int, str, dict]:
    req = urllib.request.Request(url, data=data, headers={"Host": host} if host else {})
    ctx = ssl._create_unverified_context()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_start_stop_console_and_services(homes):
    h = homes("n1")
    h.start()
    log = h.wait_log("WSO2 Carbon started in")
    assert h.pid() and f"pid {h.pid()}" in log
    line = next(x for x in log.splitlines() if "Starting WSO2 Carbon..." in x)
    assert line.startswith("TID: [-1234] [] [") and "]  INFO {org.wso2.carbon.core.internal.CarbonCoreActivator} -  " \
        "Starting WSO2 Carbon... {org.wso2.carbon.core.internal.CarbonCoreActivator}" in line
    assert "[stand-in]" in log.splitlines()[0]
    assert f"Mgt Console URL  : https://{ADDR}:{9443 + h.offset}/carbon/" in log
    status, _, headers = get(f"https://{ADDR}:{9443 + h.offset}/carbon/")
    assert status == 302 and headers["Location"].endswith("/carbon/admin/login.jsp")
    status, body, _ = get(f"https://{ADDR}:{9443 + h.offset}/carbon/admin/login.jsp")
    assert status == 200 and 'action="../admin/login_action.jsp"' in body
    status, _, headers = get(f"https://{ADDR}:{9443 + h.offset}/carbon/admin/login_action.jsp",
                             data=b"username=admin&password=admin")
    assert headers["Location"].endswith("index.jsp?loginStatus=true")
    status, _, headers = get(f"https://{ADDR}:{9443 + h.offset}/carbon/admin/login_action.jsp",
                             data=b"username=admin&password=wrong")
    assert headers["Location"].endswith("login.jsp?loginStatus=false")
    status, body, _ = get(f"http://{ADDR}:{8280 + h.offset}/services")
    assert status == 200 and "<h2>There are no services deployed</h2>" in body
    pid = h.pid()
    h.stop()
    h.wait_log("Shutting down OSGi framework...")
    assert not alive(pid)


def _joined(h: Home, other: Home) -> bool:
    return f"Member joined [" in h.text() and f"/{ADDR}:{other.member_port}" in h.text()


def test_hazelcast_members_join_and_leave(homes):
    a, b, c = homes("a"), homes("b"), homes("c")
    pa, pb, pc = free_port(ADDR), free_port(ADDR), free_port(ADDR)
    a.cluster("wso2.ei.domain", pa, [(ADDR, pa)])
    b.cluster("wso2.ei.domain", pb, [(ADDR, pa)], sub_domain="worker")
    c.cluster("wso2.ei.domain", pc, [(ADDR, pb)], sub_domain="worker")  # joins through b only
    for h in (a, b, c):  # one at a time, as 08 starts them
        h.start()
        h.wait_log("WSO2 Carbon started")
    a.wait_log("Member joined [", count=2)
    b.wait_log(f"/{ADDR}:{pc}")
    # SOURCES.md H1 (carbon-kernel v4.4.16 WKABasedMembershipScheme.joinGroup): the listener is
    # registered after the join, so a node logs only later joiners, never the members already there.
    time.sleep(2)
    assert b.text().count("Member joined [") == 1 and "Member joined [" not in c.text()
    assert "Elected this member" in a.text() and "Elected this member" not in b.text()
    assert f"Sub-domain:worker" in b.text()
    a.stop()  # the coordinator goes: the oldest of the others takes over
    b.wait_log("Elected this member", timeout=10)
    t0 = time.monotonic()
    os.kill(b.pid(), signal.SIGKILL)  # no goodbye: noticed by the heartbeat
    c.wait_log("Member left [", count=2, timeout=10)
    assert time.monotonic() - t0 < 8


def test_other_domain_and_other_agent_never_join(homes):
    a, b, t = homes("a"), homes("b"), homes("t", "esb-4.8.1")  # ESB 4.8 has both agents; EI only Hazelcast
    pa, pb, pt = free_port(ADDR), free_port(ADDR), free_port(ADDR)
    a.cluster("wso2.ei.domain", pa, [(ADDR, pa)])
    b.cluster("wso2.other.domain", pb, [(ADDR, pa)])
    t.cluster("wso2.ei.domain", pt, [(ADDR, pa)], agent=TRIBES)
    for h in (a, b, t):
        h.start()
    for h in (a, b, t):
        h.wait_log("WSO2 Carbon started")
    t.wait_log("Sending JOIN message to WKA members...")
    time.sleep(3)
    for h in (a, b, t):
        assert "Member joined" not in h.text() and "joined cluster" not in h.text()


@pytest.mark.parametrize("fault, expected", [
    ("malformed", "is not well-formed XML"),
    ("undefined_ds", "Error in looking up data source: jdbc/NOPE"),
    ("no_driver", "java.lang.ClassNotFoundException: com.mysql.jdbc.Driver"),
    ("named_jar_without_class", "java.lang.ClassNotFoundException: com.mysql.jdbc.Driver"),
    ("no_db", "Unable to create initial connections of pool."),
])
def test_start_up_faults(homes, fault, expected):
    h = homes("f")
    if fault == "malformed":
        h.edit("carbon.xml", r"</Server>", "</Serve>")
    elif fault == "undefined_ds":
        h.edit("user-mgt.xml", r'(<Property name="dataSource">)[^<]*', r"\1jdbc/NOPE")
    else:
        url = f"jdbc:mysql://{ADDR}:{free_port(ADDR)}/WSO2_USER_DB"
        h.edit("datasources/master-datasources.xml", r"<url>[^<]*</url>", f"<url>{url}</url>")
        h.edit("datasources/master-datasources.xml", r"org\.h2\.Driver", "com.mysql.jdbc.Driver")
        if fault == "no_db":  # the class in a jar of any name (SOURCES.md D3: found by class, not by jar name)
            with zipfile.ZipFile(h.path / "lib" / "any-name.jar", "w") as z:
                z.writestr("com/mysql/jdbc/Driver.class", b"\xca\xfe\xba\xbe")
        elif fault == "named_jar_without_class":
            with zipfile.ZipFile(h.path / "lib" / "mysql-connector-java-5.1.49.jar", "w") as z:
                z.writestr("README", b"no driver here")
    h.start()
    log = h.wait_log("start-up failed")
    assert expected in log and " ERROR {" in log and "WSO2 Carbon started" not in log
    if fault in ("malformed", "undefined_ds"):  # SOURCES.md F1: CarbonServerManager's FATAL with its trace
        assert "] FATAL {org.wso2.carbon.core.init.CarbonServerManager} -  WSO2 Carbon initialization Failed" in log
        time.sleep(0.5)
        assert not alive(h.pid())
    else:  # SOURCES.md D1-D2: tomcat-jdbc's pool error, no datasource named, the process stays up
        assert "] ERROR {org.apache.tomcat.jdbc.pool.ConnectionPool} -  Unable to create initial connections of pool." \
            in log and "WSO2_USER_DB" not in log.split("Unable to create", 1)[1]
        time.sleep(1)
        assert alive(h.pid()) and "WSO2 Carbon started" not in h.text()
        h.stop()


def test_port_taken_by_a_second_node_with_the_same_offset(homes):
    a, b = homes("a"), homes("b")
    b.set_offset(a.offset)
    a.start()
    a.wait_log("WSO2 Carbon started")
    b.start()
    log = b.wait_log("start-up failed")
    assert "Address already in use" in log and str(9763 + a.offset) in log


def test_proxy_hot_deployment_and_log_mediator(homes):
    h = homes("p")
    h.edit("carbon.xml", r"<DeploymentUpdateInterval>\d+", "<DeploymentUpdateInterval>1")
    h.start()
    h.wait_log("WSO2 Carbon started")
    proxy = h.path / "repository/deployment/server/synapse-configs/default/proxy-services/Echo.xml"
    proxy.write_text('<proxy xmlns="http://ws.apache.org/ns/synapse" name="Echo" transports="http https">'
                     '<target><inSequence><log level="custom"><property name="probe" value="hello"/></log>'
                     '<respond/></inSequence></target></proxy>')
    h.wait_log(f"ProxyService named 'Echo' has been deployed from file : {proxy}")
    status, body, _ = get(f"http://{ADDR}:{8280 + h.offset}/services")
    assert "<h2>Deployed services</h2>" in body and "Echo" in body
    status, body, _ = get(f"http://{ADDR}:{8280 + h.offset}/services/Echo", data=b"<ping/>")
    assert status == 200 and body == "<ping/>"
    assert "{org.apache.synapse.mediators.builtin.LogMediator} -  probe = hello" in h.wait_log("probe = hello")


def test_as_webapp_hot_deployment_and_access_log(homes):
    """AS: an exploded webapp is deployed (carbon-deployment's log line) and
    served on the servlet ports; Tomcat's AccessLogValve writes one combined
    line per request, where catalina-server.xml says."""
    h = homes("as", "as-5.2.1")
    h.edit("carbon.xml", r"<DeploymentUpdateInterval>\d+", "<DeploymentUpdateInterval>1")
    h.start()
    h.wait_log("WSO2 Carbon started")
    app = h.path / "repository/deployment/server/webapps/probe"
    app.mkdir(parents=True)
    (app / "index.html").write_text("<p>probe page</p>")
    h.wait_log("{org.wso2.carbon.webapp.mgt.TomcatGenericWebappsDeployer} -  Deployed webapp: StandardEngine[Catalina]"
               f".StandardHost[localhost].StandardContext[/probe].File[{app}]")
    status, body, _ = get(f"http://{ADDR}:{9763 + h.offset}/probe/?runbook=x1")
    assert status == 200 and body == "<p>probe page</p>"
    assert get(f"http://{ADDR}:{9763 + h.offset}/probe/missing.html")[0] == 404
    logs = list((h.path / "repository/logs").glob("http_access_*.log"))
    assert [p.name for p in logs] == [time.strftime("http_access_%Y-%m-%d.log")]
    lines = logs[0].read_text().splitlines()
    combined = r'^127\.0\.0\.\d+ - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /probe/\?runbook=x1 HTTP/1\.1" ' \
        r'200 17 "-" "Python-urllib/[\d.]+"$'
    assert sum(bool(re.match(combined, ln)) for ln in lines) == 1, lines
    assert sum("/probe/missing.html" in ln and '" 404 ' in ln for ln in lines) == 1


def test_elb_routes_to_members_that_list_it(homes):
    """Tribes ELB 2.0.5 in front of two ESB 4.8.1 nodes with the Tribes agent
    (document 001's pairing): workers listing the ELB get traffic, round robin;
    a stopped one is routed around; an unknown host name is refused."""
    elb = homes("elb", "elb-2.0.5")
    gm = free_port(ADDR)
    elb.edit("loadbalancer.conf", r"wso2\.esb\.domain \{\s*tenant_range\s*\*;",
             f"wso2.esb.domain {{ tenant_range *; group_mgt_port {gm}; worker {{ hosts esb.lab.test; }}")
    elb.edit("axis2/axis2.xml", r'(<parameter name="localMemberPort">)\d+', rf"\g<1>{free_port(ADDR)}")
    workers, others = [], []
    # w1, w2: workers listing the ELB; mgt: lists it with subDomain mgt; silent: does not list it.
    for name, sub, wka in (("w1", "worker", True), ("w2", "worker", True), ("mgt", "mgt", True),
                           ("silent", "worker", False)):
        w = homes(name, "esb-4.8.1")
        w.cluster("wso2.esb.domain", free_port(ADDR), [(ADDR, gm)] if wka else [], sub_domain=sub, agent=TRIBES)
        w.edit("carbon.xml", r"<DeploymentUpdateInterval>\d+", "<DeploymentUpdateInterval>1")
        (w.path / "repository/deployment/server/synapse-configs/default/proxy-services/P.xml").write_text(
            '<proxy xmlns="http://ws.apache.org/ns/synapse" name="P"><target><inSequence>'
            f'<log level="custom"><property name="node" value="{name}"/></log><respond/></inSequence></target></proxy>')
        (workers if name in ("w1", "w2") else others).append(w)
    elb.start()
    elb.wait_log("WSO2 Carbon started")
    for w in workers + others:
        w.start()
    elb.wait_log("joined application cluster", count=3)
    port = 8280 + elb.offset
    for _ in range(4):
        status, body, _ = get(f"http://{ADDR}:{port}/services/P", host="esb.lab.test", data=b"<x/>")
        assert status == 200, body
    assert all(w.text().count("node = ") == 2 for w in workers)
    assert all(o.text().count("node = ") == 0 for o in others)  # subDomain mgt, or not listing the ELB
    assert "Sub-domain:mgt, Active:true joined application cluster" in elb.text()
    status, body, _ = get(f"http://{ADDR}:{port}/services/P", host="nope.lab.test", data=b"<x/>")
    assert status != 200 and "Invalid host name : nope.lab.test" in elb.text()
    workers[0].stop()
    time.sleep(0.5)
    for _ in range(3):
        status, body, _ = get(f"http://{ADDR}:{port}/services/P", host="esb.lab.test", data=b"<x/>")
        assert status == 200
    assert workers[1].text().count("node = ") == 5
    workers[1].stop()
    elb.wait_log("left application cluster", count=2, timeout=10)
    status, body, _ = get(f"http://{ADDR}:{port}/services/P", host="esb.lab.test", data=b"<x/>")
    assert status == 503 and "No application members available" in elb.text()


def test_hazelcast_cannot_start_on_elb_205(homes):
    elb = homes("elb", "elb-2.0.5")
    elb.edit("axis2/axis2.xml", r'<clustering class="[^"]*"', f'<clustering class="{HZ}"')
    elb.start()
    assert "Cannot initialize cluster: java.lang.ClassNotFoundException" in elb.wait_log("start-up failed")
