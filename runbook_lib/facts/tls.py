"""Facts about the load balancer's certificates, read without ever reading a
private key: certificates and CSRs are public and parsed here; of a key only
its owner, mode and public half (`openssl pkey -pubout`, run on the LB host)
are looked at. One inspection serves both the plan (what to regenerate) and
the verification (what is wrong), so they cannot disagree."""

from __future__ import annotations

import functools
import hashlib
import posixpath
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..core.errors import ParamsError, Problem
from ..params import Params
from ..remote.host import Host

PEM_END = b"-----END CERTIFICATE-----"


def cert_paths(p: Params, host_name: str) -> tuple[str, str]:
    """(certificate, private key) of HOST_NAME in the LB host's ssl_dir."""
    d = p.load_balancer.ssl_dir
    return posixpath.join(d, f"{host_name}.crt"), posixpath.join(d, f"{host_name}.key")


def host_names(p: Params) -> list[str]:
    """The names the load balancer serves certificates for: the cluster's, then the console's."""
    n = p.cluster.hostnames
    return [n.cluster, n.management]


def ca_files(p: Params, params_file: Path) -> tuple[Path, Path] | None:
    """The CA certificate and key on THIS machine (relative to the params file)."""
    c = p.certificates
    if c is None or not c.ca_cert or not c.ca_key:
        return None
    base = params_file.resolve().parent
    return tuple(Path(x).expanduser() if Path(x).expanduser().is_absolute() else base / x  # type: ignore[return-value]
                 for x in (c.ca_cert, c.ca_key))


def ca_cert(p: Params, params_file: Path) -> x509.Certificate | None:
    """The params' CA certificate, None when the certificates are self-signed."""
    files = ca_files(p, params_file)
    if files is None:
        return None
    if not files[0].exists():
        raise ParamsError([Problem(str(params_file), "certificates.ca_cert", f"{files[0]} does not exist",
                                   "give the path of the CA certificate (PEM) on this machine")])
    return split_pem(files[0].read_bytes())[0]


def key_words(key_type: str) -> str:
    """The params' key type in words: rsa-2048 -> RSA 2048, ec-p256 -> EC P-256."""
    return "EC P-256" if key_type == "ec-p256" else f"RSA {key_type.split('-')[1]}"


def public_key_words(pub: object) -> str:
    if isinstance(pub, rsa.RSAPublicKey):
        return f"RSA {pub.key_size}"
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC P-256"}.get(pub.curve.name, f"EC {pub.curve.name}")
    return type(pub).__name__


def split_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file, leaf first (nginx's order)."""
    blocks = [b + PEM_END for b in data.split(PEM_END) if b"-----BEGIN CERTIFICATE-----" in b]
    return [x509.load_pem_x509_certificate(b.strip() + b"\n") for b in blocks]


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, as keytool and openssl print it (AA:BB:...)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def dns_names(cert: x509.Certificate) -> list[str]:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        return []


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, Exception):  # noqa: B014 - InvalidSignature and friends
        return False


def renew_within(days: int) -> int:
    """Regenerate when the certificate expires within this many days (at most
    30, and never so much that a fresh certificate already qualifies)."""
    return min(30, days // 4)


@dataclass
class CertState:
    """What is on the LB host for one name, and what must be done about it."""

    name: str
    crt: str
    key: str
    chain: list[x509.Certificate] = field(default_factory=list)
    key_present: bool = False
    key_owner_mode: str = ""
    key_public: object | None = None
    problems: list[str] = field(default_factory=list)
    new_key: bool = False
    new_cert: bool = False
    fix_mode: bool = False

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None

    def describe(self, ca: x509.Certificate | None) -> str:
        """The certificate in words (key, names, issuer); no dates or fingerprints."""
        c = self.leaf
        if c is None:
            return "(no certificate)"
        issuer = "self-signed" if c.issuer == c.subject else f"signed by {c.issuer.rfc4514_string()}"
        return f"{public_key_words(c.public_key())}, SAN {' '.join(dns_names(c)) or '(none)'}, {issuer}"

    def expiry(self) -> str:
        return self.leaf.not_valid_after_utc.strftime("%Y-%m-%d") if self.leaf else ""


def inspect_cert(h: Host, p: Params, name: str, ca: x509.Certificate | None) -> CertState:
    """Compare the certificate and key of NAME on the LB host with the params."""
    assert p.certificates is not None
    want = key_words(p.certificates.key_type)
    crt, key = cert_paths(p, name)
    st = CertState(name, crt, key)
    data = h.read_file(crt, sudo=True)
    if data:
        try:
            st.chain = split_pem(data)
        except ValueError:
            st.chain = []
    stat = h.run("stat -c '%%U %%a' %s", key, sudo=True)
    st.key_present = stat.ok
    if stat.ok:
        st.key_owner_mode = stat.stdout.strip()
        pub = h.run("openssl pkey -in %s -pubout", key, sudo=True)
        if pub.ok:
            st.key_public = serialization.load_pem_public_key(pub.stdout.encode())
    if not st.key_present:
        st.problems.append("no private key")
        st.new_key = True
    elif st.key_public is None:
        st.problems.append("private key unreadable")
        st.new_key = True
    elif public_key_words(st.key_public) != want:
        st.problems.append(f"key is {public_key_words(st.key_public)}, not {want}")
        st.new_key = True
    elif st.key_owner_mode != "root 600":
        st.problems.append(f"key is owner/mode {st.key_owner_mode}, not root 600")
        st.fix_mode = True
    c = st.leaf
    if c is None:
        st.problems.append("no certificate" if not data else "certificate unreadable")
    else:
        now = datetime.now(timezone.utc)
        if st.key_public is not None and not st.new_key and \
                c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
                st.key_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
            st.problems.append("certificate does not match the key")
        if name not in dns_names(c):
            st.problems.append(f"subjectAltName lacks {name}")
        if c.not_valid_after_utc - now < timedelta(days=renew_within(p.certificates.days)):
            st.problems.append("expired" if c.not_valid_after_utc <= now else "expires within "
                               f"{renew_within(p.certificates.days)} days")
        if ca is not None and not issued_by(c, ca):
            st.problems.append("not signed by the CA in certificates.ca_cert")
        if ca is None and not (c.issuer == c.subject and issued_by(c, c)):
            st.problems.append("not self-signed (and no CA in the params)")
    st.new_cert = st.new_key or any(x for x in st.problems if "key is owner" not in x)
    return st


def served_fingerprint(h: Host, port: int, name: str) -> str | None:
    """SHA-256 of the certificate nginx serves for NAME (SNI), asked on the
    LB host itself; None when nothing answers with TLS there."""
    res = h.run("openssl s_client -connect %s -servername %s </dev/null 2>/dev/null | "
                "openssl x509 -noout -fingerprint -sha256", f"127.0.0.1:{port}", name)
    out = res.stdout.strip()
    return out.split("=", 1)[1] if res.ok and "=" in out else None


@dataclass(frozen=True)
class Handshake:
    ok: bool
    text: str


def handshake(address: str, port: int, name: str, cadata: str, timeout: float = 5.0) -> Handshake:
    """A verified TLS handshake with ADDRESS:PORT for NAME (SNI and name check),
    trusting only CADATA: protocol, subject, names, issuer and expiry."""
    ctx = ssl.create_default_context(cadata=cadata)
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            version = tls.version()
    except ssl.SSLCertVerificationError as e:
        return Handshake(False, f"certificate refused: {e.verify_message}")
    except (OSError, ssl.SSLError) as e:
        return Handshake(False, f"no TLS handshake: {type(e).__name__}: {e}"[:100])
    c = x509.load_der_x509_certificate(der or b"")
    issuer = "self-signed" if c.issuer == c.subject else f"issuer {c.issuer.rfc4514_string()}"
    return Handshake(True, f"{version}, {c.subject.rfc4514_string()}, SAN {' '.join(dns_names(c))}, {issuer}, "
                           f"until {c.not_valid_after_utc:%Y-%m-%d}")


@functools.lru_cache(maxsize=1)
def unverified_context() -> ssl.SSLContext:
    """A TLS client context that checks no certificate (the nodes' own, the
    lab's self-signed ones; 02 checks the load balancer's), made once per
    process: ssl.create_default_context loads the system's CA bundle, 20-40 ms
    of CPU per request, for nothing when nothing is verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx
