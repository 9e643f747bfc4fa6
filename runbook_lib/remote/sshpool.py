"""SSH connections kept across the notebooks of one headless run (issue 10).

``runbook run`` executes every section's notebook in one kernel (kernels.py),
so the connections one section opened can serve the next: instead of a key
exchange, a login and a new sshd process per host in every section (N hosts x
7 sections), each host is connected once per run. Only that kernel turns this
on (RUNBOOK_KEEP_CONNECTIONS=1); elsewhere (JupyterLab, tests, scripts) each
Host owns its connection, as before. A kept connection was made to the same
address and port, as the same user, with the same key and known_hosts file,
so it passed the same host-key check; a dead one is dropped and made anew.
A notebook takes a kept connection only while the host's sshd still accepts
new ones: established sessions outlive a stopped sshd, and a host whose sshd
was stopped must fail in the next section exactly as it did when every section
connected anew. The host says so itself first: its kernel's table of TCP
sockets (/proc/net/tcp, read over the kept SFTP session) lists a socket
listening on the port, at the host's address or any. Only when it does not
(no such table, the listener not in its first LISTED_BYTES, an address the
host does not know as its own) is the port tried with a TCP connect, closed at
once. The connect costs the host a new sshd process: at 128 workers, 132 hosts
took 0.9-1.1 s of CPU that way in each section, 0.36 s reading the table.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import paramiko

ENV = "RUNBOOK_KEEP_CONNECTIONS"
Key = tuple


@dataclass
class Kept:
    """One host's connection and its SFTP session (one SFTP channel per host:
    sshd allows only so many open sessions on a connection)."""

    client: paramiko.SSHClient
    sftp: paramiko.SFTPClient | None = None

    def session(self) -> paramiko.SFTPClient:
        """The connection's SFTP session, opened when it has none (or it closed)."""
        if self.sftp is None or self.sftp.sock.closed:
            self.sftp = self.client.open_sftp()
        return self.sftp

    def alive(self) -> bool:
        t = self.client.get_transport()
        return t is not None and t.is_active()


_kept: dict[Key, Kept] = {}
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def get(key: Key) -> Kept | None:
    """The live connection kept for KEY, if any (a dead one is forgotten)."""
    with _lock:
        kept = _kept.get(key)
        if kept is not None and not kept.alive():
            del _kept[key]
            kept = None
        return kept


LISTED_BYTES = 32768  # the listeners come first in /proc/net/tcp (then the connections)
LISTEN = "0A"  # the state column of a listening socket (include/net/tcp_states.h)


def listed(rows: Iterable[str], address: str, port: int) -> bool:
    """Whether ROWS (/proc/net/tcp's lines, header first) show a socket listening
    on ADDRESS (or any address) and PORT. Addresses are printed as the host's
    32-bit value in hex: both byte orders are accepted (the host's own may
    differ). Reading stops at the first row past the listeners, which Linux
    prints first: producing the table walks the kernel's whole connection hash
    (1.7 ms on the lab's hosts), and each further read of the file walks it again."""
    try:
        raw = socket.inet_aton(address)
        mine = {raw[::-1].hex().upper(), raw.hex().upper(), "00000000"}
    except OSError:  # a host name: only a listener on any address counts
        mine = {"00000000"}
    for i, row in enumerate(rows):
        cols = row.split()
        if i == 0 or len(cols) < 4 or ":" not in cols[1]:
            continue
        if cols[3] != LISTEN:
            return False
        addr, _, hexport = cols[1].partition(":")
        if addr in mine and int(hexport, 16) == port:
            return True
    return False


def listed_on_host(kept: Kept, address: str, port: int, timeout: float) -> bool:
    """Whether the host itself lists the listener (read over the kept connection's
    SFTP session, waiting at most TIMEOUT; a session that failed is dropped)."""
    try:
        sftp = kept.session()
        chan = sftp.get_channel()
        chan.settimeout(timeout)
        try:
            with sftp.open("/proc/net/tcp", "r") as f:  # readline: one read of the file per buffer
                return listed(itertools.islice(iter(f.readline, ""), LISTED_BYTES // 150), address, port)
        finally:
            chan.settimeout(None)
    except (TimeoutError, EOFError, paramiko.SSHException):  # the session is in doubt: a new one when needed
        if kept.sftp is not None:
            kept.sftp.close()
        kept.sftp = None
        return False
    except OSError:  # no such table (not Linux), or not readable: the TCP connect decides
        return False


def listening(address: str, port: int, timeout: float) -> bool:
    """Whether ADDRESS:PORT accepts a TCP connection (sshd is up there)."""
    try:
        socket.create_connection((address, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def key_of(h: Any) -> Key:
    """What makes a connection reusable for Host H: the same target, user, key and known_hosts (and jump)."""
    return (h.name, h.address, h.port, h.user, h.key_filename, h.known_hosts, key_of(h.jump) if h.jump else None)


def take(h: Any, connect: Callable[[], paramiko.SSHClient]) -> Kept:
    """Host H's kept connection, checked that its sshd still listens; else CONNECT's, kept."""
    key = key_of(h)
    kept = get(key)
    if kept is not None and h.jump is None and not listed_on_host(kept, h.address, h.port, h.connect_timeout) \
            and not listening(h.address, h.port, h.connect_timeout):
        forget(key)  # sshd stopped: connect anew, and fail as a fresh connection does
        kept = None
    return kept if kept is not None else keep(key, connect())


def keep(key: Key, client: paramiko.SSHClient) -> Kept:
    with _lock:
        kept = _kept[key] = Kept(client)
        return kept


def forget(key: Key) -> None:
    """Drop KEY's connection (it failed): the next use connects afresh."""
    with _lock:
        kept = _kept.pop(key, None)
    if kept is not None:
        kept.client.close()


def close_all() -> None:
    with _lock:
        kept = list(_kept.values())
        _kept.clear()
    for k in kept:
        k.client.close()
