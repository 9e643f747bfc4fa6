"""Well-known-address cluster membership over TCP, as the stand-in's
replacement for Hazelcast and Tribes (CARBON-RUNTIME.md "Clustering").

Each clustered node listens on localMemberHost:localMemberPort and speaks
one line of JSON per request. The first word of every request names the
agent's protocol ("hazelcast" or "tribes"): a listener of the other agent
closes the connection, so the two never see each other. A node joins the
members it reaches through its well-known members (and the members they
know) when both sides can connect to each other's advertised address in
the same domain: a node that advertises a loopback or foreign address, or
is in another domain, is never joined. A clean stop says so at once; a member
whose process is gone (its port refuses connections) is taken as left after
MEMBER_DROP seconds; a member that is there but silent (a host that vanished,
a stopped process) only after SILENT_DROP: Hazelcast closes a dead member's
connection at once but waits hazelcast.max.no.heartbeat.seconds, which Carbon
sets to 600 unless hazelcast.properties says otherwise, for a silent one
(carbon-kernel v4.4.16 HazelcastClusteringAgent.setHazelcastProperties;
SOURCES.md row H3).

Heartbeats go every HEARTBEAT second to every member over one kept-open
connection per member (a `Link`), as Hazelcast 3.5 keeps one connection per
member pair and heartbeats all members each hazelcast.heartbeat.interval.seconds
(1 s, a default Carbon does not change; SOURCES.md row H4), one short line one way as
Hazelcast's is: a member is alive while its own ticks arrive (heartbeat.py). Tribes and
the load balancer's agents (unsourced; nobody ticks the balancer) beat and are answered.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from typing import Callable

from .heartbeat import IDLE_CLOSE, TIMEOUT, BeatListener, Link, beat_all, tick_all

MEMBER_DROP = 3.0      # seconds of refused connections before a member is taken as left
SILENT_DROP = 600.0    # seconds a member that does not refuse may stay silent (Carbon's default, row H3)
HEARTBEAT = 1.0        # hazelcast.heartbeat.interval.seconds: Hazelcast 3.5's default, not set by Carbon (row H4)
PERIOD = HEARTBEAT     # seconds between heartbeat rounds


@dataclass
class Member:
    uuid: str
    host: str
    port: int
    domain: str
    sub_domain: str | None = None
    http: int = -1
    https: int = -1
    started: float = 0.0
    kind: str = "node"                       # "node" or "elb" (a load balancer's group agent)
    mappings: dict[str, int] = field(default_factory=dict)   # port.mapping.N properties

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def hz(self) -> str:
        return (f"Host:{self.host}, Remote Host:null, Port: {self.port}, HTTP:{self.http}, HTTPS:{self.https}, "
                f"Domain: {self.domain}, Sub-domain:{self.sub_domain or 'null'}, Active:true")

    def tribes(self) -> str:
        return f"{self.host}:{self.port}({self.domain})"


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def request(proto: str, addr: tuple[str, int], msg: dict, timeout: float = TIMEOUT) -> dict | None:
    """Send one request, return the answer (None when nobody answers in PROTO)."""
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall((proto + " " + json.dumps(msg) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        word, _, rest = buf.decode().partition(" ")
        return json.loads(rest) if word == proto and rest.strip() else None
    except (OSError, ValueError):
        return None


def refused(addr: tuple[str, int]) -> bool:
    """Nothing listens at ADDR (the process is gone; the host answers for it)."""
    try:
        with socket.create_connection(addr, timeout=TIMEOUT):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class Membership:
    """One listening agent and its view of the cluster."""

    def __init__(self, proto: str, local: Member, wka: list[tuple[str, int]], sock: socket.socket,
                 accept: Callable[[Member], bool] | None = None, silent_drop: float = SILENT_DROP):
        self.proto = proto
        self.silent_drop = silent_drop
        self.local = local
        self.wka = [a for a in wka if a != local.address]
        self.sock = sock
        self.accept = accept or (lambda m: m.domain == local.domain)
        self._members: dict[str, Member] = {}
        self._seen: dict[str, float] = {}
        self._candidates: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, Member | dict], None]] = []
        self._stop = threading.Event()
        self._links: dict[tuple[str, int], Link] = {}
        self._beats: BeatListener | None = None
        self.one_way = proto == "hazelcast" and local.kind == "node"  # row H4; Tribes, the ELB's: answered

    # -- the view -------------------------------------------------------
    def members(self) -> list[Member]:
        with self._lock:
            return sorted(self._members.values(), key=lambda m: m.started)

    def add_listener(self, fn: Callable[[str, Member | dict], None]) -> None:
        """fn(event, member): "joined", "left"; fn("message", payload) for broadcasts."""
        self._listeners.append(fn)

    def is_oldest(self) -> bool:
        return all(m.started >= self.local.started for m in self.members() if m.kind == "node")

    def _emit(self, event: str, what) -> None:
        for fn in self._listeners:
            try:
                fn(event, what)
            except Exception:
                pass

    def _join(self, m: Member) -> None:
        with self._lock:
            new = m.uuid not in self._members
            self._members[m.uuid] = m
            self._seen[m.uuid] = time.monotonic()
            self._candidates.pop(m.address, None)
        if new:
            self._emit("joined", m)

    def _leave(self, uid: str) -> None:
        with self._lock:
            m = self._members.pop(uid, None)
            self._seen.pop(uid, None)
        if m is not None:
            self._emit("left", m)

    # -- running --------------------------------------------------------
    def start(self) -> None:
        self._beats = BeatListener(self.proto, self._heard)
        threading.Thread(target=self._serve, name="membership-listener", daemon=True).start()
        for _ in range(4):  # the join: the whole member list before start() returns, as Hazelcast's join does
            before = {m.uuid for m in self.members()}
            self.round()
            with self._lock:
                pending = bool(set(self._candidates) - {m.address for m in self._members.values()})
            if not pending and {m.uuid for m in self.members()} == before:
                break
        threading.Thread(target=self._loop, name="membership-heartbeat", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._beats is not None:
            self._beats.stop()
        for m in self.members():
            request(self.proto, m.address, {"op": "leave", "me": asdict(self.local)}, timeout=0.5)
        for link in list(self._links.values()):
            link.close()
        try:
            self.sock.close()
        except OSError:
            pass

    def broadcast(self, payload: dict) -> None:
        for m in self.members():
            request(self.proto, m.address, {"op": "message", "me": asdict(self.local), "payload": payload})

    def _loop(self) -> None:
        while not self._stop.wait(PERIOD):
            self.round()

    def round(self) -> None:
        """Heartbeat every member, then try well-known members and candidates."""
        now = time.monotonic()
        members = self.members()
        links = [self._link(m) for m in members]
        for m, got in zip(members, (tick_all if self.one_way else beat_all)(links, self.local.uuid)):
            if got is not None and got[0] == "sent":  # a tick: alive while its own ticks arrive (_heard)
                if now - self._seen.get(m.uuid, now) > self.silent_drop:
                    self._leave(m.uuid)
            elif got is not None and got[1] != m.uuid:
                self._leave(m.uuid)  # a new instance answers at its address: the old one has gone
                self._hello(m.address)
            elif got is not None:
                with self._lock:
                    if m.uuid in self._members:
                        self._seen[m.uuid] = time.monotonic()
                if got[0] == "who":  # it dropped us (or never took us in): the join's hello again
                    self._hello(m.address)
            elif now - self._seen.get(m.uuid, now) > MEMBER_DROP and \
                    (refused(m.address) or now - self._seen.get(m.uuid, now) > self.silent_drop):
                self._leave(m.uuid)
        known = {m.address for m in self.members()}
        with self._lock:
            candidates = [a for a in self._candidates if a not in known]
        for addr in list(dict.fromkeys(self.wka + candidates)):
            if addr not in known and addr != self.local.address and self._hello(addr) is None \
                    and addr not in self.wka:
                with self._lock:  # learnt from a member, not configured: forgotten once it does not answer
                    self._candidates.pop(addr, None)

    def _link(self, m: Member) -> Link:
        link = self._links.get(m.address)
        if link is None:
            link = self._links.setdefault(m.address, Link(self.proto, m.address))
        return link

    def _hello(self, addr: tuple[str, int]) -> Member | None:
        ans = request(self.proto, addr, {"op": "hello", "me": asdict(self.local),
                                         "known": [asdict(m) for m in self.members()]})
        if not ans or ans.get("op") != "welcome":
            return None
        peer = Member(**ans["me"])
        self._learn(ans.get("known", []))
        if peer.kind == "node" and self.accept(peer):
            self._join(peer)
        return peer

    def _learn(self, known: list[dict]) -> None:
        with self._lock:
            for d in known:
                m = Member(**d)
                if m.uuid != self.local.uuid and m.uuid not in self._members and m.kind == "node":
                    self._candidates.setdefault(m.address, time.monotonic())

    # -- answering ------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        """One-off JSON requests (join, leave, message); a connection whose first
        line is a beat is a member's kept link, handed to the BeatListener with that
        line (the member sends its next beat only after the answer: nothing read ahead)."""
        kept = False
        try:
            conn.settimeout(IDLE_CLOSE)
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                try:
                    line = reader.readline(1 << 20)
                except OSError:
                    return
                if not line.endswith(b"\n"):
                    return
                word, _, rest = line.decode(errors="replace").partition(" ")
                if word != self.proto:
                    return  # another agent's protocol: not a member of ours
                if rest.startswith(("beat ", "tick ")):  # a kept link: the BeatListener answers it from here on
                    self._beats.adopt(conn, line)
                    kept = True
                    return
                try:
                    msg = json.loads(rest)
                except ValueError:
                    return
                answer = self._handle(msg)
                if answer is None:
                    return
                try:
                    conn.sendall((self.proto + " " + json.dumps(answer) + "\n").encode())
                except OSError:
                    return
        finally:
            if not kept:
                conn.close()

    def _heard(self, uuid: str, answered: bool = True) -> str:
        """A heartbeat from UUID: "ack" from a member (or a load balancer we
        answered), "who" from a node we do not count; a member's tick (not ANSWERED) only marks it alive."""
        with self._lock:
            known = uuid in self._members or uuid in self._seen
            if known:
                self._seen[uuid] = time.monotonic()
        return "" if known and not answered else f"{self.proto} {'ack' if known else 'who'} {self.local.uuid}\n"

    def _handle(self, msg: dict) -> dict | None:
        op = msg.get("op")
        if op == "ping":
            return {"op": "pong", "me": asdict(self.local)}
        peer = Member(**msg["me"]) if "me" in msg else None
        if op == "leave" and peer:
            self._leave(peer.uuid)
            return {"op": "bye"}
        if op == "message" and peer:
            self._emit("message", msg.get("payload", {}))
            return {"op": "ok"}
        if op != "hello" or peer is None:
            return None
        if peer.kind == "node" and not self.accept(peer):
            return {"op": "reject", "why": f"domain {peer.domain} is not {self.local.domain}"}
        if peer.uuid not in self._members:
            # Join only a member we can reach at the address it advertises.
            pong = request(self.proto, peer.address, {"op": "ping"})
            if not pong or pong.get("me", {}).get("uuid") != peer.uuid:
                return {"op": "reject", "why": f"cannot connect to {peer.host}:{peer.port}"}
        if peer.kind == "node":
            self._join(peer)
        else:
            with self._lock:
                self._seen[peer.uuid] = time.monotonic()
        self._learn(msg.get("known", []))
        known = [asdict(m) for m in self.members() if m.domain == peer.domain]
        return {"op": "welcome", "me": asdict(self.local), "known": known}
