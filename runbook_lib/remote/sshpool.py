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
new ones (a TCP connect, closed at once): established sessions outlive a
stopped sshd, and a host whose sshd was stopped must fail in the next section
exactly as it did when every section connected anew.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable

import paramiko

ENV = "RUNBOOK_KEEP_CONNECTIONS"
Key = tuple


@dataclass
class Kept:
    """One host's connection and its SFTP session (one SFTP channel per host:
    sshd allows only so many open sessions on a connection)."""

    client: paramiko.SSHClient
    sftp: paramiko.SFTPClient | None = None

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
    if kept is not None and h.jump is None and not listening(h.address, h.port, h.connect_timeout):
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
