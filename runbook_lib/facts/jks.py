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


class WrongKeyPassword(WrongPassword):
    """The store opens but its key entry does not: the key's own password differs
    (the JDK's KeyStore.getKey: UnrecoverableKeyException "Cannot recover key")."""


def _sha256(der: bytes) -> str:
    d = hashlib.sha256(der).hexdigest().upper()
    return ":".join(d[i:i + 2] for i in range(0, len(d), 2))


def _entries(data: bytes, password: str) -> tuple[int, list[tuple[str, bytes, str]]] | None:
    """(version, [(alias, the entry's bytes, SHA-256 of its certificate)]) in
    file order; None when DATA is not a JKS store. Raises WrongPassword."""
    if len(data) < 32 or struct.unpack(">I", data[:4])[0] != MAGIC:
        return None
    version, count = struct.unpack(">II", data[4:12])
    if version not in (1, 2):
        return None
    pos, out = 12, []

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
            start = pos
            (tag,) = struct.unpack(">I", take(4))
            alias = utf()
            take(8)  # creation date
            if tag == PRIVATE_KEY:
                (n,) = struct.unpack(">I", take(4))
                take(n)
                (chain,) = struct.unpack(">I", take(4))
                certs = [cert() for _ in range(chain)]
                sha = _sha256(certs[0]) if certs else ""
            elif tag == TRUSTED_CERT:
                sha = _sha256(cert())
            else:
                return None
            out.append((alias, data[start:pos], sha))
    except (ValueError, struct.error):
        return None
    if hashlib.sha1(_key(password) + data[:pos]).digest() != data[pos:pos + 20]:
        raise WrongPassword()
    return version, out


def _key(password: str) -> bytes:
    """What JKS hashes before the store's bytes: the password as UTF-16BE, then a fixed phrase."""
    return password.encode("utf-16-be") + b"Mighty Aphrodite"


def read_jks(data: bytes, password: str) -> dict[str, str] | None:
    """alias -> SHA-256 fingerprint (AA:BB:..., as keytool prints it) of the
    entry's certificate (a key entry: its first certificate). None when DATA
    is not a JKS store. Raises WrongPassword when the integrity check fails."""
    parsed = _entries(data, password)
    return None if parsed is None else {alias: sha for alias, _, sha in parsed[1]}


def _trusted_entry(alias: str, der: bytes, now_ms: int) -> bytes:
    """One trustedCertEntry as keytool -importcert writes it (version 2): the
    alias in lower case (JKS aliases are case-insensitive; keytool folds them)."""
    name = alias.lower().encode("utf-8")
    return (struct.pack(">IH", TRUSTED_CERT, len(name)) + name + struct.pack(">QH", now_ms, 5) + b"X.509"
            + struct.pack(">I", len(der)) + der)


def merge_trusted(data: bytes, password: str, certs: list[tuple[str, bytes]]) -> bytes | None:
    """DATA (a JKS store) with CERTS (alias, DER certificate) as trusted
    certificate entries: an alias already there is replaced in place, a new
    one appended, every other entry (key entries included) kept byte for byte,
    and the integrity digest made anew with the same password: what
    `keytool -importcert` leaves, without a JVM. None when DATA is not a
    version-2 JKS store (the caller then uses keytool). Raises WrongPassword."""
    parsed = _entries(data, password)
    if parsed is None or parsed[0] != 2:
        return None
    now = int(time.time() * 1000)
    new = {alias.lower(): _trusted_entry(alias, der, now) for alias, der in certs}
    chunks = []
    for alias, chunk, _ in parsed[1]:
        chunks.append(new.pop(alias.lower(), chunk))
    chunks += new.values()
    body = struct.pack(">III", MAGIC, 2, len(chunks)) + b"".join(chunks)
    return body + hashlib.sha1(_key(password) + body).digest()


def trusted_store(entries: list[tuple[str, bytes]], password: str) -> bytes:
    """A JKS store holding only ENTRIES (alias, DER certificate) as trusted
    certificates (the stores that exist on a node only when keytool must
    merge, e.g. one in a format this module does not write)."""
    now = int(time.time() * 1000)
    body = struct.pack(">III", MAGIC, 2, len(entries)) + b"".join(_trusted_entry(a, d, now) for a, d in entries)
    return body + hashlib.sha1(_key(password) + body).digest()


# Sun's proprietary key protection of a JKS PrivateKeyEntry (OID 1.3.6.1.4.1.42.2.17.1.1):
# salt (20 bytes), the PKCS#8 key XORed with a SHA-1 stream over the password
# (UTF-16BE) and the salt, then SHA-1(password + key) as a check.
KEY_PROTECTOR_OID = bytes.fromhex("2b060104012a02110101")


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at POS."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        size = n & 0x7F
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    return tag, pos, pos + n


def _octets(epki: bytes) -> tuple[int, int]:
    """Where the protected key's OCTET STRING content (salt, key, check) sits in EPKI."""
    _, body, _ = _der(epki, 0)  # EncryptedPrivateKeyInfo
    _, alg, alg_end = _der(epki, body)  # AlgorithmIdentifier
    _, oid, oid_end = _der(epki, alg)
    if epki[oid:oid_end] != KEY_PROTECTOR_OID:
        raise ValueError("not a JKS-protected key")
    _, start, end = _der(epki, alg_end)  # OCTET STRING
    return start, end


def _xor_stream(data: bytes, pw: bytes, salt: bytes) -> bytes:
    """DATA XORed with the SHA-1 stream over PW and SALT (protecting and unprotecting alike)."""
    stream, digest = bytearray(), salt
    while len(stream) < len(data):
        digest = hashlib.sha1(pw + digest).digest()
        stream += digest
    return bytes(a ^ b for a, b in zip(data, stream))


def _unprotect(epki: bytes, password: str) -> bytes:
    """The PKCS#8 DER of a key keytool protected with PASSWORD. Raises WrongKeyPassword."""
    start, end = _octets(epki)
    blob, pw = epki[start:end], password.encode("utf-16-be")
    plain = _xor_stream(blob[20:-20], pw, blob[:20])
    if hashlib.sha1(pw + plain).digest() != blob[-20:]:
        raise WrongKeyPassword()
    return plain


def _epki_span(chunk: bytes) -> tuple[int, int]:
    """Where a PrivateKeyEntry's protected key (EncryptedPrivateKeyInfo) sits in CHUNK."""
    (n,) = struct.unpack(">H", chunk[4:6])
    pos = 6 + n + 8  # tag, alias, date
    (size,) = struct.unpack(">I", chunk[pos:pos + 4])
    return pos + 4, pos + 4 + size


def key_entry(data: bytes, password: str, alias: str, key_password: str | None = None) -> tuple[bytes, bytes] | None:
    """(PKCS#8 DER of the private key, DER of its certificate) of the key entry
    ALIAS in the JKS store DATA, read without a JVM (what Secure Vault needs:
    cipher-tool encrypts with the certificate, Carbon decrypts with the key).
    None when DATA is not JKS or has no key entry ALIAS. Raises WrongPassword
    (the store's or the key's password)."""
    parsed = _entries(data, password)
    if parsed is None:
        return None
    for name, chunk, _ in parsed[1]:
        (tag,) = struct.unpack(">I", chunk[:4])
        if tag != PRIVATE_KEY or name.lower() != alias.lower():
            continue
        start, pos = _epki_span(chunk)
        epki = chunk[start:pos]
        (count,) = struct.unpack(">I", chunk[pos:pos + 4])
        pos += 4
        if count < 1:
            return None
        if parsed[0] == 2:
            (n,) = struct.unpack(">H", chunk[pos:pos + 2])
            pos += 2 + n
        (size,) = struct.unpack(">I", chunk[pos:pos + 4])
        return _unprotect(epki, key_password or password), chunk[pos + 4:pos + 4 + size]
    return None


def _reprotect(epki: bytes, key_password: str, new_key_password: str, salt: bytes) -> bytes:
    """EPKI with its key protected by NEW_KEY_PASSWORD instead (what _unprotect undoes,
    with a new SALT): the same length, the same algorithm bytes."""
    plain = _unprotect(epki, key_password)
    start, end = _octets(epki)
    pw = new_key_password.encode("utf-16-be")
    return epki[:start] + salt + _xor_stream(plain, pw, salt) + hashlib.sha1(pw + plain).digest() + epki[end:]


def with_passwords(data: bytes, password: str, key_password: str, new_password: str, new_key_password: str,
                   salt: bytes) -> bytes:
    """The JKS store DATA with NEW_PASSWORD for the store and NEW_KEY_PASSWORD for
    every key entry: what `keytool -storepasswd` and `-keypasswd` leave (the lab's
    test sessions use it to give one keytool-made keystore each lab's passwords).
    SALT: 20 random bytes. Raises WrongPassword, ValueError when DATA is not JKS."""
    parsed = _entries(data, password)
    if parsed is None:
        raise ValueError("not a JKS store")
    chunks = []
    for _, chunk, _ in parsed[1]:
        (tag,) = struct.unpack(">I", chunk[:4])
        if tag == PRIVATE_KEY:
            start, end = _epki_span(chunk)
            chunk = chunk[:start] + _reprotect(chunk[start:end], key_password, new_key_password, salt) + chunk[end:]
        chunks.append(chunk)
    body = data[:12] + b"".join(chunks)
    return body + hashlib.sha1(_key(new_password) + body).digest()
