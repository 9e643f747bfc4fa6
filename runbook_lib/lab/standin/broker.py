"""The EI 6.1.1 message-broker profile of the stand-in (andes 3.2.19,
CARBON-RUNTIME.md "EI 6.1.1 broker profile"): called by main.start() after
clustering has started.

It reads wso2/broker/conf/broker.xml, binds the broker's ports (AMQP 5672,
MQTT 1883, thrift 7611, each + the Offset: E12), takes part in the RDBMS
coordination through the MB store (mbcoordination.py), and with
networkPartitionsDetection on refuses work while fewer nodes than
minimumClusterSize are in its cluster: AMQP and MQTT connections are closed
and new ones refused until the cluster is whole again.

Lab stand-in code (not WSO2's); stdlib + pymysql only.
"""

from __future__ import annotations

import socket
import struct
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape

from .errors import StartupError
from .mbcoordination import Coordination, DuplicateNodeId, Settings

BOOT = "org.wso2.andes.kernel.AndesKernelBoot"
CLUSTER = "org.wso2.andes.server.cluster.HazelcastClusterAgent"
PARTITION = "org.wso2.andes.server.cluster.coordination.hazelcast.HazelcastBasedNetworkPartitionDetector"
FLOW = "org.wso2.andes.kernel.FlowControlManager"
SUBS = "org.wso2.andes.kernel.subscription.AndesSubscriptionManager"
MB_STORE = "WSO2_MB_STORE_DB"
AMQP_HEADER = b"AMQP"


@dataclass(frozen=True)
class BrokerXml:
    node_id: str
    thrift_host: str
    thrift_port: int
    so_timeout_ms: int
    rdbms: bool
    heartbeat_ms: int
    creation_wait_ms: int
    polling_ms: int
    amqp_bind: str
    amqp_port: int
    mqtt_bind: str
    mqtt_port: int
    partitions: bool
    minimum_size: int


def read_broker_xml(path) -> BrokerXml:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise StartupError(f"Error while parsing broker.xml: {e}", BOOT) from None

    def text(xpath: str, default: str) -> str:
        el = root.find(xpath)
        return el.text.strip() if el is not None and el.text and el.text.strip() else default

    def flag(xpath: str, default: bool) -> bool:
        el = root.find(xpath)
        return default if el is None else el.get("enabled", str(default)).strip().lower() == "true"

    def port(xpath: str, default: int) -> int:
        el = root.find(xpath)
        return int(el.get("port", default)) if el is not None else default

    co, rd = "coordination", "coordination/rdbmsBasedCoordination"
    return BrokerXml(
        node_id=text(f"{co}/nodeID", "default"), thrift_host=text(f"{co}/thriftServerHost", "localhost"),
        thrift_port=int(text(f"{co}/thriftServerPort", "7611")), so_timeout_ms=int(text(f"{co}/thriftSOTimeout", "0")),
        rdbms=flag(rd, True), heartbeat_ms=int(text(f"{rd}/heartbeatInterval", "5000")),
        creation_wait_ms=int(text(f"{rd}/coordinatorEntryCreationWaitTime", "3000")),
        polling_ms=int(text(f"{rd}/eventPollingInterval", "4000")),
        amqp_bind=text("transports/amqp/bindAddress", "0.0.0.0"), amqp_port=port("transports/amqp/defaultConnection", 5672),
        mqtt_bind=text("transports/mqtt/bindAddress", "0.0.0.0"), mqtt_port=port("transports/mqtt/defaultConnection", 1883),
        partitions=flag("recovery/networkPartitionsDetection", False),
        minimum_size=int(text("recovery/networkPartitionsDetection/minimumClusterSize", "1")))


def connection_start() -> bytes:
    """AMQP 0-9-1 Connection.Start (class 10, method 10): what a broker answers to the protocol header."""
    def longstr(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b
    payload = struct.pack(">HHBB", 10, 10, 0, 9) + struct.pack(">I", 0) + longstr(b"PLAIN") + longstr(b"en_US")
    return struct.pack(">BHI", 1, 0, len(payload)) + payload + b"\xce"


class Listener:
    """A transport port: accepts while the node takes work, closes everything when it stops."""

    def __init__(self, sock: socket.socket, name: str, accepting, greet: bool = False):
        self.sock, self.name, self.accepting, self.greet = sock, name, accepting, greet
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"{name}-acceptor", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self.accepting():
                conn.close()  # error based flow control: no new connections
                continue
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(None)
            first = conn.recv(8)
            if self.greet and first.startswith(AMQP_HEADER):
                conn.sendall(connection_start())
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            self.drop(conn)

    def drop(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def disconnect_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            self.drop(c)


class PartitionDetector:
    """networkPartitionsDetection: the cluster size is the Hazelcast member count."""

    def __init__(self, node, minimum: int, listeners: list[Listener]):
        self.node, self.minimum, self.listeners = node, minimum, listeners
        self.whole = True
        self._lock = threading.Lock()

    def size(self) -> int:
        ms = self.node.membership
        if ms is None:
            return 1
        return 1 + len([m for m in ms.members() if m.kind == "node" and m.uuid != ms.local.uuid])

    def check(self) -> None:
        with self._lock:
            n = self.size()
            log = self.node.log
            if self.whole and n < self.minimum:
                self.whole = False
                log.warn(PARTITION, f"Current cluster size has reduced below minimum cluster size, current cluster "
                                    f"size: {n}")
                log.warn(FLOW, "Network partition detected, activating error based flow control")
                log.warn(SUBS, "Minimum node count is below required, forcefully disconnecting all subscribers")
                for lst in self.listeners:
                    lst.disconnect_all()
            elif not self.whole and n >= self.minimum:
                self.whole = True
                log.info(PARTITION, f"Current cluster size satisfies minimum required. current cluster size: {n}")

    def start(self) -> None:
        if self.node.membership is not None:
            self.node.membership.add_listener(lambda event, m: self.check() if event in ("joined", "left") else None)

        def loop() -> None:
            while not self.node.stopping.wait(1.0):
                self.check()
        threading.Thread(target=loop, name="partition-detector", daemon=True).start()


NODE_LIST = "/carbon/andes-cluster-mgt/nodesList.jsp"


def node_list_page(node, coordination: Coordination) -> tuple[int, dict, bytes]:
    """Cluster Information -> Node List (CARBON-RUNTIME.md): the live nodes of the
    MB store, the coordinator marked, and the store's health as andes keeps it
    (SOURCES.md A4): Healthy until a store operation fails, then that failure,
    until the store answers again."""
    try:
        rows = coordination._q("SELECT NODE_ID, CLUSTER_AGENT_HOST, CLUSTER_AGENT_PORT FROM MB_NODE_HEARTBEAT "
                               "WHERE LAST_HEARTBEAT >= %s ORDER BY NODE_ID",
                               (__import__("time").time() * 1000 - coordination.s.stale_ms,))
        coord = coordination.coordinator()
    except Exception:
        rows, coord = [], None
    health = escape(coordination.store_error) or "Healthy"
    body = "".join(f"<tr><td>{escape(str(i))}</td><td>{escape(str(h))}</td><td>{p}</td>"
                   f"<td>{'Yes' if coord and coord[0] == i else 'No'}</td></tr>" for i, h, p in rows)
    page = ("<html><head><title>WSO2 Management Console</title></head><body><h2>Node List</h2>"
            "<p>Running in Cluster Mode...</p><table><tr><th>Node Id</th><th>IP Address of Node</th>"
            f"<th>Port of Node</th><th>Coordinator Node</th></tr>{body}</table>"
            f"<p>Message Store Health : {health}</p></body></html>")
    return 200, {"Content-Type": "text/html;charset=UTF-8"}, page.encode()


def _bind_host(node, configured: str) -> str | None:
    return None if configured in ("0.0.0.0", "") else configured


def run(node) -> None:
    """Start the broker profile; raises StartupError as the real node fails."""
    cfg = read_broker_xml(node.conf / "broker.xml")
    log, off = node.log, node.offset
    cl = node.axis2.clustering if node.axis2 else None
    clustered = node.membership is not None
    if cfg.thrift_host == "0.0.0.0":  # ERRATA E12; andes v3.2.19 .../thrift/MBThriftServer.java (SOURCES.md row T1)
        raise StartupError("org.wso2.andes.kernel.AndesException: Invalid thrift server host 0.0.0.0",
                           "org.wso2.andes.thrift.MBThriftServer")
    node_id = cfg.node_id if cfg.node_id != "default" else f"NODE:{node.member_host}:{cl.local_port}"
    log.info(BOOT, f"[stand-in] broker profile: node ID {node_id}, offset {off}")
    coordination = None
    if clustered and cfg.rdbms:
        store = node.datasource(MB_STORE)
        if store is None or store.host is None:
            raise StartupError(f"[stand-in] the {MB_STORE} datasource is not a MySQL database: a broker cluster "
                               "needs one shared MB store (document 003)", "lab.standin")
        thrift_host = socket.gethostbyname(cfg.thrift_host) if cfg.thrift_host != "localhost" else "127.0.0.1"
        s = Settings(node_id, thrift_host, cfg.thrift_port + off, node.member_host, cl.local_port,
                     cfg.heartbeat_ms, cfg.creation_wait_ms, cfg.polling_ms)
        coordination = Coordination(s, lambda: node.connect(MB_STORE),
                                    lambda level, logger, msg: node.log.write(level, logger, msg))
        try:
            coordination.check_unique()
        except DuplicateNodeId as e:
            raise StartupError(str(e), CLUSTER) from None
    # thrift on thriftServerHost, the transports on their bindAddress, all + the Offset (E12)
    thrift_bind = "127.0.0.1" if cfg.thrift_host == "localhost" else cfg.thrift_host
    if node.bind_address != "0.0.0.0" and thrift_bind not in (node.bind_address, "127.0.0.1"):
        thrift_bind = node.bind_address  # the lab's unit tests run every node on its own loopback address
    ports = {"thrift": cfg.thrift_port + off, "amqp": cfg.amqp_port + off, "mqtt": cfg.mqtt_port + off}
    detector: PartitionDetector | None = None
    accepting = lambda: detector is None or detector.whole  # noqa: E731
    listeners = []
    thrift_sock = node.bind(ports["thrift"], host=thrift_bind, what="Thrift server")
    thrift_sock.settimeout(None)
    listeners.append(Listener(thrift_sock, "thrift", lambda: True))
    amqp = Listener(node.bind(ports["amqp"], host=_bind_host(node, cfg.amqp_bind), what="AMQP transport"),
                    "amqp", accepting, greet=True)
    mqtt = Listener(node.bind(ports["mqtt"], host=_bind_host(node, cfg.mqtt_bind), what="MQTT transport"),
                    "mqtt", accepting)
    node.ports.update(ports)
    log.standin(f"broker ports: thrift {thrift_bind}:{ports['thrift']}, AMQP {ports['amqp']}, MQTT {ports['mqtt']}")
    if coordination is not None:
        coordination.start()
        node.on_stop(coordination.stop)
        node.coordination = coordination
        node.add_console_page(NODE_LIST, lambda req: node_list_page(node, coordination))
    if clustered and cfg.partitions:
        detector = PartitionDetector(node, cfg.minimum_size, [amqp, mqtt])
        detector.check()
        detector.start()
    node.on_stop(amqp.disconnect_all)
    node.on_stop(mqtt.disconnect_all)
