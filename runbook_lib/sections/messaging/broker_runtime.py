"""07 message broker, running: start the broker nodes with bin/broker.sh and
prove the cluster from what a real node exposes (CARBON-RUNTIME.md "EI 6.1.1
broker profile"): its log, the MB store's coordination tables, its ports.

- each node started, with the node ID the params give, and taken into the
  cluster: the coordinator's "Member added <id>" reaches every live node as
  andes' "Handling cluster gossip: Node <id>  Joined the Cluster", the newcomer
  included, so each node logs that line about itself (andes v3.2.19
  RDBMSCoordinationStrategy, ClusterManager); IS_NEW_NODE 0 in MB_NODE_HEARTBEAT;
- exactly one coordinator: one MB_COORDINATOR_HEARTBEAT row naming a broker,
  and the same node, and only it, saying `Elected current node as the coordinator`
  last in its log;
- every node's heartbeat in MB_NODE_HEARTBEAT fresher than heartbeatInterval
  (measured against the database server's clock);
- the thrift port answers at thriftServerPort + Offset (E12), from the other brokers.

A running broker whose configuration files changed since its start (a new
database password's cipher text, issue 19 item 6) still has the old values:
the start step restarts it, one broker at a time, so the others keep a coordinator.
"""

from __future__ import annotations

import posixpath
import time

from ...core import evidence
from ..cluster import proof  # 07's evidence for the run report
from ...core.change import Change
from ...core.context import Run
from ...core.step import Check, Checks, Operation, Plan
from ...params import NodeView
from ...params import brokers as b
from .broker_files import nodes
from ..cluster.lifecycle import changed_since_start
from ..securevault.startup import give_password, start_args, take_back

STARTED, FAILED = "WSO2 Carbon started in", "Cannot start the node"
START_LINE = "Starting WSO2 Carbon..."
ELECTED = "Elected current node as the coordinator"
CANDIDATE = "Election resulted in current node becoming a CANDIDATE node"
INVALID = "Going for election since the Coordinator is invalid"  # a candidate's (andes v3.2.x)
LOST = "Going for election since Coordinator state is lost"  # a coordinator whose row another took


def start_command(v: NodeView) -> str:
    """bin/broker.sh start, as the documents give it."""
    return f"sh {posixpath.join(v.node.home, v.spec.start_script)} start"


def launch_command(v: NodeView, extra: str = "") -> str:
    """start_command detached: EI 6.1.1's bin/broker.sh starts the broker's
    wso2server.sh in the background and then loops (`sleep 60`) for ever
    (product-ei v6.1.1 distribution/src/scripts/broker.sh), so an operator runs
    it with nohup and waits for the log, never for the command. EXTRA: more
    arguments (Secure Vault's -Dkey.password=true, securevault/startup.py)."""
    return f"nohup {start_command(v)}{extra} </dev/null >/dev/null 2>&1 &"


def stop_command(v: NodeView) -> str:
    """The broker's own script: <home>/wso2/broker/bin/wso2server.sh stop (TERM to its pid)."""
    return f"sh {posixpath.join(v.node.home, v.spec.carbon_home, 'bin', 'wso2server.sh')} stop"


def gossip_joined(node_id: str) -> str:
    """andes ClusterManager.memberAdded's line (two spaces before `Joined`)."""
    return f"Handling cluster gossip: Node {node_id}  Joined the Cluster"


def running(run: Run, v: NodeView) -> int | None:
    """The pid in wso2carbon.pid when that process is alive."""
    res = run.host(v.host_name).run("p=$(cat %s 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"",
                                    v.path(v.spec.pid_file))
    out = res.stdout.strip()
    return int(out) if res.ok and out.isdigit() else None


def current_log(run: Run, v: NodeView) -> str:
    """The node's log since its last start (`Starting WSO2 Carbon...`)."""
    data = run.host(v.host_name).read_file(v.path(v.spec.log_file)) or b""
    text = data.decode("utf-8", "replace")
    i = text.rfind(START_LINE)
    return text[i:] if i >= 0 else text


def _wait_log(run: Run, views: list[NodeView], node_id: str, want: str, what: str) -> list[str]:
    """Wait (one cluster budget) until every node of VIEWS logs NODE_ID's last
    event as WANT ('added' or 'removed'); the names of those that did not."""
    deadline = time.monotonic() + _budget(run)
    while True:
        late = [o.name for o in views if _events(current_log(run, o), node_id) != want]
        if not late or time.monotonic() > deadline:
            return late
        evidence.note(f"waiting for {', '.join(late)} to log {node_id} as {what}")
        time.sleep(1.0)


def _restart_stop(run: Run, v: NodeView, pid: int, wait_s: float = 60.0) -> None:
    """Stop V through its own script, wait for its pid to exit and for the other
    running brokers to log it as left (the coordinator drops its stale heartbeat):
    the new instance then joins as a new node, taken in by a live coordinator."""
    node_id = b.node_id(run.params, v.name)
    others = [o for o in nodes(run) if o.name != v.name and running(run, o)]
    run.host(v.host_name).run(stop_command(v))
    deadline = time.monotonic() + wait_s
    while running(run, v) and time.monotonic() < deadline:
        time.sleep(0.5)
    if running(run, v):
        raise RuntimeError(f"{v.name} (pid {pid}) still runs {wait_s:.0f} s after `{stop_command(v)}`. "
                           f"Fix: read {v.path(v.spec.log_file)} on {v.host_name}; end it with kill {pid}")
    late = _wait_log(run, others, node_id, "removed", "left")
    if late:
        raise RuntimeError(f"{', '.join(late)} did not log {node_id} as left after it stopped. Fix: check the "
                           f"MB store and the brokers' clocks (E17), then run this step again")


def _away(run: Run) -> str:
    """What the clients see while one broker restarts, when networkPartitionsDetection
    counts the others below minimumClusterSize (andes: subscribers disconnected)."""
    np = b.settings(run.params).network_partitions
    left = len(nodes(run)) - 1
    if not np.enabled or left >= np.minimum_cluster_size:
        return ""
    return (f"; while it is away the other {left} broker(s) are below minimumClusterSize "
            f"{np.minimum_cluster_size} and refuse AMQP/MQTT clients")


def _starts(run: Run, v: NodeView) -> int:
    """How many times the node's log says it was started."""
    data = run.host(v.host_name).read_file(v.path(v.spec.log_file)) or b""
    return data.decode("utf-8", "replace").count(START_LINE)


def _start_op(run: Run, v: NodeView, wait_s: float = 60.0) -> Operation:
    h, cmd = run.host(v.host_name), launch_command(v, start_args(run, v))

    def fn(dry_run: bool) -> Change:
        pid = running(run, v)
        changed = changed_since_start(run, v) if pid else []
        why = f"changed since its start: {', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}"
        if pid and not changed:
            return Change(f"{v.host_name}:{v.name}", False, f"already running (pid {pid})")
        if dry_run:
            if changed:
                return Change(f"{v.host_name}:{v.name}", True, f"would restart (pid {pid}), {why}: stop it, wait "
                              "until the other brokers log it as left, start it, wait until it is taken in "
                              "(one broker at a time)" + _away(run), commands=(stop_command(v), cmd))
            return Change(f"{v.host_name}:{v.name}", True, "would start", commands=(cmd,))
        if pid:
            evidence.note(f"restarting {v.name} on {v.host_name}: {why}")
            _restart_stop(run, v, pid)
        before = _starts(run, v)  # a restart's old lines are not this start's
        give_password(run, v)  # Secure Vault: password-tmp, 0600, just before the start (issue 19)
        h.check(cmd)
        deadline = time.monotonic() + wait_s
        log = ""
        evidence.note(f"started {v.name} on {v.host_name}: waiting for its start-up line")
        while time.monotonic() < deadline:
            log = current_log(run, v) if _starts(run, v) > before else ""
            if STARTED in log or " ERROR {" in log:
                break
            time.sleep(0.5)
        take_back(run, v)
        errors = [ln for ln in log.splitlines() if " ERROR {" in ln]
        if errors or STARTED not in log:
            why = errors[0].split(" - ", 1)[-1].strip() if errors else f"no '{STARTED}' within {wait_s:.0f} s"
            raise RuntimeError(f"{v.name} did not start: {why}. Fix: read {v.path(v.spec.log_file)} on {v.host_name}")
        started = next(ln.split(" - ", 1)[-1].strip() for ln in log.splitlines() if STARTED in ln)
        if not pid:
            return Change(f"{v.host_name}:{v.name}", True, "started: " + started, commands=(cmd,))
        node_id = b.node_id(run.params, v.name)  # taken in before the next broker stops: a coordinator stays
        if _wait_log(run, [v], node_id, "added", "taken in"):
            raise RuntimeError(f"{v.name} restarted but was not taken into the cluster (no '{gossip_joined(node_id)}'). "
                               f"Fix: read the coordinator's log for `Member added {node_id}`")
        return Change(f"{v.host_name}:{v.name}", True, f"restarted ({why}): {started}; taken into the cluster",
                      commands=(stop_command(v), cmd))

    return Operation(f"{v.host_name}:{v.name}", fn, on=v.host_name, path=v.name)


def plan_start(run: Run) -> Plan:
    """Start each broker that is not running, and restart each running one whose
    configuration changed since its start, one after the other (bin/broker.sh start)."""
    return Plan("07 start the broker nodes", [_start_op(run, v) for v in nodes(run)])


def _events(log: str, node_id: str) -> str | None:
    """What the log says last about NODE_ID joining or leaving: 'added', 'removed'
    or None (the coordinator's "Member added/removed <id>" and every node's
    cluster-gossip lines, andes v3.2.19)."""
    last = None
    for ln in log.splitlines():
        msg = ln.split(" - ", 1)[-1].strip()
        if msg in (f"Member added {node_id}", gossip_joined(node_id)):
            last = "added"
        elif msg in (f"Member removed {node_id}", f"Handling cluster gossip: Node {node_id}  left the Cluster"):
            last = "removed"
    return last


def _role(log: str) -> str:
    """What the node's log says last about the election."""
    last = "(no election line)"
    for ln in log.splitlines():
        for needle, role in ((ELECTED, "coordinator"), (CANDIDATE, "candidate"), (INVALID, "electing"),
                             (LOST, "electing")):
            if needle in ln:
                last = role
    return last


def _store(run: Run) -> tuple[list[tuple], list[tuple], str]:
    """(MB_NODE_HEARTBEAT rows with their age in ms, MB_COORDINATOR_HEARTBEAT rows with age, error)."""
    d = run.params.database
    try:
        with run.db_connect(d.admin_user, run.secret(d.admin_password.secret), d.names.mb_store) as db:
            best: dict[str, tuple] = {}
            for attempt in range(3):  # the smallest age of three reads: the heartbeat cadence, not a read's luck
                for nid, age, new in db.query("SELECT NODE_ID, ROUND(UNIX_TIMESTAMP(NOW(3))*1000) - LAST_HEARTBEAT, "
                                              "IS_NEW_NODE FROM MB_NODE_HEARTBEAT"):
                    if nid not in best or int(age) < best[nid][1]:
                        best[nid] = (nid, int(age), int(new))
                if attempt < 2:
                    time.sleep(0.4)
            coord = [(nid, int(age), host, int(port)) for nid, age, host, port in db.query(
                "SELECT NODE_ID, ROUND(UNIX_TIMESTAMP(NOW(3))*1000) - LAST_HEARTBEAT, THRIFT_HOST, THRIFT_PORT "
                "FROM MB_COORDINATOR_HEARTBEAT")]
        return sorted(best.values()), coord, ""
    except Exception as e:  # noqa: BLE001 - shown as a failed check, not a traceback
        return [], [], str(e)


def _port_answers(run: Run, from_host: str, address: str, port: int) -> bool:
    return run.host(from_host).run("timeout 3 bash -c '</dev/tcp/%s/%s' 2>/dev/null", address, port).ok


def verify_cluster(run: Run) -> Checks:
    p = run.params
    s = b.settings(p)
    views = nodes(run)
    ids = {v.name: b.node_id(p, v.name) for v in views}
    checks: list[Check] = []
    if not views or p.database is None:
        return Checks("07 the broker cluster", checks)
    logs = {}
    for v in views:
        pid, log = running(run, v), current_log(run, v)
        logs[v.name] = log
        checks.append(Check(v.host_name, f"{v.name}: running", "pid alive, 'WSO2 Carbon started'",
                            f"pid {pid}" + (", started" if STARTED in log else ", not started") if pid else
                            "not running", bool(pid) and STARTED in log and FAILED not in log,
                            f"start it: {start_command(v)} (and read {v.path(v.spec.log_file)})"))
        want = f"Initializing Cluster Mode. Current Node ID:{ids[v.name]}"
        checks.append(Check(v.host_name, f"{v.name}: node ID in the log", ids[v.name],
                            ids[v.name] if want in log else "(no such line)", want in log,
                            "check broker.xml nodeID and axis2.xml clustering (apply this notebook)"))
        want = gossip_joined(ids[v.name])
        taken = want in log and _events(log, ids[v.name]) != "removed"
        checks.append(Check(v.host_name, f"{v.name}: taken into the cluster", want,
                            "yes" if taken else "(no such line)", taken,
                            "the coordinator has not taken it in: all brokers must share the MB store; "
                            "read the coordinator's log for `Member added`"))
    beats, coord, err = _store(run)
    max_age = 2 * s.coordination.heartbeat_interval_ms  # andes' heartbeatMaxAge: alive as the coordinator judges it
    db = f"{p.database.names.mb_store}" if p.database else "MB store"
    if err:
        checks.append(Check(p.database.host if p.database else "-", f"{db} readable", "rows", f"error: {err}", False,
                            "run 03_databases with apply=True"))
    by_id = {nid: (age, new) for nid, age, new in beats}
    for v in views:
        age, new = by_id.get(ids[v.name], (None, None))
        # (andes v3.2.x RDBMSCoordinationStrategy: heartbeatMaxAge = 2 x heartbeatInterval)
        checks.append(Check(v.host_name, f"{v.name}: MB_NODE_HEARTBEAT row",
                            f"younger than {max_age} ms, and taken in (IS_NEW_NODE 0)",
                            "(no row)" if age is None else f"{age} ms old, "
                            + ("not yet taken in (IS_NEW_NODE 1)" if new else "taken in (IS_NEW_NODE 0)"),
                            age is not None and age < max_age and new == 0,
                            f"start {v.name}; check its MB store datasource and the clocks (E17)"))
    names = {i: n for n, i in ids.items()}
    db_coord = [names.get(c[0], c[0]) for c in coord]
    fresh = coord and coord[0][1] < max_age
    checks.append(Check(p.database.host if p.database else "-", f"{db}.MB_COORDINATOR_HEARTBEAT",
                        "exactly one broker, fresh", ", ".join(f"{names.get(c[0], c[0])} ({c[1]} ms)" for c in coord)
                        or "(no row)", len(coord) == 1 and coord[0][0] in names and bool(fresh),
                        "start the brokers; a stale row is replaced by the next election"))
    by_log = [n for n, log in logs.items() if _role(log) == "coordinator"]
    proof.coordinator(views, logs, by_log, db_coord, (ELECTED, CANDIDATE, INVALID, LOST),
                      {n: gossip_joined(i) for n, i in ids.items()})
    checks.append(Check(", ".join(v.host_name for v in views), "coordinator by the logs",
                        f"exactly one, {db_coord[0] if len(db_coord) == 1 else 'the MB store one'}",
                        ", ".join(by_log) or "(none)", len(by_log) == 1 and by_log == db_coord[:1],
                        "read the nodes' logs: two coordinators mean two MB stores or a clock problem (E17)",
                        via=tuple(v.host_name for v in views)))
    for v in views:
        port = b.thrift_port(p, v.name)
        peers = [o.host_name for o in views if o.host_name != v.host_name] or [v.host_name]
        ok = _port_answers(run, peers[0], v.address, port)
        checks.append(Check(v.host_name, f"{v.name}: thrift {v.address}:{port} from {peers[0]} (E12)", "answers",
                            "answers" if ok else "no answer", ok,
                            "thriftServerHost must be the node's IP and 7611 + Offset open between the brokers"))
    return Checks("07 the broker cluster", checks)


def _budget(run: Run) -> float:
    """Seconds for the broker cluster to take a node in or drop it: one election
    after a stale coordinator row (2 x heartbeat + entry wait), a heartbeat and an
    event poll; doubled for a loaded host (a 2-core CI machine once needed more
    than one budget after brokers restarted). Waited only while failing."""
    c = b.settings(run.params).coordination
    return 2 * (3 * c.heartbeat_interval_ms + c.event_polling_interval_ms + c.coordinator_entry_creation_wait_ms) / 1000


def settle(run: Run) -> Checks:
    """verify_cluster, repeated until it passes or the cluster had time to form:
    a new node is taken in at the coordinator's next heartbeat and seen at the
    next event poll, and an election takes up to 2 x heartbeatInterval plus the
    entry wait. In a plan-only run: once, nothing is waited for."""
    deadline = time.monotonic() + (_budget(run) if run.apply else 0)
    while True:
        checks = verify_cluster(run)
        if not checks.failed or time.monotonic() > deadline:
            return checks
        time.sleep(1.0)
