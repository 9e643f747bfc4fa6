"""Section 02, last step: the load balancer's certificates in each node's
client-truststore.jks (document 004's `keytool -import`), so the nodes trust
the names they reach through nginx.

Only public certificates travel: read from the LB host (or, with a CA in the
params, the CA certificate from this machine). A JKS store (what Carbon 4.x
ships) is read and rewritten here without a JVM (facts/jks.py: the same
trustedCertEntry `keytool -importcert` makes, every other entry kept byte for
byte, the integrity digest made with the store's password), written like any
other file (backup first, atomic rename) and read back: on a cluster of tens
of nodes a JVM per node was most of section 02. A store in another format is
merged by one `keytool -importkeystore` per node instead, the password reaching
keytool through its environment (`-storepass:env`), never a command line. An
alias is imported only when absent or holding another certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from ...core.change import Change
from ...core.context import Run
from ...core.errors import RunbookError
from ...core.step import Carried, Check, Checks, Operation, Plan
from ...facts.jks import WrongPassword, merge_trusted, read_jks, trusted_store
from ...facts.tls import ca_cert, cert_paths, fingerprint, host_names, pem, split_pem
from ...params import NodeView
from ...remote.host import Host
from ...run.changelog import record_remote
from ..shared.filestep import per_node

STORE = "client-truststore.jks"
NODE_ROLES = ("manager", "worker", "member")  # the nodes behind the load balancer
# The password arrives on stdin's first line; the certificate (if any) follows.
READ_PASS = "IFS= read -r TSP && export TSP && "


@dataclass(frozen=True)
class Anchor:
    alias: str
    label: str  # what it is, for people
    pem: bytes | None  # None: not made yet


def anchors(run: Run) -> list[Anchor]:
    """What the nodes must trust: the CA when the params give one, else each
    self-signed certificate (the cluster name under the params' alias, the
    management name under ALIAS-mgt)."""
    c = run.params.certificates
    if c is None or run.params.load_balancer.kind != "nginx":
        return []
    ca = ca_cert(run.params, run.params_file)
    if ca is not None:
        return [Anchor(c.truststore_alias, f"the CA {ca.subject.rfc4514_string()}", pem(ca))]
    lb = run.host(run.params.load_balancer.host or "")
    out = []
    for name, alias in zip(host_names(run.params), (c.truststore_alias, f"{c.truststore_alias}-mgt")):
        data = lb.read_file(cert_paths(run.params, name)[0], sudo=True)
        chain = split_pem(data) if data else []
        out.append(Anchor(alias, f"the certificate of {name}", pem(chain[0]) if chain else None))
    return out


def store_path(v: NodeView) -> str:
    return v.path(f"{v.layout.security}/{STORE}")


def _password_error(h: Host, store: str) -> RunbookError:
    return RunbookError(f"{h.name}: {store}: the store password is wrong", fix="set the secret named in "
                        "certificates.truststore_password to the store's password (WSO2 ships wso2carbon)")


def parse_listing(text: str) -> dict[str, str]:
    """alias -> SHA-256 from `keytool -list` (no -v): "alias, date, type," then the fingerprint line."""
    out, alias = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\S[^,]*), .*, \w+Entry,\s*$", line)
        if m:
            alias = m.group(1)
            continue
        m = re.search(r"\(SHA-256\):\s*([0-9A-F:]+)", line)
        if m and alias is not None:
            out[alias.lower()], alias = m.group(1), None
    return out


def _keytool_list(h: Host, store: str, password: str) -> dict[str, str]:
    """One `keytool -list` of the whole store (stores in a format other than JKS)."""
    res = h.run(READ_PASS + "keytool -list -keystore %s -storepass:env TSP", store, stdin=f"{password}\n".encode())
    text = res.stdout + res.stderr
    if res.ok:
        return parse_listing(res.stdout)
    if "password was incorrect" in text:
        raise _password_error(h, store)
    if "not found" in text.lower() and "keytool" in text:
        raise RunbookError(f"{h.name}: keytool not found", fix=f"install a JDK on {h.name} or put keytool on PATH")
    raise RunbookError(f"{h.name}: keytool -list {store} failed: {text.strip()[-200:]}")


def read_store(h: Host, store: str, password: str) -> tuple[bytes, dict[str, str]] | None:
    """The store's bytes and every alias with its certificate's SHA-256, read
    once: the bytes parsed here (JKS, no JVM; integrity checked with the
    password), else one `keytool -list`. None when the store does not exist."""
    data = h.read_file(store)
    if data is None:
        return None
    try:
        entries = read_jks(data, password)
    except WrongPassword:
        raise _password_error(h, store) from None
    return data, entries if entries is not None else _keytool_list(h, store, password)


def store_entries(h: Host, store: str, password: str) -> dict[str, str] | None:
    """Every alias of STORE and its certificate's SHA-256 (None: no store)."""
    found = read_store(h, store, password)
    return None if found is None else found[1]


def listed_fingerprint(h: Host, store: str, alias: str, password: str) -> str | None:
    """SHA-256 of ALIAS in STORE, None when the alias is absent."""
    entries = store_entries(h, store, password)
    if entries is None:
        raise RunbookError(f"{h.name}:{store} does not exist")
    return entries.get(alias.lower())


def import_path(store: str) -> str:
    """The temporary store the certificates travel in: next to the node's store
    (same owner and folder), removed by the import command itself."""
    return f"{store}.runbook-import"


def _import_cmd(store: str, words: str, secret: str) -> str:
    return (f"keytool -importkeystore -noprompt -srckeystore {import_path(store)} -srcstoretype JKS "
            f"-srcstorepass:env TSP -destkeystore {store} -deststorepass:env TSP; rm -f {import_path(store)}"
            f"  # stdin: the password (secret {secret}); {import_path(store)} holds only {words}")


class _Anchors:
    """The anchors, read once per preview/apply (Plan.before) for every node's operation."""

    def __init__(self, run: Run) -> None:
        self.run, self.value = run, None  # type: list[Anchor] | None

    def refresh(self) -> None:
        self.value = anchors(self.run)

    def get(self) -> list[Anchor]:
        if self.value is None:
            self.refresh()
        return self.value  # type: ignore[return-value]


def _keytool_import(h: Host, store: str, password: str, ders: list[tuple[str, bytes]]) -> None:
    """A store this module does not write (PKCS12...): the certificates in a small
    JKS store of their own, merged with one `keytool -importkeystore` (one JVM)."""
    h.backup(store)  # the store before this run's first change (kept across notebooks)
    with h.sftp.open(import_path(store), "wb") as f:
        f.chmod(0o600)
        f.write(trusted_store(ders, password))
    h.check(READ_PASS + "keytool -importkeystore -noprompt -srckeystore %s -srcstoretype JKS -srcstorepass:env TSP "
            "-destkeystore %s -deststorepass:env TSP; rc=$?; rm -f %s; exit $rc", import_path(store), store,
            import_path(store), stdin=f"{password}\n".encode())
    record_remote(h, store, existed=True, backup=h.backups[store])  # for `runbook rollback`


def _store_op(run: Run, v: NodeView, found: _Anchors) -> Operation:
    h, store = run.host(v.host_name), store_path(v)
    c = run.params.certificates
    assert c is not None

    read = Carried(lambda: read_store(h, store, run.secret(c.truststore_password.secret)))

    def fn(dry_run: bool) -> Change:
        target = f"{h.name}:{store}"
        password = run.secret(c.truststore_password.secret)
        found_store = read.get(dry_run)
        if found_store is None:
            raise RunbookError(f"{target} does not exist", fix=f"check nodes.{v.name}.home in the params and that "
                               "the product is unpacked there")
        data, entries = found_store
        wanted = found.get()
        todo: list[tuple[Anchor, str | None]] = []
        for a in wanted:
            have = entries.get(a.alias.lower())
            if a.pem is None or have != fingerprint(split_pem(a.pem)[0]):
                todo.append((a, have))
        if not todo:
            return Change(target, False, "already trusts " + ", ".join(f"{a.alias} ({a.label})" for a in wanted))
        words = ", ".join(f"{a.alias} ({a.label}{', replacing another certificate' if have else ''})"
                          for a, have in todo)
        ready = all(a.pem is not None for a, _ in todo)
        ders = [(a.alias, split_pem(a.pem or b"")[0].public_bytes(serialization.Encoding.DER)) for a, _ in todo
                if a.pem is not None]
        merged = merge_trusted(data, password, ders)  # None: not a JKS store this module writes
        # a JKS store is rewritten here (no JVM, no command); another format is merged by keytool
        flat = () if merged is not None else (_import_cmd(store, ", ".join(f"{a.alias} ({a.label})" for a, _ in todo),
                                                          c.truststore_password.secret),)
        if dry_run:
            note = "" if ready else " (once the certificates step has made them)"
            return Change(target, True, f"would import {words}{note}", commands=flat)
        if not ready:
            raise RunbookError(f"{target}: a certificate is missing on the load balancer", fix="run the "
                               "certificates step of 02 with apply=True first")
        if merged is not None:
            h.write_file(store, merged)  # backup first (once per run), atomic, owner and mode kept, recorded
        else:
            _keytool_import(h, store, password, ders)
        after = store_entries(h, store, password) or {}
        for a, _ in todo:
            if after.get(a.alias.lower()) != fingerprint(split_pem(a.pem or b"")[0]):
                raise RunbookError(f"{target}: {a.alias} does not hold the certificate after the import")
        return Change(target, True, f"imported {words} (backup {h.backups[store]})", commands=flat)
    return Operation(f"{v.host_name}:{store}", fn, v.host_name, path=store)


def plan_truststores(run: Run) -> Plan:
    """Each selected node's client-truststore.jks trusts the load balancer."""
    if run.params.certificates is None or run.params.load_balancer.kind != "nginx":
        return Plan("02 truststores: nothing to import (no nginx certificates in these params)", [])
    found = _Anchors(run)  # the LB's certificates, read once per preview/apply for all the nodes
    return Plan("02 client-truststore.jks on the nodes",
                [_store_op(run, v, found) for v in run.selected_nodes(NODE_ROLES)], before=found.refresh)


def verify_truststores(run: Run) -> Checks:
    """`keytool -list` on each node: each alias holds exactly the LB's certificate."""
    title = "02 client-truststore.jks on the nodes"
    c = run.params.certificates
    if c is None or run.params.load_balancer.kind != "nginx":
        return Checks(title + ": nothing to verify", [])
    password, found_anchors = run.secret(c.truststore_password.secret), anchors(run)

    def one(v: NodeView) -> list[Check]:  # the store read once per node, every alias checked from it
        h, store = run.host(v.host_name), store_path(v)
        try:
            entries, error = store_entries(h, store, password), ""
        except RunbookError as e:
            entries, error = {}, e.message[:80]
        out = []
        for a in found_anchors:
            want = fingerprint(split_pem(a.pem)[0]) if a.pem else None
            have = (entries or {}).get(a.alias.lower())
            found = error or ("(store missing)" if entries is None else "(alias absent)" if have is None else
                              "the same certificate" if have == want else "another certificate")
            out.append(Check(h.name, f"{v.name}: {a.alias} in {STORE}", f"{a.label}", found,
                             not error and want is not None and have == want,
                             "re-run 02 with apply=True (it imports the certificate with keytool)"))
        return out
    return Checks(title, per_node(run.selected_nodes(NODE_ROLES), one, title))
