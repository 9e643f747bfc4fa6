"""The stand-in as strict as the product (issue 17): one test per behaviour of
runbook_lib/lab/standin/SOURCES.md, each naming its row and its source. No
lab: temporary product homes on a loopback address (tests/standin_homes.py)."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import time

import pytest

from runbook_lib.lab.standin.main import alive
from tests.standin_homes import Home, free_offset, free_port, make_homes

ADDR = "127.0.0.%d" % (os.getpid() % 200 + 30)
JDK17 = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*"))


@pytest.fixture
def homes(tmp_path):
    yield from make_homes(tmp_path, ADDR)


def _no_java_env(h: Home, **extra: str) -> dict:
    env = {k: v for k, v in h.env().items() if k not in ("JAVA_HOME", "JAVACMD")}
    return {**env, **extra}


# J1 (carbon-kernel v4.4.16 distribution/kernel/carbon-home/bin/wso2server.sh; product-ei
# v6.1.1 distribution/src/scripts/integrator.sh): no usable JAVA_HOME, the script stops.
@pytest.mark.parametrize("command", ["start", "stop"])
def test_j1_unset_java_home_stops_the_script(homes, command):
    h = homes("j")
    res = h.script(command, env=_no_java_env(h))
    assert res.returncode == 1
    assert res.stdout.splitlines()[0] == "Error: JAVA_HOME is not defined correctly."
    assert not h.log.exists() and h.pid() is None


def test_j1_java_home_without_java_stops_the_script(homes, tmp_path):
    h = homes("j")
    res = h.script("start", env=_no_java_env(h, JAVA_HOME=str(tmp_path / "no-jdk")))
    assert res.returncode == 1 and "Error: JAVA_HOME is not defined correctly." in res.stdout
    assert f" CARBON cannot execute {tmp_path / 'no-jdk'}/bin/java" in res.stdout


# J2 (same scripts): a JDK that is not 1.7/1.8 gets the two lines and the JVM's own refusal of
# -Djava.endorsed.dirs on Java 9+ (printed by the real JDK 17 here): the server never starts.
@pytest.mark.skipif(not JDK17, reason="no JDK 17 on this machine")
def test_j2_jdk17_is_refused_by_the_start_script(homes):
    h = homes("j")
    env = _no_java_env(h, JAVA_HOME=JDK17[0])
    assert h.script("start", env=env).returncode == 0  # `start` runs it under nohup and returns, as the real one
    time.sleep(3)
    assert not h.log.exists() and h.pid() is None  # the JVM did not start: no log, no pid file
    fg = subprocess.run(["sh", str(h.launcher)], env=env, capture_output=True, text=True, timeout=60)
    assert fg.returncode == 1
    lines = fg.stdout.splitlines()
    assert lines[:2] == [" Starting WSO2 Carbon (in unsupported JDK)",
                         " [ERROR] CARBON is supported only on JDK 1.7 and 1.8"]
    assert "-Djava.endorsed.dirs=" in lines[2] and lines[2].endswith(
        "is not supported. Endorsed standards and standalone APIs")
    assert "Error: Could not create the Java Virtual Machine." in fg.stdout


def test_j3_standin_jdk_prints_a_real_1_8_version(homes):
    h = homes("j")
    res = subprocess.run([f"{h.java_home}/bin/java", "-version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout == ""
    assert res.stderr.splitlines()[0] == 'openjdk version "1.8.0_372"'
    h.start()
    assert f"Java Home        : {h.java_home}" in h.wait_log("WSO2 Carbon started")


# S1 (wso2server.sh / integrator.sh `stop`): TERM to the pid and exit at once.
def test_s1_stop_returns_before_the_process_ends(homes):
    h = homes("s")
    h.start()
    h.wait_log("WSO2 Carbon started")
    pid = h.pid()
    os.kill(pid, signal.SIGSTOP)  # a JVM busy shutting down: TERM is pending, not yet acted on
    try:
        assert h.script("stop").returncode == 0
        assert alive(pid)  # `stop` returned while the process still runs
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid) and "Shutting down OSGi framework..." in h.text()


# B1 (product-ei v6.1.1 distribution/src/scripts/broker.sh): starts the broker's
# wso2server.sh in the background and loops for ever; TERM to it stops the broker.
def test_b1_broker_sh_never_returns(tmp_path):
    h = Home(tmp_path, "b", addr=ADDR, script="broker.sh")
    h.set_offset(free_offset(ADDR))
    loop = subprocess.Popen(["sh", str(h.path / "bin" / "broker.sh"), "start"], env=h.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = None
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            loop.wait(timeout=5)
        assert h.log.exists() and "Starting WSO2 Carbon..." in h.text()
        pid = h.pid()
        assert pid and alive(pid)
        # stopped as 07 stops it: the broker's own wso2server.sh stop (TERM to its pid)
        assert h.script("stop").returncode == 0
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
        assert loop.poll() is None  # broker.sh itself still loops (its `sleep 60` defers even its TERM trap)
    finally:
        loop.kill()
        loop.wait(timeout=10)
        for left in {pid, h.pid()} - {None}:  # the pid file may be gone while the process still ends
            if alive(left):
                os.kill(left, signal.SIGKILL)


# L1 (carbon-kernel v4.4.16 distribution/kernel/carbon-home/repository/conf/log4j.properties):
# AS 5.x logs `... %m %n`, no trailing {%c}; the EI integrator keeps it.
def test_l1_as_uses_the_kernel_layout(homes):
    h = homes("a", "as-5.2.1")
    h.start()
    line = next(ln for ln in h.wait_log("WSO2 Carbon started").splitlines() if "Starting WSO2 Carbon..." in ln)
    assert line.endswith("-  Starting WSO2 Carbon... ")
    e = homes("e")
    e.start()
    line = next(ln for ln in e.wait_log("WSO2 Carbon started").splitlines() if "Starting WSO2 Carbon..." in ln)
    assert line.endswith("Starting WSO2 Carbon... {org.wso2.carbon.core.internal.CarbonCoreActivator}")


# P1 (carbon-kernel v4.4.16 HazelcastClusteringAgent: only setPort, Hazelcast's auto-increment on):
# a taken localMemberPort moves the member to the next port; the node starts.
def test_p1_taken_local_member_port_moves_on(homes):
    import socket
    port = free_port(ADDR)
    blocker = socket.socket()
    blocker.bind((ADDR, port))
    blocker.listen(1)
    try:
        h = homes("p")
        h.cluster("wso2.ei.domain", port, [(ADDR, port)])
        h.start()
        log = h.wait_log("WSO2 Carbon started")
        assert f"Port: {port + 1}, HTTP:" in log and "Cannot initialize cluster" not in log
    finally:
        blocker.close()


def _joined_pair(homes):  # noqa: ANN001 - the homes fixture
    """Two members of one domain, A the well-known one; returns once A logs that B joined."""
    a, b = homes("a"), homes("b")
    pa, pb = free_port(ADDR), free_port(ADDR)
    a.cluster("wso2.ei.domain", pa, [(ADDR, pa)])
    b.cluster("wso2.ei.domain", pb, [(ADDR, pa)])
    a.start()
    a.wait_log("WSO2 Carbon started")
    b.start()
    a.wait_log("Member joined [")
    return a, b, pa, pb


# H3 (HazelcastClusteringAgent.setHazelcastProperties: hazelcast.max.no.heartbeat.seconds 600):
# a member that is there but silent stays a member; a dead process is dropped at once.
def test_h3_silent_member_is_kept_dead_one_dropped(homes):
    a, b, pa, pb = _joined_pair(homes)
    os.kill(b.pid(), signal.SIGSTOP)  # silent, its port still accepts
    try:
        time.sleep(6)
        assert "Member left [" not in a.text()
    finally:
        os.kill(b.pid(), signal.SIGCONT)
    os.kill(b.pid(), signal.SIGKILL)  # the process is gone: its port refuses
    a.wait_log("Member left [", timeout=10)


# H3, the file's value (setHazelcastProperties sets 600 unless hazelcast.properties says otherwise):
# a silent member is dropped once it has sent no heartbeat for that long. Hazelcast's heartbeat is
# one-way (H4), so the member is judged by the heartbeats it sends, not by answers to ours.
def test_h3_silent_member_dropped_after_the_files_max_no_heartbeat(homes):
    a, b = homes("a"), homes("b")
    pa, pb = free_port(ADDR), free_port(ADDR)
    a.cluster("wso2.ei.domain", pa, [(ADDR, pa)])
    b.cluster("wso2.ei.domain", pb, [(ADDR, pa)])
    (a.conf / "hazelcast.properties").write_text("hazelcast.max.no.heartbeat.seconds=3\n")
    a.start()
    a.wait_log("WSO2 Carbon started")
    b.start()
    a.wait_log("Member joined [")
    time.sleep(4)  # past 3 s as a member: its heartbeats keep it
    assert "Member left [" not in a.text()
    os.kill(b.pid(), signal.SIGSTOP)  # silent, its port still accepts
    try:
        a.wait_log("Member left [", timeout=10)
    finally:
        os.kill(b.pid(), signal.SIGCONT)


# X1 (unsourced, the stricter reading: Synapse sends a response only from respond/send):
# a proxy with a log mediator and nothing else leaves the client waiting.
def test_x1_proxy_without_respond_leaves_the_client_waiting(homes):
    import socket
    h = homes("x")
    h.edit("carbon.xml", r"<DeploymentUpdateInterval>\d+", "<DeploymentUpdateInterval>1")
    h.start()
    h.wait_log("WSO2 Carbon started")
    proxy = h.path / "repository/deployment/server/synapse-configs/default/proxy-services/Quiet.xml"
    proxy.write_text('<proxy xmlns="http://ws.apache.org/ns/synapse" name="Quiet" transports="http">'
                     '<target><inSequence><log level="custom"><property name="probe" value="quiet"/></log>'
                     '</inSequence></target></proxy>')
    h.wait_log("ProxyService named 'Quiet' has been deployed")
    with socket.create_connection((ADDR, 8280 + h.offset), timeout=3) as s:
        s.sendall(b"POST /services/Quiet HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n<ping/>")
        with pytest.raises(socket.timeout):
            s.recv(100)
    assert "probe = quiet" in h.wait_log("probe = quiet")


# H4 (Hazelcast 3.5 defaults, carbon-kernel v4.4.16 parent/pom.xml and setHazelcastProperties):
# every member heartbeats every other each second over one kept-open connection per pair.
def test_h4_heartbeats_go_over_one_kept_open_connection(homes):
    a, b, pa, pb = _joined_pair(homes)

    def links_to(port: int) -> set[str]:
        out = subprocess.run(["ss", "-Htn", "state", "established", "dst", f"{ADDR}:{port}"],
                             capture_output=True, text=True).stdout
        return {line.split()[-2] for line in out.splitlines() if line.strip()}  # the local end

    time.sleep(2)  # both heartbeat loops running
    first = links_to(pa) | links_to(pb)
    time.sleep(3)  # three more heartbeat rounds
    later = links_to(pa) | links_to(pb)
    kept = first & later
    assert len(kept) >= 2, (first, later)  # a->b and b->a each kept open across the rounds
    assert "Member left [" not in a.text() + b.text()


# U1 (wso2-synapse ProxyServiceDeployer.undeploySynapseArtifact, ProxyService.stop; carbon-deployment
# TomcatGenericWebappsDeployer.undeploy): a proxy or webapp whose file is gone is undeployed, with the product's lines.
def test_u1_a_removed_proxy_and_webapp_are_undeployed(homes):
    import shutil
    import urllib.error
    import urllib.request
    p, a = homes("u"), homes("ua", "as-5.2.1")
    for h in (p, a):
        h.edit("carbon.xml", r"<DeploymentUpdateInterval>\d+", "<DeploymentUpdateInterval>1")
        h.start()
        h.wait_log("WSO2 Carbon started")
    proxy = p.path / "repository/deployment/server/synapse-configs/default/proxy-services/Gone.xml"
    proxy.write_text('<proxy xmlns="http://ws.apache.org/ns/synapse" name="Gone" transports="http">'
                     '<target><inSequence><respond/></inSequence></target></proxy>')
    app = a.path / "repository/deployment/server/webapps/gone"
    app.mkdir(parents=True)
    (app / "index.html").write_text("<p>gone</p>")
    p.wait_log("ProxyService named 'Gone' has been deployed")
    a.wait_log("StandardContext[/gone]")
    proxy.unlink()
    shutil.rmtree(app)
    log = p.wait_log("ProxyService named 'Gone' has been undeployed")
    assert "{org.apache.synapse.core.axis2.ProxyService} -  Stopped the proxy service : Gone" in log
    assert ("{org.wso2.carbon.webapp.mgt.TomcatGenericWebappsDeployer} -  Undeployed webapp: StandardEngine[Catalina]"
            f".StandardHost[localhost].StandardContext[/gone].File[{app}]") in a.wait_log("Undeployed webapp:")
    req = urllib.request.Request(f"http://{ADDR}:{8280 + p.offset}/services/Gone", data=b"<ping/>")
    with pytest.raises(urllib.error.HTTPError) as e:  # no longer deployed: the EPR fault
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 500
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"http://{ADDR}:{9763 + a.offset}/gone/", timeout=5)
