"""Host keys, checked strictly against the params' known_hosts: an unknown
or changed key is refused with its fingerprint in the message, never added."""

from __future__ import annotations

import base64
import hashlib
import os
import threading

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey
from paramiko.util import constant_time_bytes_eq

from ..core.errors import HostKeyError


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


def key_name(address: str, port: int) -> str:
    """How known_hosts (and paramiko's connect) names a host: ADDRESS, or [ADDRESS]:PORT."""
    return address if port == 22 else f"[{address}]:{port}"


class _KnownHosts:
    """One known_hosts file as read: its entries in file order, and an index of
    the plain (unhashed) names. A name's keys are looked up once, then kept."""

    def __init__(self, path: str) -> None:
        self.entries: list[HostKeyEntry] = []
        self.plain: dict[str, list[int]] = {}
        self.hashed: list[int] = []
        self.found: dict[str, dict[str, paramiko.PKey]] = {}
        with open(path) as f:  # as paramiko's HostKeys.load reads it: comments and blanks skipped
            # and lines it cannot read (a key type it does not know; bad base64, where paramiko
            # stops with an error and OpenSSH skips the line: that host's key is then unknown
            # and the host refused)
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    entry = HostKeyEntry.from_line(line, lineno)
                except (paramiko.SSHException, InvalidHostKey):
                    continue
                if entry is None or entry.key is None:
                    continue
                i = len(self.entries)
                self.entries.append(entry)
                for h in entry.hostnames:
                    if h.startswith("|1|"):
                        self.hashed.append(i)
                    else:
                        self.plain.setdefault(h, []).append(i)

    def keys(self, name: str) -> dict[str, paramiko.PKey]:
        """keytype -> key for NAME; the first line with a key type wins, as in paramiko's lookup."""
        if name not in self.found:
            matches = set(self.plain.get(name, []))
            matches.update(i for i in self.hashed if any(
                h.startswith("|1|") and constant_time_bytes_eq(paramiko.HostKeys.hash_host(name, h), h)
                for h in self.entries[i].hostnames))
            out: dict[str, paramiko.PKey] = {}
            for i in sorted(matches):
                out.setdefault(self.entries[i].key.get_name(), self.entries[i].key)
            self.found[name] = out
        return self.found[name]


_READ: dict[str, tuple[tuple[int, int, int], _KnownHosts]] = {}
_READ_LOCK = threading.Lock()


def known_keys(known_hosts: str, address: str, port: int) -> dict[str, paramiko.PKey]:
    """The keys KNOWN_HOSTS holds for the host (keytype -> key; empty: unknown).
    FileNotFoundError when the file is missing.

    The file is read once per process, and again only when it changes (size,
    time or inode). paramiko's own ``load_host_keys`` checks every line against
    all the lines before it, and each connection loaded the whole file: a run
    on 128 hosts spent a fifth of its CPU there."""
    st = os.stat(known_hosts)
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _READ_LOCK:
        kept = _READ.get(known_hosts)
        if kept is None or kept[0] != stamp:
            kept = _READ[known_hosts] = (stamp, _KnownHosts(known_hosts))
        return dict(kept[1].keys(key_name(address, port)))


class RefuseUnknownKeys(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):  # noqa: ANN001 - paramiko's signature
        raise HostKeyError(hostname, f"host key {fingerprint(key)} is not in {self.known_hosts}",
                           fix="verify the key out of band and add it to that known_hosts file")
