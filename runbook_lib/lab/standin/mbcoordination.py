"""RDBMS coordination of the broker profile, through the MB store's own tables
(andes 3.2.19, CARBON-RUNTIME.md "EI 6.1.1 broker profile").

Every node writes its heartbeat into MB_NODE_HEARTBEAT every heartbeatInterval.
One row of MB_COORDINATOR_HEARTBEAT (ANCHOR 1) names the coordinator, which
refreshes it every interval. A row older than 2 x heartbeatInterval is
invalid: the first node to replace it (the primary key decides) is elected,
waits coordinatorEntryCreationWaitTime, and logs that it is the coordinator;
the others become candidates. The coordinator also takes in new nodes and
removes nodes whose heartbeat went stale, telling every node through
MB_MEMBERSHIP rows that each node reads every eventPollingInterval.

Lab stand-in code (not WSO2's); stdlib + pymysql only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

STRATEGY = "org.wso2.andes.server.cluster.RDBMSCoordinationStrategy"
MEMBERSHIP = "org.wso2.andes.server.cluster.coordination.rdbms.RDBMSMembershipEventingEngine"
# andes v3.2.19: only the coordinator logs "Member added/removed <id>"
# (RDBMSCoordinationStrategy, its coordinator state); every node told of the
# change logs ClusterManager's "Handling cluster gossip: Node <id>  Joined the
# Cluster" / "...  left the Cluster" (two spaces). The event goes to the live
# nodes, the newcomer included, about the newcomer only: a newcomer is not told
# of the members already there. SOURCES.md rows A1-A2.
CLUSTER_MANAGER = "org.wso2.andes.server.cluster.ClusterManager"
ANCHOR = 1
ADDED, REMOVED, COORDINATOR_CHANGED = 1, 2, 3  # MB_MEMBERSHIP.CHANGE_TYPE


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Settings:
    node_id: str
    thrift_host: str
    thrift_port: int
    agent_host: str
    agent_port: int
    heartbeat_ms: int = 5000
    creation_wait_ms: int = 3000
    polling_ms: int = 4000

    @property
    def stale_ms(self) -> int:
        """A heartbeat older than this is taken as gone (2 x heartbeatInterval)."""
        return 2 * self.heartbeat_ms


class DuplicateNodeId(Exception):
    pass


class Coordination:
    """One node's part in the coordination. ``connect()`` returns a new
    autocommit pymysql connection to the MB store; ``log(level, logger, msg)``."""

    def __init__(self, s: Settings, connect: Callable, log: Callable[[str, str, str], None]):
        self.s = s
        self._connect = connect
        self._log = log
        self.is_coordinator = False
        self.members: set[str] = set()
        self._listeners: list[Callable[[str, str], None]] = []
        self._stop = threading.Event()
        self._local = threading.local()  # one connection per thread: pymysql connections are not thread-safe
        self.store_error = ""  # what the Node List shows as the store's health ("" = Healthy; SOURCES.md A4)

    # -- the database ---------------------------------------------------
    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            try:
                if conn is None:
                    conn = self._local.conn = self._connect()
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    rows = list(cur.fetchall()) if cur.description else [(cur.rowcount,)]
                self.store_error = ""  # the store answers again: storeOperational
                return rows
            except Exception as e:
                if "Duplicate" in str(e):
                    raise
                if attempt == 2:  # storeNonOperational: the failure's exception.toString()
                    self.store_error = f"org.wso2.andes.kernel.AndesException: {e}"
                    raise
                self._local.conn = None  # a dropped connection: reconnect once
        return []

    def check_unique(self) -> None:
        """Refuse a node id that a live node elsewhere already uses."""
        rows = self._q("SELECT LAST_HEARTBEAT, CLUSTER_AGENT_HOST, CLUSTER_AGENT_PORT FROM MB_NODE_HEARTBEAT "
                       "WHERE NODE_ID=%s", (self.s.node_id,))
        if rows:
            last, host, port = rows[0]
            fresh = now_ms() - int(last) <= self.s.stale_ms
            if fresh and (host, int(port)) != (self.s.agent_host, self.s.agent_port):
                raise DuplicateNodeId(f"Another node with the same node id: {self.s.node_id} found in the "
                                      "cluster. Cannot start the node.")

    def heartbeat(self) -> None:
        s = self.s
        n = self._q("UPDATE MB_NODE_HEARTBEAT SET LAST_HEARTBEAT=%s, CLUSTER_AGENT_HOST=%s, CLUSTER_AGENT_PORT=%s "
                    "WHERE NODE_ID=%s", (now_ms(), s.agent_host, s.agent_port, s.node_id))[0][0]
        if not n:
            self._q("INSERT INTO MB_NODE_HEARTBEAT (NODE_ID, LAST_HEARTBEAT, IS_NEW_NODE, CLUSTER_AGENT_HOST, "
                    "CLUSTER_AGENT_PORT) VALUES (%s, %s, 1, %s, %s)", (s.node_id, now_ms(), s.agent_host, s.agent_port))

    def coordinator(self) -> tuple[str, int] | None:
        """(node id, last heartbeat) of the coordinator row, or None."""
        rows = self._q("SELECT NODE_ID, LAST_HEARTBEAT FROM MB_COORDINATOR_HEARTBEAT WHERE ANCHOR=%s", (ANCHOR,))
        return (rows[0][0], int(rows[0][1])) if rows else None

    def live_nodes(self) -> list[str]:
        cutoff = now_ms() - self.s.stale_ms
        return [r[0] for r in self._q("SELECT NODE_ID FROM MB_NODE_HEARTBEAT WHERE LAST_HEARTBEAT >= %s "
                                      "ORDER BY NODE_ID", (cutoff,))]

    # -- the election ---------------------------------------------------
    def elect(self) -> None:
        """Replace an invalid coordinator row; the primary key lets one node win.
        A row another node keeps fresh is valid and stays: andes v3.2.x
        RDBMSCoordinationStrategy removes the coordinator entry only in the
        candidate's round, once it is invalid; its election (tryToElectSelfAsCoordinator)
        only tries to create the entry. Deleting it would hand the role back
        and forth between two nodes."""
        row = self.coordinator()
        if row is not None and (row[0] == self.s.node_id or now_ms() - row[1] > self.s.stale_ms):
            self._q("DELETE FROM MB_COORDINATOR_HEARTBEAT WHERE ANCHOR=%s AND NODE_ID=%s AND LAST_HEARTBEAT=%s",
                    (ANCHOR, row[0], row[1]))
        try:
            self._q("INSERT INTO MB_COORDINATOR_HEARTBEAT (ANCHOR, NODE_ID, LAST_HEARTBEAT, THRIFT_HOST, THRIFT_PORT) "
                    "VALUES (%s, %s, %s, %s, %s)", (ANCHOR, self.s.node_id, now_ms(), self.s.thrift_host,
                                                     self.s.thrift_port))
            won = True
        except Exception as e:
            if "Duplicate" not in str(e) and "1062" not in str(e):
                raise
            won = False
        if won:
            # others must see the entry before this node acts on it (broker.xml's comment)
            self._stop.wait(self.s.creation_wait_ms / 1000)
            self._q("UPDATE MB_COORDINATOR_HEARTBEAT SET LAST_HEARTBEAT=%s WHERE ANCHOR=%s AND NODE_ID=%s",
                    (now_ms(), ANCHOR, self.s.node_id))
            self.is_coordinator = True
            self._log("INFO", STRATEGY, "Elected current node as the coordinator")
            self._tell_all(COORDINATOR_CHANGED, self.s.node_id)
        else:
            self.is_coordinator = False
            self._log("INFO", STRATEGY, "Election resulted in current node becoming a CANDIDATE node")

    def _tell_all(self, change: int, member: str) -> None:
        for dest in self.live_nodes():
            self._q("INSERT INTO MB_MEMBERSHIP (NODE_ID, CHANGE_TYPE, CHANGED_MEMBER_ID) VALUES (%s, %s, %s)",
                    (dest, change, member))

    def coordinate(self) -> None:
        """The coordinator's round: refresh its row, take in new nodes, drop stale ones."""
        n = self._q("UPDATE MB_COORDINATOR_HEARTBEAT SET LAST_HEARTBEAT=%s WHERE ANCHOR=%s AND NODE_ID=%s",
                    (now_ms(), ANCHOR, self.s.node_id))[0][0]
        if not n:  # another node took the row: andes' coordinator state, then an election
            self.is_coordinator = False
            self._log("INFO", STRATEGY, "Going for election since Coordinator state is lost")
            self.elect()
            return
        for (node_id,) in self._q("SELECT NODE_ID FROM MB_NODE_HEARTBEAT WHERE IS_NEW_NODE=1"):
            self._q("UPDATE MB_NODE_HEARTBEAT SET IS_NEW_NODE=0 WHERE NODE_ID=%s", (node_id,))
            self._log("INFO", STRATEGY, f"Member added {node_id}")
            self._tell_all(ADDED, node_id)
        cutoff = now_ms() - self.s.stale_ms
        for (node_id,) in self._q("SELECT NODE_ID FROM MB_NODE_HEARTBEAT WHERE LAST_HEARTBEAT < %s", (cutoff,)):
            self._q("DELETE FROM MB_NODE_HEARTBEAT WHERE NODE_ID=%s", (node_id,))
            self._log("INFO", STRATEGY, f"Member removed {node_id}")
            self._tell_all(REMOVED, node_id)

    def candidate(self, joining: bool = False) -> None:
        """A candidate's round: an invalid coordinator row means an election. A
        joining node with a valid coordinator there is a candidate from the start."""
        row = self.coordinator()
        if row is None or now_ms() - row[1] > self.s.stale_ms:
            self._log("INFO", STRATEGY, "Going for election since the Coordinator is invalid")
            self.elect()
        elif row[0] == self.s.node_id:  # our own row from before a restart
            self.elect()
        elif joining:
            self._log("INFO", STRATEGY, "Election resulted in current node becoming a CANDIDATE node")

    def poll_events(self) -> None:
        rows = self._q("SELECT EVENT_ID, CHANGE_TYPE, CHANGED_MEMBER_ID FROM MB_MEMBERSHIP WHERE NODE_ID=%s "
                       "ORDER BY EVENT_ID", (self.s.node_id,))
        for event_id, change, member in rows:
            self._q("DELETE FROM MB_MEMBERSHIP WHERE EVENT_ID=%s", (event_id,))
            if change == ADDED:
                self.members.add(member)
                self._log("INFO", CLUSTER_MANAGER, f"Handling cluster gossip: Node {member}  Joined the Cluster")
                self._emit("added", member)
            elif change == REMOVED:
                self.members.discard(member)
                self._log("INFO", CLUSTER_MANAGER, f"Handling cluster gossip: Node {member}  left the Cluster")
                self._emit("removed", member)

    # -- running ----------------------------------------------------------
    def add_listener(self, fn: Callable[[str, str], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, event: str, member: str) -> None:
        for fn in self._listeners:
            try:
                fn(event, member)
            except Exception:
                pass

    def start(self) -> None:
        """Join: first heartbeat and election in the caller's thread, then the loops."""
        self._log("INFO", STRATEGY, f"Initializing Cluster Mode. Current Node ID:{self.s.node_id}")
        s = self.s  # a (re)joining node is new: the coordinator announces it to everyone
        self._q("INSERT INTO MB_NODE_HEARTBEAT (NODE_ID, LAST_HEARTBEAT, IS_NEW_NODE, CLUSTER_AGENT_HOST, "
                "CLUSTER_AGENT_PORT) VALUES (%s, %s, 1, %s, %s) ON DUPLICATE KEY UPDATE LAST_HEARTBEAT=VALUES("
                "LAST_HEARTBEAT), IS_NEW_NODE=1, CLUSTER_AGENT_HOST=VALUES(CLUSTER_AGENT_HOST), "
                "CLUSTER_AGENT_PORT=VALUES(CLUSTER_AGENT_PORT)", (s.node_id, now_ms(), s.agent_host, s.agent_port))
        self.members.add(self.s.node_id)
        self.candidate(joining=True)
        threading.Thread(target=self._loop, args=(self.s.heartbeat_ms, self._beat), name="mb-heartbeat",
                         daemon=True).start()
        threading.Thread(target=self._loop, args=(self.s.polling_ms, self.poll_events), name="mb-events",
                         daemon=True).start()

    def _beat(self) -> None:
        self.heartbeat()
        self.coordinate() if self.is_coordinator else self.candidate()

    def _loop(self, period_ms: int, fn: Callable[[], None]) -> None:
        while not self._stop.wait(period_ms / 1000):
            try:
                fn()
            except Exception as e:  # the database is away: keep trying, as the real node does
                self._log("ERROR", STRATEGY, f"Error while running the coordination task: {e}")

    def stop(self) -> None:
        """A graceful stop gives up the coordinator row, so the others elect at
        their next heartbeat; the node's own heartbeat row goes stale and the
        (new) coordinator removes it, as after a crash."""
        self._stop.set()
        try:
            if self.is_coordinator:
                self._q("DELETE FROM MB_COORDINATOR_HEARTBEAT WHERE ANCHOR=%s AND NODE_ID=%s",
                        (ANCHOR, self.s.node_id))
        except Exception:
            pass
