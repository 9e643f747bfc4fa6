"""The kept-open connection a member heartbeats another over (membership.py;
SOURCES.md row H4): Hazelcast keeps one TCP connection per member pair, and a
heartbeat is one short line, not a new connection with the member list each
second. Hazelcast's heartbeat is one-way (HeartbeatOperation returns no
response): a Hazelcast member ticks every link (tick_all) and hears back only
when the member does not count it ("who"). A new connection's first line, and
every heartbeat of an agent that is not a Hazelcast member (Tribes, the load
balancer's), is a beat the member answers ("ack"/"who" with its uuid): that is
how a restarted member at the same address is told apart (beat_all). One thread
answers every member's link (BeatListener): 33 idle nodes heartbeat each other
1,056 times a second (issue 23)."""

from __future__ import annotations

import select
import selectors
import socket
import threading
import time
from typing import Callable

TIMEOUT = 1.0  # seconds to connect to, or hear back from, a member
IDLE_CLOSE = 10.0  # an inbound link silent this long is closed (its member heartbeats every second)
GATHER = 0.1  # seconds the answering thread lets beats gather between wake-ups


class Link:
    """The kept-open connection to one member that heartbeats go over."""

    def __init__(self, proto: str, addr: tuple[str, int]):
        self.proto, self.addr = proto, addr
        self.sock: socket.socket | None = None
        self.file = None
        self.pending = b""  # the start of a line the member is still sending back
        self.lock = threading.Lock()

    def beat(self, uuid: str, attempts: tuple[int, ...] = (0, 1)) -> tuple[str, str] | None:
        """("ack" or "who", the member's uuid); None when it does not answer.
        "who": the member does not count us as one of its members."""
        with self.lock:
            for attempt in attempts:
                try:
                    if self.sock is None:
                        self.sock = socket.create_connection(self.addr, timeout=TIMEOUT)
                        self.sock.settimeout(TIMEOUT)
                        self.file = self.sock.makefile("rb")
                    self.sock.sendall(self.line(uuid))
                    return self.answer()
                except OSError as e:
                    self.close()
                    if attempt or isinstance(e, TimeoutError):
                        return None
                    # a connection the member had closed (it restarted): once more on a new one
        return None

    def line(self, uuid: str, kind: str = "beat") -> bytes:
        return f"{self.proto} {kind} {uuid}\n".encode()

    def answer(self) -> tuple[str, str] | None:
        """The member's answer to the beat just sent (OSError when the connection failed)."""
        words = self.file.readline(4096).decode().split()
        if len(words) == 3 and words[0] == self.proto and words[1] in ("ack", "who"):
            return words[1], words[2]
        self.close()
        return None  # not our protocol, or closed

    def read_back(self) -> tuple[str, str] | None:
        """What the member sent back on a link it found readable: its last answer
        (a "who" to an earlier tick), or None. The link is closed when the member
        closed it (its process ended) or sent what is not an answer line."""
        try:
            data = self.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.close()
            return None
        *lines, self.pending = (self.pending + data).split(b"\n")
        last = None
        for line in lines:
            words = line.decode(errors="replace").split()
            if len(words) != 3 or words[0] != self.proto or words[1] not in ("ack", "who"):
                self.close()
                return None
            last = (words[1], words[2])
        if len(self.pending) > 4096:
            self.close()
        return last

    def close(self) -> None:
        for f in (self.file, self.sock):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self.sock = self.file = None
        self.pending = b""


def beat_all(links: list[Link], uuid: str) -> list[tuple[str, str] | None]:
    """One heartbeat round over LINKS, as Link.beat on each gives it, but sent on
    every open link before any answer is read: one wait for the round instead of
    one per member (33 idle nodes heartbeat 1,056 times a second; issue 23). A link
    not yet connected, or whose kept connection failed, beats on its own
    (connecting, and once more on a new connection, as Link.beat does)."""
    out: list[tuple[str, str] | None] = [None] * len(links)
    sent: list[int] = []
    alone: list[tuple[int, tuple[int, ...]]] = []
    for i, link in enumerate(links):
        with link.lock:
            if link.sock is None:
                alone.append((i, (0, 1)))
                continue
            try:
                link.sock.sendall(link.line(uuid))
                sent.append(i)
            except OSError as e:
                _failed(link, e, i, alone)
    for i in sent:
        link = links[i]
        with link.lock:
            try:
                out[i] = link.answer() if link.file is not None else None
            except OSError as e:
                _failed(link, e, i, alone)
    return _beat_alone(links, alone, uuid, out)


def _failed(link: Link, e: OSError, i: int, alone: list[tuple[int, tuple[int, ...]]]) -> None:
    """LINK's kept connection failed: closed, and beaten once more on a new one
    (ALONE) unless the member merely did not answer in time."""
    link.close()
    if not isinstance(e, TimeoutError):
        alone.append((i, (1,)))


def _beat_alone(links: list[Link], alone: list[tuple[int, tuple[int, ...]]], uuid: str,
                out: list[tuple[str, str] | None]) -> list[tuple[str, str] | None]:
    """The links of ALONE beat on their own (Link.beat: connecting where needed); OUT with their answers."""
    for i, attempts in alone:
        out[i] = links[i].beat(uuid, attempts)
    return out


def tick_all(links: list[Link], uuid: str) -> list[tuple[str, str] | None]:
    """One Hazelcast heartbeat round over LINKS: a one-way tick on every open link,
    as Hazelcast sends a HeartbeatOperation that returns no response (SOURCES.md
    H4). Before it, whatever the members sent back since the last round is read
    (one poll over all links): a "who" to an earlier tick, or the connection's end.
    Per link: ("sent", "") when the tick went out; ("who", uuid) when the member
    said it does not count us; a new connection's answered beat ("ack"/"who",
    uuid) where the link was not connected or had ended, as Link.beat gives it;
    None when the member cannot be reached. Liveness comes from the member's own
    ticks (membership.py), not from answers: half the messages of beat_all."""
    out: list[tuple[str, str] | None] = [None] * len(links)
    readable = _readable([link.sock for link in links if link.sock is not None])
    alone: list[tuple[int, tuple[int, ...]]] = []
    for i, link in enumerate(links):
        with link.lock:
            if link.sock is None:
                alone.append((i, (0, 1)))
                continue
            if link.sock.fileno() in readable:
                out[i] = link.read_back()
                if link.sock is None:  # it ended: the member restarted or stopped
                    alone.append((i, (1,)))
                    continue
            try:
                link.sock.sendall(link.line(uuid, "tick"))
                out[i] = out[i] or ("sent", "")
            except OSError as e:
                out[i] = None
                _failed(link, e, i, alone)
    return _beat_alone(links, alone, uuid, out)


def _readable(socks: list[socket.socket]) -> set[int]:
    """The file descriptors among SOCKS with something to read, without waiting."""
    if not socks:
        return set()
    poll = select.poll()
    for sock in socks:
        poll.register(sock, select.POLLIN)
    try:
        return {fd for fd, _ in poll.poll(0)}
    except OSError:
        return set()


class BeatListener:
    """The answering side of every member's kept link, in one thread: each beat
    line gets its answer line (HEARD(uuid, True)); a tick gets one only when HEARD(uuid,
    False) gives one (the member does not count the sender). A thread per link woke and handed the
    interpreter over for each beat; here one thread answers whichever links are
    ready (issue 23). A link that sends anything but beats, or is silent for
    IDLE_CLOSE seconds, is closed, as the thread per link did."""

    def __init__(self, proto: str, heard: Callable[[str, bool], str]):
        self.proto, self.heard = proto, heard
        self.sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ)
        self._gather = selectors.DefaultSelector()  # the wait between wake-ups: new links only
        self._gather.register(self._wake_r, selectors.EVENT_READ)
        self._new: list[tuple[socket.socket, bytes]] = []
        self._lock = threading.Lock()
        self._bufs: dict[socket.socket, bytes] = {}
        self._last: dict[socket.socket, float] = {}
        self._stopped = False
        threading.Thread(target=self._loop, name="membership-beats", daemon=True).start()

    def adopt(self, conn: socket.socket, first: bytes) -> None:
        """Answer CONN's beats from now on, FIRST (its first beat line, read by
        the thread that took the connection) included."""
        with self._lock:
            if self._stopped:
                conn.close()
                return
            self._new.append((conn, first))
        self._wake_w.send(b"x")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _loop(self) -> None:
        check = time.monotonic() + 1.0  # when silent links are looked for next (once a second)
        while True:
            for key, _ in self.sel.select(timeout=max(0.0, check - time.monotonic())):
                if key.fileobj is self._wake_r:
                    self._take_new()
                else:
                    self._read(key.fileobj)
            if self._stopped:
                for conn in list(self._bufs):
                    self._drop(conn)
                return
            now = time.monotonic()
            if now >= check:
                for conn in [c for c, t in self._last.items() if now - t >= IDLE_CLOSE]:
                    self._drop(conn)
                check = now + 1.0
            # Let the next members' beats gather: one wake-up reads several. Each member beats
            # at its own moment of the second, so woken per beat this thread woke 32 times a second
            # at 33 nodes; an answer late by GATHER is well inside the sender's TIMEOUT (issue 23).
            # A new link (a joining or restarted member waiting for its first answer) ends the wait.
            self._gather.select(timeout=GATHER)

    def _take_new(self) -> None:
        try:
            self._wake_r.recv(4096)
        except OSError:
            pass
        with self._lock:
            new, self._new = self._new, []
        for conn, first in new:
            conn.setblocking(False)
            self._bufs[conn] = b""
            self.sel.register(conn, selectors.EVENT_READ)
            self._feed(conn, first)

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        self._feed(conn, data)

    def _feed(self, conn: socket.socket, data: bytes) -> None:
        """Answer each whole beat (or tick) line in what CONN has sent so far."""
        *lines, rest = (self._bufs[conn] + data).split(b"\n")
        if len(rest) > 4096:
            self._drop(conn)
            return
        self._bufs[conn], self._last[conn] = rest, time.monotonic()
        answers = []
        for line in lines:
            word, kind, who = (line.decode(errors="replace").split(" ", 2) + ["", ""])[:3]
            if word != self.proto or kind not in ("beat", "tick"):
                self._drop(conn)  # not a beat of our protocol: as the thread per link, the link ends
                return
            answers.append(self.heard(who.strip(), kind == "beat"))
        said = "".join(answers)
        if not said:
            return
        try:
            conn.sendall(said.encode())
        except OSError:
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        self._bufs.pop(conn, None)
        self._last.pop(conn, None)
        conn.close()
