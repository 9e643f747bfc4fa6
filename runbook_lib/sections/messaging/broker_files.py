"""07 message broker: the broker nodes' own files (document 003).

broker.xml (coordination: nodeID, thriftServerHost = the node's IP,
thriftServerPort left as given so the Offset is added (E12), thriftSOTimeout;
RDBMS coordination and cluster event synchronisation, spelled as the shipped
file spells them; network-partition detection), advanced/qpid-config.xml (the
AMQP heartbeat), hazelcast.properties and log4j.properties (003's Hazelcast
logging), and carbon.xml's Offset. Each file's wanted values are computed once
(``*_wanted``) and serve both the edits and the checks. Every value is set only
where the shipped file does not already say it, so an edit changes exactly the
lines that differ.

axis2.xml (the brokers' own domain, every broker a member), the datasources,
registry mounts and user store are written by the same code as 04/06, called
here for the broker nodes only: the brokers' configuration comes from this
section alone.
"""

from __future__ import annotations

from ...configedit import Edit, SetAttr, SetProperty, SetText
from ...core.context import Run
from ...core.step import Check, Checks, Plan
from ...facts.mysql import client_query, tables
from ...params import NodeView
from ...params import brokers as b
from ...params.derive import db_address
from ..hosts.clocks import measure, skew_checks
from ..shared.namespaces import CARBON_NS
from ..shared.filestep import FileStep, Want, per_node

ROLES = ("broker",)
CO = "/broker/coordination"
RDBMS = CO + "/rdbmsBasedCoordination"
EVENTS = CO + "/rdbmsBasedClusterEventSynchronization"  # 003 writes RDBMSBased...; the shipped file does not
NPD = "/broker/recovery/networkPartitionsDetection"
HEARTBEAT = "/broker/heartbeat"  # advanced/qpid-config.xml

Wanted = tuple[list, list[Want]]


def _xml(pairs: list[tuple[str, str, str]]) -> Wanted:
    """(what, xpath, value): SetText for an element, SetAttr for an ``/@attr`` path."""
    edits: list[Edit] = []
    for _, xpath, value in pairs:
        if "/@" in xpath:
            parent, attr = xpath.rsplit("/@", 1)
            edits.append(SetAttr(parent, attr, value))
        else:
            edits.append(SetText(xpath, value))
    return edits, [Want(what, xpath, [value]) for what, xpath, value in pairs]


def broker_wanted(run: Run, v: NodeView, data: bytes = b"") -> Wanted:
    """003 "Configuring a message broker profile node" steps 5-6, its coordination
    and network-partition sections, with the values from the params."""
    p, s = run.params, b.settings(run.params)
    c, np = s.coordination, s.network_partitions
    return _xml([
        ("nodeID", f"{CO}/nodeID", b.node_id_setting(p, v.name)),
        ("thriftServerHost (the node's IP)", f"{CO}/thriftServerHost", v.address),
        ("thriftServerPort (+ Offset, E12)", f"{CO}/thriftServerPort", str(s.thrift_port)),
        ("thriftSOTimeout", f"{CO}/thriftSOTimeout", str(s.thrift_so_timeout_ms)),
        ("RDBMS coordination", f"{RDBMS}/@enabled", "true"),
        ("heartbeatInterval", f"{RDBMS}/heartbeatInterval", str(c.heartbeat_interval_ms)),
        ("coordinatorEntryCreationWaitTime", f"{RDBMS}/coordinatorEntryCreationWaitTime",
         str(c.coordinator_entry_creation_wait_ms)),
        ("eventPollingInterval", f"{RDBMS}/eventPollingInterval", str(c.event_polling_interval_ms)),
        ("RDBMS cluster event synchronisation", f"{EVENTS}/@enabled", "true"),
        ("eventSyncInterval", f"{EVENTS}/eventSyncInterval", str(c.event_sync_interval_ms)),
        ("network-partition detection", f"{NPD}/@enabled", "true" if np.enabled else "false"),
        ("minimumClusterSize", f"{NPD}/minimumClusterSize", str(np.minimum_cluster_size)),
    ])


def qpid_wanted(run: Run, v: NodeView, data: bytes = b"") -> Wanted:
    """003 step 8: heartbeat between broker and clients (delay in seconds)."""
    h = b.settings(run.params).amqp_heartbeat
    return _xml([("heartbeat delay", f"{HEARTBEAT}/delay", str(h.delay_s)),
                 ("heartbeat timeoutFactor", f"{HEARTBEAT}/timeoutFactor", str(h.timeout_factor))])


def carbon_wanted(run: Run, v: NodeView, data: bytes = b"") -> Wanted:
    """The Offset the ports are computed from (ships 3: 7611 + 3 = 7614, E12)."""
    return _xml([("port Offset", "/c:Server/c:Ports/c:Offset", str(v.offset))])


def _props(pairs: list[tuple[str, str]]) -> Wanted:
    return [SetProperty(k, val) for k, val in pairs], [Want(k, k, [val]) for k, val in pairs]


def hazelcast_wanted(run: Run, v: NodeView, data: bytes = b"") -> Wanted:
    """003 "Optional: Configuring Hazelcast properties" (the shipped file already
    disables the shutdown hook; only the missing line is added)."""
    return _props([("hazelcast.shutdownhook.enabled", "false"), ("hazelcast.logging.type", "log4j")])


def log4j_wanted(run: Run, v: NodeView, data: bytes = b"") -> Wanted:
    """003: with Hazelcast logging through log4j, its level is INFO."""
    return _props([("log4j.logger.com.hazelcast", "INFO")])


_FIX = "set it in {path}: re-run this notebook with apply=True"
_MISSING = "check nodes.{node}.home in the params and that the EI product (with its broker profile) is unpacked there"
# The product spec's file key -> its step (one config-file step shape: filestep.py)
STEPS: dict[str, FileStep] = {
    "broker": FileStep("broker", "xml", broker_wanted, ROLES, empty="(absent)", fix=_FIX, missing_fix=_MISSING),
    "qpid": FileStep("qpid", "xml", qpid_wanted, ROLES, empty="(absent)", fix=_FIX, missing_fix=_MISSING),
    "hazelcast": FileStep("hazelcast", "properties", hazelcast_wanted, ROLES, empty="(absent)", fix=_FIX,
                          missing_fix=_MISSING),
    "log4j": FileStep("log4j", "properties", log4j_wanted, ROLES, empty="(absent)", fix=_FIX, missing_fix=_MISSING),
    "carbon": FileStep("carbon", "xml", carbon_wanted, ROLES, CARBON_NS, empty="(absent)", fix=_FIX,
                       missing_fix=_MISSING),
}


def nodes(run: Run) -> list[NodeView]:
    return run.selected_nodes(ROLES)


def plan_file(run: Run, kind: str) -> Plan:
    """One edit of the file KIND ('broker', 'qpid', 'hazelcast', 'log4j', 'carbon') per broker node."""
    step = STEPS[kind]
    vs = [v for v in nodes(run) if step.applies_to(v)]
    title = step.label(vs[0]) if vs else kind
    return Plan(f"07 {title} on the broker nodes", [step.operation(run, v) for v in vs])


def verify_file(run: Run, kind: str) -> Checks:
    """Every intended value, read back from each broker's file."""
    step = STEPS[kind]
    vs = [v for v in nodes(run) if step.applies_to(v)]
    title = step.rel(vs[0]).split("/", 3)[-1] if vs else kind
    return Checks(f"07 {title} on the broker nodes", per_node(vs, lambda v: step.checks(run, v)))


def intended_values(run: Run, v: NodeView, kind: str) -> int:
    """How many values the runbook sets in the file (tests compare with the diff)."""
    return len(STEPS[kind].wanted(run, v, b"")[1])


# -- the MB store and the clocks ------------------------------------------------

COORDINATION_TABLES = ("MB_NODE_HEARTBEAT", "MB_COORDINATOR_HEARTBEAT", "MB_MEMBERSHIP", "MB_CLUSTER_EVENT")


def verify_mb_store(run: Run) -> Checks:
    """03 sourced mysql-mb.sql once into an empty database (E4); here: the
    coordination tables are there, and each broker's host reads them with the
    application user, as the broker will."""

    d = run.params.database
    checks: list[Check] = []
    if d is None or not d.names.mb_store or not nodes(run):
        return Checks("07 MB store", checks)
    db = d.names.mb_store
    with run.db_connect(d.admin_user, run.secret(d.admin_password.secret)) as conn:
        found = tables(conn, db)
    for t in COORDINATION_TABLES:
        checks.append(Check(d.host, f"{db}.{t}", "present", "present" if t in found else "missing", t in found,
                            "run 03_databases with apply=True: it sources wso2/broker/dbscripts/mb-store/mysql-mb.sql"))
    for v in nodes(run):
        ok, out = client_query(run.host(v.host_name), db_address(run.params), d.port, d.app_user,
                               run.secret(d.app_password.secret), "SELECT COUNT(*) FROM MB_NODE_HEARTBEAT", db)
        checks.append(Check(v.host_name, f"{v.name}: reads {db}.MB_NODE_HEARTBEAT as {d.app_user}",
                            "a row count", out if ok else f"error: {out}", ok and out.strip().isdigit(),
                            "run 03_databases (user and grants) and check the database alias"))
    return Checks("07 MB store (coordination tables)", checks)


def verify_clock_skew(run: Run) -> Checks:
    """RDBMS coordination compares timestamps written by different nodes, so the
    brokers' clocks must agree (003). Measured host against host, never against
    this machine's clock (clocks.py), not fixed with ntpdate cron jobs (E17)."""
    limit = b.settings(run.params).max_clock_skew_ms
    hosts = list(dict.fromkeys(v.host_name for v in nodes(run)))
    checks = skew_checks(measure(run, hosts, limit), limit, "broker nodes")
    return Checks("07 clocks of the broker nodes (E17)", checks)
