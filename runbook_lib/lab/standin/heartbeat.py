"""The kept-open connection a member heartbeats another over (membership.py;
SOURCES.md row H4): Hazelcast keeps one TCP connection per member pair, and a
heartbeat is one short line each way, not a new connection with the member
list each second."""

from __future__ import annotations

import socket
import threading

TIMEOUT = 1.0  # seconds to connect to, or hear back from, a member


class Link:
    """The kept-open connection to one member that heartbeats go over."""

    def __init__(self, proto: str, addr: tuple[str, int]):
        self.proto, self.addr = proto, addr
        self.sock: socket.socket | None = None
        self.file = None
        self.lock = threading.Lock()

    def beat(self, uuid: str) -> tuple[str, str] | None:
        """("ack" or "who", the member's uuid); None when it does not answer.
        "who": the member does not count us as one of its members."""
        with self.lock:
            for attempt in (0, 1):
                try:
                    if self.sock is None:
                        self.sock = socket.create_connection(self.addr, timeout=TIMEOUT)
                        self.sock.settimeout(TIMEOUT)
                        self.file = self.sock.makefile("rb")
                    self.sock.sendall(f"{self.proto} beat {uuid}\n".encode())
                    words = self.file.readline(4096).decode().split()
                    if len(words) == 3 and words[0] == self.proto and words[1] in ("ack", "who"):
                        return words[1], words[2]
                    self.close()
                    return None  # not our protocol, or closed
                except OSError as e:
                    self.close()
                    if attempt or isinstance(e, TimeoutError):
                        return None
                    # a connection the member had closed (it restarted): once more on a new one
        return None

    def close(self) -> None:
        for f in (self.file, self.sock):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self.sock = self.file = None
