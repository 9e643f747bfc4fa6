"""Host keys, checked strictly against the params' known_hosts: an unknown
or changed key is refused with its fingerprint in the message, never added."""

from __future__ import annotations

import base64
import hashlib

import paramiko

from ..core.errors import HostKeyError


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


def known_key_entry(known_hosts: str, address: str, port: int) -> paramiko.PKey | None:
    keys = paramiko.HostKeys(known_hosts)
    name = address if port == 22 else f"[{address}]:{port}"
    entry = keys.lookup(name)
    return next(iter(entry.values())) if entry else None


class RefuseUnknownKeys(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: str) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):  # noqa: ANN001 - paramiko's signature
        raise HostKeyError(hostname, f"host key {fingerprint(key)} is not in {self.known_hosts}",
                           fix="verify the key out of band and add it to that known_hosts file")
