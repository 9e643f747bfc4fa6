"""The stand-in's heartbeat links (runbook_lib/lab/standin/heartbeat.py), on
loopback sockets in this process, no lab: a Hazelcast member's tick goes
unanswered unless the member does not count the sender (SOURCES.md H4:
HeartbeatOperation returns no response), a beat is always answered, and a
ticking link reports a "who", a member that went away and one that restarted."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from runbook_lib.lab.standin.heartbeat import BeatListener, Link, tick_all

PROTO = "hazelcast"


class Member:
    """A member's listening end: a BeatListener behind an accepting socket, which
    counts the uuids in KNOWN as its members."""

    def __init__(self, uuid: str, port: int = 0):
        self.uuid, self.known = uuid, {"us"}
        self.sock = socket.create_server(("127.0.0.1", port))
        self.address = self.sock.getsockname()
        self.listener = BeatListener(PROTO, self.heard)
        threading.Thread(target=self._accept, daemon=True).start()

    def heard(self, who: str, answered: bool) -> str:
        if who in self.known and not answered:
            return ""
        return f"{PROTO} {'ack' if who in self.known else 'who'} {self.uuid}\n"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            first = conn.makefile("rb").readline()
            self.listener.adopt(conn, first)

    def stop(self) -> None:
        self.sock.close()
        self.listener.stop()


@pytest.fixture
def member():
    m = Member("m1")
    yield m
    m.stop()


def _round(link: Link) -> tuple[str, str] | None:
    got = tick_all([link], "us")[0]
    time.sleep(0.2)  # the member's answer, if any, is there by the next round
    return got


def test_a_beat_is_answered_and_a_known_members_tick_is_not(member):
    a, b = socket.socketpair()
    member.listener.adopt(a, f"{PROTO} beat us\n".encode())
    b.settimeout(2)
    assert b.recv(100) == f"{PROTO} ack m1\n".encode()
    b.sendall(f"{PROTO} tick us\n".encode())
    b.settimeout(0.5)
    with pytest.raises(socket.timeout):
        b.recv(100)  # one-way: nothing comes back
    b.sendall(f"{PROTO} tick stranger\n".encode())
    b.settimeout(2)
    assert b.recv(100) == f"{PROTO} who m1\n".encode()
    b.close()


def test_ticks_report_who_an_ended_link_and_a_restarted_member(member):
    link = Link(PROTO, member.address)
    assert _round(link) == ("ack", "m1")  # a new connection's first line is an answered beat
    kept = link.sock
    assert _round(link) == ("sent", "")
    assert _round(link) == ("sent", "")
    assert link.sock is kept  # one kept-open connection

    member.known.clear()  # the member drops us: its answer to the next tick says so
    assert _round(link) == ("sent", "")
    assert _round(link) == ("who", "m1")
    member.known.add("us")
    assert _round(link) == ("who", "m1")  # its answer to the tick sent with the last round
    assert _round(link) == ("sent", "")

    port = member.address[1]
    member.stop()  # the process ends: its connections close, its port refuses
    time.sleep(0.2)
    assert _round(link) is None
    assert link.sock is None

    again = Member("m2", port)  # a new instance at the same address
    try:
        assert _round(link) == ("ack", "m2")
        assert _round(link) == ("sent", "")
    finally:
        again.stop()


def test_a_link_that_speaks_out_of_turn_is_closed():
    srv = socket.create_server(("127.0.0.1", 0))
    link = Link(PROTO, srv.getsockname())
    ready = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        conn.makefile("rb").readline()
        conn.sendall(f"{PROTO} ack m9\n".encode())
        ready.wait(2)
        conn.sendall(b"GET / HTTP/1.0\n")  # not an answer line
        time.sleep(1)
        conn.close()
    threading.Thread(target=serve, daemon=True).start()
    try:
        assert _round(link) == ("ack", "m9")
        ready.set()
        time.sleep(0.2)
        kept = link.sock
        got = tick_all([link], "us")[0]
        assert link.sock is not kept  # the garbled link was closed; a new one was tried
        assert got is None  # nobody answers a new connection there
    finally:
        srv.close()
        link.close()
