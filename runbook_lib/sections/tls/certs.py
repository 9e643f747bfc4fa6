"""Section 02, certificates: a key, CSR and certificate per host name (the
cluster name and the management name) on the nginx host, the two HTTPS vhosts
that use them, and each node's client-truststore.jks (see truststore.py).

Departures from documents 002/004: 2048-bit RSA (or ECDSA P-256) without a
passphrase dance, and the host name in subjectAltName (ERRATA E13); the key is
made on the LB host and never leaves it (mode 0600, root); with
certificates.ca_cert/ca_key the CSR travels to this machine and is signed
there, so the CA key never leaves this machine either. A valid certificate is
never regenerated: names, key type, key match, issuer and expiry are checked
first.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from ...core.change import Change
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Check, Checks, Operation, Plan
from ...facts import tls
from ...facts.tls import (CertState, fingerprint, handshake, inspect_cert, key_words, renew_within, served_fingerprint,
                        split_pem)
from ...remote.host import Host
from ...run.changelog import record_made, record_remote
from . import truststore
from ..lb.nginx_conf import Vhost, config_files, nginx_version, sticky_supported, tls_vhosts, upstream_directives
from ..lb.nginx_site import Site, lb_host
from ..lb.balancer import Backends, answer_check, backend_reachability, config_checks, lb_address, log_checks

EXT = "wso2_server"


def _active(run: Run) -> bool:
    p = run.params
    return p.load_balancer.kind == "nginx" and p.certificates is not None and p.load_balancer.host in \
        run.selected_hosts()


def host_names(run: Run) -> list[str]:
    return tls.host_names(run.params)


def ca_files(run: Run) -> tuple[Path, Path] | None:
    return tls.ca_files(run.params, run.params_file)


def ca_cert(run: Run) -> x509.Certificate | None:
    return tls.ca_cert(run.params, run.params_file)


# -- keys and certificates on the LB host -----------------------------------

def _keygen(key_type: str) -> str:
    if key_type == "ec-p256":
        return "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
    return f"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:{key_type.split('-')[1]}"


def _extensions(name: str, key_type: str) -> str:
    usage = "digitalSignature" if key_type == "ec-p256" else "digitalSignature,keyEncipherment"
    return (f"[{EXT}]\nsubjectAltName = DNS:{name}\nbasicConstraints = critical,CA:FALSE\n"
            f"keyUsage = critical,{usage}\nextendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n")


def _commands(run: Run, st: CertState) -> list[str]:
    c = run.params.certificates
    assert c is not None
    csr = st.crt[:-4] + ".csr"
    cmds = [f"mkdir -p {run.params.load_balancer.ssl_dir}"]
    lb = run.host(run.params.load_balancer.host or "")
    if st.new_key and st.key_present:
        cmds.append(lb.backup_command(st.key))
    if st.new_cert and st.chain:
        cmds.append(lb.backup_command(st.crt))
    if st.new_key:
        cmds.append(f"umask 077 && {_keygen(c.key_type)} -out {st.key}.new && mv -f {st.key}.new {st.key}")
    if st.new_key or st.fix_mode:
        cmds.append(f"chown root:root {st.key} && chmod 600 {st.key}")
    if st.new_cert:
        cmds.append(f"openssl req -new -key {st.key} -subj /CN={st.name} -addext subjectAltName=DNS:{st.name} "
                    f"-out {csr}")
        if ca_files(run) is None:
            cmds.append(f"openssl x509 -req -in {csr} -signkey {st.key} -days {c.days} -sha256 "
                        f"-extfile /dev/stdin -extensions {EXT} -out {st.crt}.new && chmod 644 {st.crt}.new "
                        f"&& mv -f {st.crt}.new {st.crt}")
    return cmds


def _sign_with_ca(run: Run, csr_pem: bytes, name: str) -> bytes:
    """Sign the CSR on this machine with the params' CA: leaf + CA certificate."""
    files = ca_files(run)
    assert files is not None and run.params.certificates is not None
    ca = ca_cert(run)
    assert ca is not None
    try:
        ca_key = serialization.load_pem_private_key(files[1].read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise RunbookError(f"cannot use the CA key {files[1]}: {e}", fix="give an unencrypted PEM key") from e
    csr = x509.load_pem_x509_csr(csr_pem)
    if not csr.is_signature_valid:
        raise RunbookError(f"the CSR for {name} has a bad signature")
    now = datetime.now(timezone.utc)
    pub = csr.public_key()
    cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject).public_key(pub)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=run.params.certificates.days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=not isinstance(pub, ec.EllipticCurvePublicKey),
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)


def _before_commands(h: Host, ssl_dir: str, st: CertState) -> dict[str, tuple[bool, str | None]]:
    """The files the commands will make or replace: whether each existed and
    its backup (taken now), so that `runbook rollback` removes or restores them.
    The ssl folder is recorded when the run creates it (removed once empty)."""
    if not h.run("test -d %s", ssl_dir, sudo=True).ok:
        record_made(h, ssl_dir, kind="dir", sudo=True)
    paths = ([st.key] if st.new_key or st.fix_mode else []) + ([st.crt[:-4] + ".csr", st.crt] if st.new_cert else [])
    made = {}
    for path in paths:
        existed = h.run("test -e %s", path, sudo=True).ok
        made[path] = (existed, h.backup(path, sudo=True) if existed else None)
    return made


def _record(h: Host, made: dict[str, tuple[bool, str | None]]) -> None:
    for path, (existed, backup) in made.items():
        record_remote(h, path, existed=existed, backup=backup, sudo=True)


def _cert_op(run: Run, h: Host, name: str) -> Operation:
    def fn(dry_run: bool) -> Change:
        c = run.params.certificates
        assert c is not None
        ca = ca_cert(run)
        st = inspect_cert(h, run.params, name, ca)
        target = f"{h.name}:{st.crt}"
        if not st.problems:
            return Change(target, False, f"valid: {st.describe(ca)}, key root 0600, not expiring within "
                                         f"{renew_within(c.days)} days")
        cmds = _commands(run, st)
        made = "key, CSR and certificate" if st.new_key else "CSR and certificate" if st.new_cert else ""
        signer = "signed by the params' CA" if ca is not None else "self-signed"
        what = f"{made} for {name} ({key_words(c.key_type)}, SAN DNS:{name}, {signer}, {c.days} days)" if made \
            else f"the key of {name} root-owned, mode 0600"
        why = "; ".join(st.problems)
        shown = tuple(cmds + (["sign the CSR on this machine with certificates.ca_key; write the certificate "
                               f"and the CA's to {st.crt}"] if ca is not None and st.new_cert else []))
        if dry_run:
            return Change(target, True, f"would make {what}: {why}", commands=shown)
        touched = _before_commands(h, run.params.load_balancer.ssl_dir, st)
        for cmd in cmds:
            h.check(cmd, sudo=True, stdin=_extensions(name, c.key_type).encode() if "-extfile" in cmd else None)
        _record(h, touched)  # before the CA-signed write, so that the first record of the file is its state before
        if ca is not None and st.new_cert:
            csr = h.read_file(st.crt[:-4] + ".csr", sudo=True) or b""
            h.write_file(st.crt, _sign_with_ca(run, csr, name), sudo=True, mode=0o644, backup=False)
        after = inspect_cert(h, run.params, name, ca)
        if after.problems:
            raise RunbookError(f"{h.name}: the new certificate for {name} is still wrong: {'; '.join(after.problems)}")
        return Change(target, True, f"made {what} (was: {why})", commands=shown)
    crt = f"{run.params.load_balancer.ssl_dir}/{name}.crt"
    return Operation(f"{h.name}:{crt}", fn, h.name, path=crt)


def plan_certificates(run: Run) -> Plan:
    """A key, CSR and certificate per host name on the LB host, unless a valid one is there."""
    if not _active(run):
        return Plan("02 certificates: none needed here (no nginx host selected or no certificates section)", [])
    h = lb_host(run)
    return Plan("02 certificates on the load balancer", [_cert_op(run, h, n) for n in host_names(run)])


# -- the HTTPS vhosts ---------------------------------------------------------

def _affinity_op(run: Run, h: Host) -> Operation:
    """E15: `sticky` only where the nginx in use has it; say which one it is."""
    lb = run.params.load_balancer

    def fn(dry_run: bool) -> Change:
        res = h.run("nginx -v", sudo=True)
        text = (res.stderr or res.stdout).strip()
        version, plus = nginx_version(text)
        label = ("NGINX Plus " if plus else "nginx ") + ".".join(map(str, version))
        if lb.affinity == "sticky" and not sticky_supported(text):
            raise RunbookError(f"{h.name}: affinity `sticky` needs NGINX Plus or nginx 1.29.6+, this is {label} "
                               "(ERRATA E15)", fix="set load_balancer.affinity: ip_hash in the params")
        return Change(f"{h.name}:nginx -v", False, f"{label}: affinity {lb.affinity} is supported")
    return Operation(f"{h.name}:nginx -v", fn, h.name, path="nginx -v")


def _stale_certificates(run: Run) -> list[str]:
    """Names whose certificate on disk differs from the one nginx serves (a
    renewed certificate needs a reload even when no vhost file changed)."""
    h, out = lb_host(run), []
    for name in host_names(run):
        served = served_fingerprint(h, run.params.load_balancer.https_port, name)
        data = h.read_file(f"{run.params.load_balancer.ssl_dir}/{name}.crt", sudo=True)
        if served and data and split_pem(data) and served != fingerprint(split_pem(data)[0]):
            out.append(f"nginx still serves an older certificate for {name}")
    return out


def plan_tls_vhosts(run: Run) -> Plan:
    """The HTTPS vhost of the cluster name (workers, with affinity) and of the
    management name (the manager), then `nginx -t` and reload."""
    if not _active(run):
        return Plan("02 nginx HTTPS vhosts: none here", [])
    site = Site(run, tls_vhosts(run.params), extra_reason=lambda: _stale_certificates(run))
    return Plan("02 nginx HTTPS vhosts", [_affinity_op(run, lb_host(run)), *site.operations()])


# -- verification -------------------------------------------------------------

def _e14_e15_checks(run: Run, vhosts: list[Vhost]) -> list[Check]:
    h = lb_host(run)
    files = config_files(h.run("nginx -T", sudo=True).stdout)
    out = []
    for v in vhosts:
        conf = files.get(v.path, "")
        listen = f"listen {v.port} ssl;" in conf and "ssl on;" not in conf
        out.append(Check(h.name, f"{v.server_name}: TLS enabled on the listen line (E14)", f"listen {v.port} ssl",
                         "yes" if listen else "no", listen, "re-run 02 with apply=True to rewrite the vhost"))
    v = vhosts[0]
    found = [d for d in upstream_directives(files.get(v.path, ""), v.upstream.name) if d in ("ip_hash", "sticky")]
    want = [] if v.upstream.affinity == "" else [v.upstream.affinity]
    out.append(Check(h.name, f"{v.upstream.name} affinity (E15)", " ".join(want) or "(none)",
                     " ".join(found) or "(none)", found == want, "re-run 02 with apply=True"))
    return out


def verify_tls(run: Run) -> Checks:
    """Per host name: the key and certificate on the LB host, a verified TLS
    handshake through nginx from this machine (names, chain, expiry), the
    vhost answering; and the HTTPS vhosts' configuration."""
    if not _active(run):
        return Checks("02 TLS: nothing to verify here", [])
    h, ca = lb_host(run), ca_cert(run)
    checks = []
    anchors = truststore.anchors(run)
    cadata = "".join(a.pem.decode() for a in anchors if a.pem) or None
    for v in tls_vhosts(run.params):
        st = inspect_cert(h, run.params, v.server_name, ca)
        checks.append(Check(h.name, f"{v.server_name}: key and certificate",
                            f"{key_words(run.params.certificates.key_type)}, SAN {v.server_name}, key root 600",
                            "; ".join(st.problems) if st.problems else f"{st.describe(ca)}, key {st.key_owner_mode}",
                            not st.problems, "re-run 02 with apply=True to regenerate it"))
        hs = handshake(lb_address(run), v.port, v.server_name, cadata) if cadata else None
        checks.append(Check(h.name, f"{v.server_name}: TLS handshake through nginx", "verified for the name",
                            hs.text if hs else "(no certificate to trust yet)", bool(hs and hs.ok),
                            "re-run 02 with apply=True (it makes the certificate and reloads nginx)"))
        checks.append(answer_check(run, v, cadata))
    checks += config_checks(run, tls_vhosts(run.params)) + _e14_e15_checks(run, tls_vhosts(run.params))
    checks += log_checks(run, tls_vhosts(run.params))  # 002/004: the management vhost's own logs
    return Checks("02 certificates and HTTPS vhosts", checks)


def https_backends(run: Run) -> Backends:
    """Information: the workers' HTTPS and the manager's console ports, seen from the LB host."""
    return backend_reachability(run, ("https", "mgt"))
