"""04 and 07: secrets at rest on each node (issue 19).

With `securevault.enabled` every secret the runbook writes on a node is left
as `ciphertool.sh -Dconfigure` (cipher-tool 1.0.0-wso2v3, the version EI 6.1.1
pins) would leave it: the element says `password` and names its
`svns:secretAlias`, the root declares `xmlns:svns`, and the profile's
conf/security holds cipher-text.properties (Base64 RSA cipher text, encrypted
here in Python with the node's keystore certificate: no JVM, no password on a
command line), cipher-tool.properties and secret-conf.properties. Datasource
passwords and carbon.xml's SvnPassword get their marks from datasources.py and
clustering.py; the keystore, truststore, admin and connector passwords (and
the broker's SSL stores) from here. Always, vault or not: every file holding a
secret or a cipher text, and the keystores, 0600 (modes.py).
"""

from __future__ import annotations

import posixpath

from ...configedit import read_properties
from ...core.context import Run
from ...core.step import Check, Checks, Operation, Plan
from ...params import NodeView
from .datasources import BROKERS, DS_ROLES, node_datasources, section
from ..securevault import aliases
from ..securevault.aliases import Secured, value
from ..securevault.crypto import decrypt
from ..securevault.keystore import node_key
from ..securevault.modes import mode_checks, modes_op
from ..securevault.vaultfiles import (CIPHER_TEXT, CIPHER_TOOL, SECRET_CONF, cipher_text_op, cipher_tool,
                                     secret_conf, security_dir, whole_file_op)
from ..securevault.xmlns import ALIAS_ATTR, PLACEHOLDER, SVNS, DeclareSvns, secured
from ..shared.filestep import FileStep, Want, per_node
from ..shared.namespaces import CARBON_NS

XML_KEYS = ("carbon", "user_mgt", "catalina", "broker")


def node_secrets(run: Run, v: NodeView) -> list[Secured]:
    names = [ds.name for ds in node_datasources(run, v)] if run.params.database else []
    return aliases.node_secrets(run, v, names)


def _ns(key: str) -> dict[str, str]:
    return {**(CARBON_NS if key == "carbon" else {}), "svns": SVNS}


def _xml_step(key: str) -> FileStep:
    """The file KEY's secrets that this package writes: `password` and the alias."""
    def wanted(run: Run, v: NodeView, data: bytes) -> tuple[list, list[Want]]:
        mine = [s for s in node_secrets(run, v) if s.ours and s.key == key]
        edits: list = [DeclareSvns()] if mine else []
        wants: list[Want] = []
        for s in mine:
            edits += secured(s.xpath, s.alias, s.attr)
            where = f"{s.xpath}/@{s.attr}" if s.attr else s.xpath
            wants += [Want(f"{s.alias}", where, [PLACEHOLDER]),
                      Want(f"{s.alias} secretAlias", f"{s.xpath}/@{ALIAS_ATTR}", [s.alias])]
        return edits, wants
    return FileStep(key, "xml", wanted, DS_ROLES + BROKERS, _ns(key), fix="re-run this notebook with apply=True")


XML_STEPS = {k: _xml_step(k) for k in XML_KEYS}


def _nodes(run: Run, roles: tuple[str, ...]) -> list[NodeView]:
    return run.selected_nodes(roles)


def node_ops(run: Run, v: NodeView) -> list[Operation]:
    """One node's operations, in order: the cipher texts first (the admin's password is
    read from user-mgt.xml before its element is secured), then the XML, then the modes."""
    ops: list[Operation] = []
    if run.params.securevault.enabled:
        node_key(run, v)  # a wrong keystore password stops the plan here, before anything is written
        secrets = node_secrets(run, v)
        ops += [cipher_text_op(run, v, secrets),
                whole_file_op(run, v, CIPHER_TOOL, lambda: cipher_tool(v, secrets)),
                whole_file_op(run, v, SECRET_CONF, lambda: secret_conf(run, v))]
        ops += [XML_STEPS[k].operation(run, v) for k in XML_KEYS if k in v.spec.files]
    ops.append(modes_op(run, v))
    return ops


def plan(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Plan:
    """Secure Vault (when on) and the modes of the secret files on each node."""
    nodes = _nodes(run, roles)
    per_node(nodes, lambda v: [node_key(run, v)] if run.params.securevault.enabled else [])  # every keystore first
    return Plan(f"{section(roles)} secrets at rest", [op for v in nodes for op in node_ops(run, v)])


def _cipher_checks(run: Run, v: NodeView) -> list[Check]:
    """Each alias's cipher text decrypts, with the node's key, to the intended secret (never shown)."""
    h, key = run.host(v.host_name), node_key(run, v)
    data = h.read_file(posixpath.join(security_dir(v), CIPHER_TEXT))
    found = read_properties(data) if data else {}
    out = []
    for s in node_secrets(run, v):
        want, text = value(run, s), found.get(s.alias)
        plain = decrypt(key.key_der, text, run.params.securevault.padding) if text else None
        ok = plain is not None and (want is None or plain == want)
        got = "(absent)" if text is None else "(not decryptable)" if plain is None else \
            "the intended secret" if ok else "another value"
        out.append(Check(v.host_name, f"{v.name}: cipher text {s.alias}", "the intended secret", got, ok,
                         "re-run this notebook with apply=True (it encrypts the secret again)"))
    return out


def verify(run: Run, roles: tuple[str, ...] = DS_ROLES) -> Checks:
    """The marks in every XML file, each cipher text decrypted, the modes."""
    def one(v: NodeView) -> list[Check]:
        out: list[Check] = []
        if run.params.securevault.enabled:
            cipher_text = posixpath.join(security_dir(v), CIPHER_TEXT)
            with run.host(v.host_name).prefetched([v.file(k) for k in XML_KEYS if k in v.spec.files] + [cipher_text]):
                for k in XML_KEYS:
                    if k in v.spec.files:
                        out += XML_STEPS[k].checks(run, v)
                out += _cipher_checks(run, v)
        return out + mode_checks(run, v)
    return Checks(f"{section(roles)} secrets at rest", per_node(_nodes(run, roles), one))
