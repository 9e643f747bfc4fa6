"""Secure Vault as a Carbon 4.4 node resolves it at start-up (rows V1-V5 of SOURCES.md).

Not WSO2 code: written from carbon-kernel v4.4.16 (SecretManagerInitializer,
DefaultSecretCallbackHandler, ServerConfiguration, DataSourceUtils) and the
secure vault library it uses (org.wso2.securevault 1.0.0-wso2v2, forked from
Synapse's securevault module: SecretManager, FileBaseSecretRepository,
AbstractKeyStoreLoader, BaseCipher). The profile's conf/security/secret-conf.properties
turns it on; the keystore password comes from CARBON_HOME's password file;
the keystore is opened; every alias of cipher-text.properties is decrypted
with the key (its own password when the node was started with
-Dkey.password=true, else the store's); an element carrying svns:secretAlias
gets the alias's secret (an alias with no secret resolves to itself, as
FileBaseSecretRepository returns it). A missing password, a wrong keystore
or key password or a cipher text that does not decrypt stops start-up with
the library's own words.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import math
import struct
from pathlib import Path

from .errors import StartupError

SVNS = "{http://org.wso2.securevault/configuration}secretAlias"
SECRET_CONF = "secret-conf.properties"
MANAGER = "org.wso2.securevault.secret.SecretManager"
LOADER = "org.wso2.securevault.keystore.AbstractKeyStoreLoader"
CIPHER = "org.wso2.securevault.BaseCipher"
HANDLER = "org.wso2.carbon.securevault.DefaultSecretCallbackHandler"
WRAPPER = "org.wso2.securevault.keystore.IdentityKeyStoreWrapper"  # KeyStoreWrapper logs under its own class


def read_properties(path: Path) -> dict[str, str]:
    """java.util.Properties.load, enough for these files (key=value, `\\` escapes, # comments)."""
    out = {}
    for raw in path.read_text("latin-1").splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, value, i, esc = "", "", 0, False
        while i < len(line):
            ch = line[i]
            if esc:
                key, esc = key + ch, False
            elif ch == "\\":
                esc = True
            elif ch in "=:":
                break
            else:
                key += ch
            i += 1
        rest, value, esc = line[i + 1:].lstrip(), "", False
        for ch in rest:
            if esc:
                value, esc = value + ch, False
            elif ch == "\\":
                esc = True
            else:
                value += ch
        out[key.strip()] = value
    return out


def keystore_password(carbon_home: Path, persist: bool, own_key: bool = False) -> tuple[str, str | None] | None:
    """DefaultSecretCallbackHandler: `password` (renamed to password-tmp once read),
    `password-tmp` (overwritten, then deleted once read), `password-persist` (kept);
    else the console, which a detached start does not have (None). (store, key):
    the first line serves both unless -Dkey.password=true (OWN_KEY), then the
    second line is the key's (None when the file has no second line). Row V2."""
    plain, tmp, kept = carbon_home / "password", carbon_home / "password-tmp", carbon_home / "password-persist"
    for f in (plain, tmp, kept):
        if f.exists():
            lines = f.read_text().splitlines()
            store = lines[0] if lines else ""
            key = (lines[1] if len(lines) > 1 else None) if own_key else store
            if f == plain and not persist:
                f.rename(tmp)
            elif f == tmp and not persist:
                f.write_text("!@#$%^&*()SDFGHJZXCVBNM!@#$%^&*")
                f.unlink()
            return store, key
    return None


# -- the JKS key entry, read as the JVM's KeyStore("JKS") does ----------------

class UnrecoverableKey(Exception):
    """The JDK's KeyStore.getKey with a wrong key password: UnrecoverableKeyException."""


def _jks_key(data: bytes, password: str, alias: str, key_password: str | None = None) -> bytes | None:
    """PKCS#8 of ALIAS's key (KEY_PASSWORD: the key's own, else PASSWORD); None when
    absent. Raises ValueError when the store's integrity check fails ("Keystore was
    tampered with, or password was incorrect"), UnrecoverableKey when the key's does."""
    pw = password.encode("utf-16-be")
    if len(data) < 32 or struct.unpack(">I", data[:4])[0] != 0xFEEDFEED:
        raise ValueError("Invalid keystore format")
    if hashlib.sha1(pw + b"Mighty Aphrodite" + data[:-20]).digest() != data[-20:]:
        raise ValueError("Keystore was tampered with, or password was incorrect")
    version, count = struct.unpack(">II", data[4:12])
    pos, found = 12, None

    def take(n: int) -> bytes:
        nonlocal pos
        pos += n
        return data[pos - n:pos]

    for _ in range(count):
        (tag,) = struct.unpack(">I", take(4))
        (n,) = struct.unpack(">H", take(2))
        name = take(n).decode("utf-8", "replace")
        take(8)
        if tag == 1:
            (n,) = struct.unpack(">I", take(4))
            epki = take(n)
            (chain,) = struct.unpack(">I", take(4))
            for _ in range(chain):
                if version == 2:
                    (n,) = struct.unpack(">H", take(2))
                    take(n)
                (n,) = struct.unpack(">I", take(4))
                take(n)
            if name.lower() == alias.lower():
                found = epki
        else:
            if version == 2:
                (n,) = struct.unpack(">H", take(2))
                take(n)
            (n,) = struct.unpack(">I", take(4))
            take(n)
    if found is None:
        return None
    blob = found[_octets_start(found):]
    pw = (password if key_password is None else key_password).encode("utf-16-be")
    salt, enc, check = blob[:20], blob[20:-20], blob[-20:]
    stream, digest = bytearray(), salt
    while len(stream) < len(enc):
        digest = hashlib.sha1(pw + digest).digest()
        stream += digest
    plain = bytes(a ^ b for a, b in zip(enc, stream))
    if hashlib.sha1(pw + plain).digest() != check:
        raise UnrecoverableKey("Cannot recover key")
    return plain


def _octets_start(epki: bytes) -> int:
    """Where the OCTET STRING's content starts in an EncryptedPrivateKeyInfo."""
    def hdr(pos: int) -> tuple[int, int]:
        n = epki[pos + 1]
        if n & 0x80:
            size = n & 0x7F
            return pos + 2 + size, int.from_bytes(epki[pos + 2:pos + 2 + size], "big")
        return pos + 2, n
    body, _ = hdr(0)
    alg, alg_len = hdr(body)
    start, _ = hdr(alg + alg_len)
    return start


def _private_key(key_der: bytes):  # noqa: ANN202 - one of cryptography's key types
    """The key, loaded once per start. Java's KeyFactory takes the key as stored; cryptography
    would also check the RSA primes (about 50 ms each time), which Carbon never does."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key  # paramiko's dependency
    try:
        return load_der_private_key(key_der, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:  # cryptography before 39
        return load_der_private_key(key_der, password=None)


@functools.lru_cache(maxsize=8)
def _twin(key):  # noqa: ANN001, ANN202 - cryptography's RSA private key, and one like it
    """KEY with its other private exponent (d -/+ lcm(p-1, q-1): it decrypts alike)."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateNumbers
    n = key.private_numbers()
    lam = (n.p - 1) * (n.q - 1) // math.gcd(n.p - 1, n.q - 1)
    numbers = RSAPrivateNumbers(n.p, n.q, n.d - lam if n.d >= lam else n.d + lam, n.dmp1, n.dmq1, n.iqmp,
                                n.public_numbers)
    try:
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)
    except TypeError:  # cryptography before 39
        return numbers.private_key()


def _java_decrypt(key, raw: bytes, pad) -> bytes:  # noqa: ANN001 - cryptography's key and padding
    """RAW decrypted as Java's Cipher does: ValueError on a bad padding. OpenSSL 3.2+
    answers a bad PKCS#1 v1.5 padding with a message made up from the private exponent's
    bytes ("implicit rejection"), so the key and its twin (_twin) must agree. (The
    stand-in runs apart from the runbook's package, so it has its own copy of this, as
    it has of everything it does.)"""
    from cryptography.hazmat.primitives.asymmetric import padding
    message = key.decrypt(raw, pad)
    if isinstance(pad, padding.PKCS1v15) and _twin(key).decrypt(raw, pad) != message:
        raise ValueError("bad padding")
    return message


def _decrypt(key, text: str, algorithm: str) -> str:  # noqa: ANN001 - a loaded RSA private key
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise StartupError("IOError when decoding the input stream for cipher ", CIPHER,
                           "org.wso2.securevault.SecureVaultException: IOError when decoding the input stream "
                           "for cipher") from None
    pad = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None) \
        if "OAEP" in algorithm.upper() else padding.PKCS1v15()
    try:
        return _java_decrypt(key, raw, pad).decode("utf-8")
    except ValueError:
        raise StartupError("IOError when reading the input stream for cipher ", CIPHER,
                           "org.wso2.securevault.SecureVaultException: IOError when reading the input stream for "
                           "cipher\njavax.crypto.BadPaddingException: Decryption error") from None


def load(conf: Path, carbon_home: Path, persist: bool = False, own_key: bool = False) -> dict[str, str] | None:
    """alias -> secret when conf/security/secret-conf.properties configures the file
    repository; None when Secure Vault is not configured. OWN_KEY: started with
    -Dkey.password=true (the password file's second line is the key's)."""
    path = conf / "security" / SECRET_CONF
    if not path.exists():
        return None
    props = read_properties(path)
    if "file" not in [r.strip() for r in props.get("secretRepositories", "").split(",")]:
        return None
    passwords = keystore_password(carbon_home, persist, own_key)
    # SecretManager.validatePasswords: with no trust store, both the store's and the key's are needed (V3, V7)
    if passwords is None or not passwords[0] or not passwords[1]:
        raise StartupError("Either Identity or Trust keystore password is mandatory in order to initialized "
                           "secret manager.", MANAGER)
    password, key_password = passwords
    location = Path(props.get("keystore.identity.location", ""))
    store = location if location.is_absolute() else carbon_home / location
    if not store.is_file():
        raise StartupError(f"KeyStore can not be found at ' {store} '", LOADER)
    alias = props.get("keystore.identity.alias", "")
    try:
        key = _jks_key(store.read_bytes(), password, alias, key_password)
    except UnrecoverableKey:  # KeyStoreWrapper.getKey, when the cipher is made (row V7)
        raise StartupError(f"Error loading key for alias : {alias}", WRAPPER,
                           "java.security.UnrecoverableKeyException: Cannot recover key") from None
    except ValueError as e:
        raise StartupError(f"IOError loading keyStore from ' {location} ' ", LOADER, f"java.io.IOException: {e}") \
            from None
    if key is None:
        raise StartupError(f"Cannot find a private key for alias {props.get('keystore.identity.alias')}", LOADER)
    cipher_file = Path(props.get("secretRepositories.file.location", "cipher-text.properties"))
    cipher_file = cipher_file if cipher_file.is_absolute() else carbon_home / cipher_file
    texts = read_properties(cipher_file) if cipher_file.exists() else {}
    algorithm = props.get("secretRepositories.file.algorithm", "RSA")
    private = _private_key(key) if any(t.strip() for t in texts.values()) else None
    return {alias: _decrypt(private, text, algorithm) for alias, text in texts.items() if text.strip()}


def resolve(el, secrets: dict[str, str] | None, attr: str | None = None) -> str | None:  # type: ignore[no-untyped-def]
    """The value of EL (its text, or attribute ATTR): the secret of its svns:secretAlias
    when it has one (the alias itself when the vault has no such secret)."""
    if el is None:
        return None
    alias = el.get(SVNS)
    if alias is not None and secrets is not None:
        return secrets.get(alias, alias)
    return el.get(attr) if attr else (el.text or "").strip()

