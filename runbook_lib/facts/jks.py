"""The entries of a Java KeyStore file, read from its bytes: no JVM.

`keytool -list` starts a JVM (about half a second of CPU per call); on a
cluster of tens of nodes, listing each node's client-truststore.jks that way
several times per run dominated section 02. WSO2 Carbon 4.x ships its stores
in Sun's JKS format, which is simple: a header, then per entry a tag, the
alias, a timestamp and the DER certificate(s); at the end a SHA-1 over the
password, the words "Mighty Aphrodite" and everything before (the store's
integrity check, the same one keytool makes with -storepass). Any other
format (PKCS12, JCEKS) returns None and the caller asks keytool instead.
"""

from __future__ import annotations

import hashlib
import struct
import time

MAGIC = 0xFEEDFEED
PRIVATE_KEY, TRUSTED_CERT = 1, 2


class WrongPassword(Exception):
    """The store's integrity check fails with this password (as keytool says it)."""


def _sha256(der: bytes) -> str:
    d = hashlib.sha256(der).hexdigest().upper()
    return ":".join(d[i:i + 2] for i in range(0, len(d), 2))


def read_jks(data: bytes, password: str) -> dict[str, str] | None:
    """alias -> SHA-256 fingerprint (AA:BB:..., as keytool prints it) of the
    entry's certificate (a key entry: its first certificate). None when DATA
    is not a JKS store. Raises WrongPassword when the integrity check fails."""
    if len(data) < 32 or struct.unpack(">I", data[:4])[0] != MAGIC:
        return None
    version, count = struct.unpack(">II", data[4:12])
    if version not in (1, 2):
        return None
    pos, out = 12, {}

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data) - 20:
            raise ValueError("truncated keystore")
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    def utf() -> str:
        (n,) = struct.unpack(">H", take(2))
        return take(n).decode("utf-8", errors="replace")

    def cert() -> bytes:
        if version == 2:
            utf()  # certificate type, "X.509"
        (n,) = struct.unpack(">I", take(4))
        return take(n)

    try:
        for _ in range(count):
            (tag,) = struct.unpack(">I", take(4))
            alias = utf()
            take(8)  # creation date
            if tag == PRIVATE_KEY:
                (n,) = struct.unpack(">I", take(4))
                take(n)
                (chain,) = struct.unpack(">I", take(4))
                certs = [cert() for _ in range(chain)]
                out[alias] = _sha256(certs[0]) if certs else ""
            elif tag == TRUSTED_CERT:
                out[alias] = _sha256(cert())
            else:
                return None
    except (ValueError, struct.error):
        return None
    body, digest = data[:pos], data[pos:pos + 20]
    key = password.encode("utf-16-be") + b"Mighty Aphrodite"
    if hashlib.sha1(key + body).digest() != digest:
        raise WrongPassword()
    return out


def trusted_store(entries: list[tuple[str, bytes]], password: str) -> bytes:
    """A JKS store holding only ENTRIES (alias, DER certificate) as trusted
    certificates: the source `keytool -importkeystore` merges into a node's
    store in one call (one JVM per node, however many certificates)."""
    body = struct.pack(">III", MAGIC, 2, len(entries))
    now = int(time.time() * 1000)
    for alias, der in entries:
        name = alias.encode("utf-8")
        body += struct.pack(">IH", TRUSTED_CERT, len(name)) + name + struct.pack(">QH", now, 5) + b"X.509"
        body += struct.pack(">I", len(der)) + der
    return body + hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
