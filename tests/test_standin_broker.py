"""The stand-in's broker profile against a real MariaDB (no lab): RDBMS
coordination through the MB store's tables, one coordinator, take-over when it
stops, network-partition detection, duplicate node IDs, the thrift port after
the Offset (E12). Nodes run on 127.0.0.x loopback addresses with free ports."""

from __future__ import annotations

import os
import socket
import time
import zipfile

import pytest

from runbook_lib.sections.messaging.broker_health import read_health
from tests.mbstore_server import MbStore
from tests.standin_homes import Home, amqp_answers, free_port

HEARTBEAT_MS = 1000  # short intervals keep the test quick; the algorithm is the same


def _wait(cond, timeout: float = 20.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(step)
    return cond()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = MbStore(tmp_path_factory.mktemp("mbstore"), free_port("127.0.0.1")).start()
    yield s
    s.stop()


def _free_offset(addr: str) -> int:
    from tests.standin_homes import free
    import random
    for _ in range(500):
        off = random.randint(2000, 20000)
        if all(free(addr, p + off) for p in (9763, 9443, 7611, 5672, 1883)):
            return off
    raise RuntimeError("no free offset")


def _broker(tmp, name: str, addr: str, store: MbStore, members: list, port: int, node_id: str,
            minimum: int | None = None) -> Home:
    h = Home(tmp, name, addr=addr, script="broker.sh")
    h.set_offset(_free_offset(addr))
    h.cluster("wso2.mb.domain", port, members, host=addr)
    h.edit("broker.xml", r"<nodeID>[^<]*", f"<nodeID>{node_id}")
    h.edit("broker.xml", r"(<thriftServerHost>)[^<]*", rf"\g<1>{addr}")
    h.edit("broker.xml", r"(<heartbeatInterval>)\d+", rf"\g<1>{HEARTBEAT_MS}")
    h.edit("broker.xml", r"(<coordinatorEntryCreationWaitTime>)\d+", r"\g<1>300")
    h.edit("broker.xml", r"(<eventPollingInterval>)\d+", r"\g<1>500")
    if minimum:
        h.edit("broker.xml", r'<networkPartitionsDetection enabled\s*=\s*"false">', '<networkPartitionsDetection enabled="true">')
        h.edit("broker.xml", r"(<minimumClusterSize>)\d+", rf"\g<1>{minimum}")
    url = f"jdbc:mysql://127.0.0.1:{store.port}/wso2_mb"
    h.edit("datasources/master-datasources.xml",
           r"(<name>WSO2_MB_STORE_DB</name>.*?<url>)[^<]*(</url>\s*<username>)[^<]*(</username>\s*<password>)[^<]*"
           r"(</password>\s*<driverClassName>)[^<]*", rf"\g<1>{url}\g<2>root\g<3>\g<4>com.mysql.jdbc.Driver")
    with zipfile.ZipFile(h.path / "lib" / "mysql-connector-java-5.1.49.jar", "w") as z:  # the class is what counts (D3)
        z.writestr("com/mysql/jdbc/Driver.class", b"\xca\xfe\xba\xbe")
    return h


def _coordinator(store: MbStore) -> list[tuple]:
    return store.query("SELECT NODE_ID, LAST_HEARTBEAT FROM MB_COORDINATOR_HEARTBEAT")


def _amqp_answers(addr: str, port: int) -> bool:
    return amqp_answers(addr, port, timeout=2)


@pytest.fixture
def pair(tmp_path, store):
    store.query("DELETE FROM MB_COORDINATOR_HEARTBEAT")
    store.query("DELETE FROM MB_NODE_HEARTBEAT")
    store.query("DELETE FROM MB_MEMBERSHIP")
    made: list[Home] = []

    def make(minimum: int | None = None) -> tuple[Home, Home]:
        a, b = "127.0.0.41", "127.0.0.42"
        pa, pb = free_port(a), free_port(b)
        members = [(a, pa), (b, pb)]
        homes = (_broker(tmp_path, "mb1", a, store, members, pa, "mb1", minimum),
                 _broker(tmp_path, "mb2", b, store, members, pb, "mb2", minimum))
        made.extend(homes)
        return homes

    yield make
    for h in made:
        h.stop()


def test_one_coordinator_then_take_over(pair, store):
    n1, n2 = pair()
    n1.start()
    n1.wait_log("Elected current node as the coordinator")
    n2.start()
    t2 = n2.wait_log("Election resulted in current node becoming a CANDIDATE node")
    assert "Initializing Cluster Mode. Current Node ID:mb2" in t2
    assert [r[0] for r in _coordinator(store)] == ["mb1"]
    # SOURCES.md A1-A2 (andes v3.2.19 RDBMSCoordinationStrategy, ClusterManager): only the coordinator
    # logs "Member added"; every live node, the newcomer included, logs the gossip line about the newcomer
    n1.wait_log("Member added mb2")
    n1.wait_log("Handling cluster gossip: Node mb2  Joined the Cluster")
    t2 = n2.wait_log("Handling cluster gossip: Node mb2  Joined the Cluster")
    assert "Member added" not in t2  # a non-coordinator never logs it
    beats = dict(store.query("SELECT NODE_ID, IS_NEW_NODE FROM MB_NODE_HEARTBEAT"))
    assert beats == {"mb1": 0, "mb2": 0}
    # the console's Node List: both nodes, mb1 the coordinator, the store healthy
    import ssl, urllib.request
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    node_list = f"https://{n2.addr}:{9443 + n2.offset}/carbon/andes-cluster-mgt/nodesList.jsp"
    page = urllib.request.urlopen(node_list, context=ctx, timeout=5).read().decode()
    assert "Node List" not in page and "login" in page  # no session: the console's login page, as every JSP
    page = urllib.request.urlopen(urllib.request.Request(node_list, headers={"Cookie": "JSESSIONID=standin"}),
                                  context=ctx, timeout=5).read().decode()
    assert "Running in Cluster Mode..." in page and "Message Store Health : Healthy" in page
    assert read_health(n2.addr, 9443 + n2.offset, "admin", "admin") == "Healthy"  # as 07 reads it
    assert "<td>mb1</td><td>127.0.0.41</td>" in page and page.count("<td>Yes</td>") == 1
    # thrift and AMQP at 7611/5672 + the Offset
    assert socket.create_connection((n2.addr, 7611 + n2.offset), timeout=2)
    assert _amqp_answers(n2.addr, 5672 + n2.offset)
    # the coordinator stops: the other takes over within about two heartbeat intervals (+ the entry wait)
    t0 = time.monotonic()
    n1.stop()
    n2.wait_log("Elected current node as the coordinator", timeout=10)
    took = time.monotonic() - t0
    assert took < 2 * HEARTBEAT_MS / 1000 + 1.5, took
    assert [r[0] for r in _coordinator(store)] == ["mb2"]
    n2.wait_log("Going for election since the Coordinator is invalid")
    n2.wait_log("Member removed mb1", timeout=10)
    assert [r[0] for r in store.query("SELECT NODE_ID FROM MB_NODE_HEARTBEAT")] == ["mb2"]


def test_partition_detection_refuses_work_until_whole(pair, store):
    n1, n2 = pair(minimum=2)
    n1.start()
    t = n1.wait_log("Current cluster size has reduced below minimum cluster size, current cluster size: 1")
    assert "Network partition detected, activating error based flow control" in t
    assert "Minimum node count is below required, forcefully disconnecting all subscribers" in t
    assert not _amqp_answers(n1.addr, 5672 + n1.offset)  # refused while alone
    n2.start()
    n1.wait_log("Current cluster size satisfies minimum required. current cluster size: 2")
    assert _wait(lambda: _amqp_answers(n1.addr, 5672 + n1.offset))
    # an open client connection is dropped when the other node goes
    c = socket.create_connection((n1.addr, 5672 + n1.offset), timeout=2)
    c.sendall(b"AMQP\x00\x00\x09\x01")
    assert c.recv(16)[:1] == b"\x01"
    n2.stop()
    n1.wait_log("current cluster size: 1", count=2, timeout=15)
    c.settimeout(5)
    while c.recv(4096):  # the rest of Connection.Start, then the end: closed by the broker
        pass
    assert not _amqp_answers(n1.addr, 5672 + n1.offset)
    n2.start()
    n1.wait_log("Current cluster size satisfies minimum required. current cluster size: 2", count=2)
    assert _wait(lambda: _amqp_answers(n1.addr, 5672 + n1.offset))


def test_two_nodes_with_one_node_id(tmp_path, store):
    store.query("DELETE FROM MB_NODE_HEARTBEAT")
    a, b = "127.0.0.43", "127.0.0.44"
    pa, pb = free_port(a), free_port(b)
    members = [(a, pa), (b, pb)]
    n1 = _broker(tmp_path, "d1", a, store, members, pa, "same-id")
    n2 = _broker(tmp_path, "d2", b, store, members, pb, "same-id")
    try:
        n1.start()
        n1.wait_log("Initializing Cluster Mode. Current Node ID:same-id")
        n2.start()
        t = n2.wait_log("start-up failed")
        assert "Another node with the same node id: same-id found in the cluster. Cannot start the node." in t
        assert "WSO2 Carbon started" not in t
        assert "ERROR {" in t.split("Another node with the same node id")[0].rsplit("TID:", 1)[1]
    finally:
        n1.stop()
        n2.stop()


def test_a4_store_unreachable_the_node_list_says_so(tmp_path):
    """SOURCES.md A4 (andes UIStoreHealthListener, carbon-business-messaging ClusterManagementBeans): the Node
    List's store health is Healthy until a store operation fails, then that failure's text."""
    own = MbStore(tmp_path / "store", free_port("127.0.0.1")).start()
    try:
        addr = "127.0.0.%d" % (os.getpid() % 200 + 33)
        n = _broker(tmp_path, "h1", addr, own, [(addr, free_port(addr))], free_port(addr), "h1")
        n.start()
        n.wait_log("Elected current node as the coordinator")
        assert read_health(addr, 9443 + n.offset, "admin", "admin") == "Healthy"
        own.stop()
        got = _wait(lambda: (h := read_health(addr, 9443 + n.offset, "admin", "admin")) != "Healthy" and h, 15)
        assert got and got.startswith("org.wso2.andes.kernel.AndesException: "), got
        n.stop()
    finally:
        own.stop()
