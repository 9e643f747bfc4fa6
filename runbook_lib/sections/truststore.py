"""Section 02, last step: the load balancer's certificates in each node's
client-truststore.jks (document 004's `keytool -import`), so the nodes trust
the names they reach through nginx.

Only public certificates travel: read from the LB host (or, with a CA in the
params, the CA certificate from this machine) and fed to keytool on the node
host on stdin. The store password comes from the secret the params name and
reaches keytool through its environment (`-storepass:env`), never a command
line. An alias is imported only when absent or holding another certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..change import Change
from ..context import Run
from ..errors import RunbookError
from ..host import Host
from ..params import NodeView
from ..step import Check, Checks, Operation, Plan
from ..facts.tls import ca_cert, cert_paths, fingerprint, host_names, pem, split_pem

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


def listed_fingerprint(h: Host, store: str, alias: str, password: str) -> str | None:
    """SHA-256 of ALIAS in STORE (keytool -list), None when the alias is absent."""
    res = h.run(READ_PASS + "keytool -list -alias %s -keystore %s -storepass:env TSP", alias, store,
                stdin=f"{password}\n".encode())
    text = res.stdout + res.stderr
    if res.ok:
        m = re.search(r"\(SHA-256\):\s*([0-9A-F:]+)", text)
        return m.group(1) if m else ""
    if "does not exist" in text:
        return None
    if "password was incorrect" in text:
        raise RunbookError(f"{h.name}: {store}: the store password is wrong", fix="set the secret named in "
                           "certificates.truststore_password to the store's password (WSO2 ships wso2carbon)")
    if "not found" in text.lower() and "keytool" in text:
        raise RunbookError(f"{h.name}: keytool not found", fix=f"install a JDK on {h.name} or put keytool on PATH")
    raise RunbookError(f"{h.name}: keytool -list {store} failed: {text.strip()[-200:]}")


def _import_cmd(alias: str, store: str, label: str, secret: str) -> str:
    return (f"keytool -importcert -noprompt -trustcacerts -alias {alias} -keystore {store} -storepass:env TSP"
            f"  # stdin: the password (secret {secret}), then {label}")


def _store_op(run: Run, v: NodeView) -> Operation:
    h, store = run.host(v.host_name), store_path(v)
    c = run.params.certificates
    assert c is not None

    def fn(dry_run: bool) -> Change:
        target = f"{h.name}:{store}"
        if not h.run("test -f %s", store).ok:
            raise RunbookError(f"{target} does not exist", fix=f"check nodes.{v.name}.home in the params and that "
                               "the product is unpacked there")
        password = run.secret(c.truststore_password.secret)
        todo: list[tuple[Anchor, str | None]] = []
        for a in anchors(run):
            have = listed_fingerprint(h, store, a.alias, password)
            if a.pem is None or have != fingerprint(split_pem(a.pem)[0]):
                todo.append((a, have))
        if not todo:
            return Change(target, False, "already trusts " + ", ".join(f"{a.alias} ({a.label})" for a in anchors(run)))
        cmds = tuple(([f"keytool -delete -alias {a.alias} -keystore {store} -storepass:env TSP"] if have else [])
                     + [_import_cmd(a.alias, store, a.label, c.truststore_password.secret)] for a, have in todo)
        flat = tuple(x for group in cmds for x in group)
        words = ", ".join(f"{a.alias} ({a.label}{', replacing another certificate' if have else ''})"
                          for a, have in todo)
        if dry_run:
            pending = any(a.pem is None for a, _ in todo)
            note = " (once the certificates step has made them)" if pending else ""
            return Change(target, True, f"would import {words}{note}", commands=flat)
        if any(a.pem is None for a, _ in todo):
            raise RunbookError(f"{target}: a certificate is missing on the load balancer", fix="run the "
                               "certificates step of 02 with apply=True first")
        h.backup(store)
        for a, have in todo:
            if have is not None:
                h.check(READ_PASS + "keytool -delete -alias %s -keystore %s -storepass:env TSP", a.alias, store,
                        stdin=f"{password}\n".encode())
            h.check(READ_PASS + "keytool -importcert -noprompt -trustcacerts -alias %s -keystore %s "
                    "-storepass:env TSP", a.alias, store, stdin=f"{password}\n".encode() + (a.pem or b""))
            if listed_fingerprint(h, store, a.alias, password) != fingerprint(split_pem(a.pem or b"")[0]):
                raise RunbookError(f"{target}: {a.alias} does not hold the certificate after the import")
        return Change(target, True, f"imported {words} (backup {h.backups[store]})", commands=flat)
    return Operation(f"{v.host_name}:{store}", fn)


def plan_truststores(run: Run) -> Plan:
    """Each selected node's client-truststore.jks trusts the load balancer."""
    if run.params.certificates is None or run.params.load_balancer.kind != "nginx":
        return Plan("02 truststores: nothing to import (no nginx certificates in these params)", [])
    return Plan("02 client-truststore.jks on the nodes", [_store_op(run, v) for v in run.selected_nodes(NODE_ROLES)])


def verify_truststores(run: Run) -> Checks:
    """`keytool -list` on each node: each alias holds exactly the LB's certificate."""
    title = "02 client-truststore.jks on the nodes"
    c = run.params.certificates
    if c is None or run.params.load_balancer.kind != "nginx":
        return Checks(title + ": nothing to verify", [])
    password, found_anchors, checks = run.secret(c.truststore_password.secret), anchors(run), []
    for v in run.selected_nodes(NODE_ROLES):
        h, store = run.host(v.host_name), store_path(v)
        for a in found_anchors:
            want = fingerprint(split_pem(a.pem)[0]) if a.pem else None
            try:
                have = listed_fingerprint(h, store, a.alias, password)
                found = "(alias absent)" if have is None else "the same certificate" if have == want else \
                    "another certificate"
            except RunbookError as e:
                have, found = "", e.message[:80]
            checks.append(Check(h.name, f"{v.name}: {a.alias} in {STORE}", f"{a.label}", found,
                                want is not None and have == want,
                                "re-run 02 with apply=True (it imports the certificate with keytool)"))
    return Checks(title, checks)
