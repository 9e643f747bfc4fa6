"""Each node's primary keystore, opened with the password the params name.

cipher-tool encrypts with the certificate of the key entry that carbon.xml's
KeyStore/KeyAlias names (cipher-standalone-config.properties in EI 6.1.1:
primary.key.location=repository/resources/security/wso2carbon.jks, relative
to the profile's home); the runbook opens the same store over SFTP, with no
JVM (facts/jks.py), and keeps the key only in memory for the run, to decide
whether a cipher text on the node still holds the intended secret.
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass

from ...core.context import Run
from ...core.errors import RunbookError
from ...facts.jks import WrongKeyPassword, WrongPassword, key_entry
from ...params import NodeView

STORE = "wso2carbon.jks"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class NodeKey:
    path: str  # the keystore on the node
    rel: str  # as secret-conf.properties names it: relative to the profile's home
    key_der: bytes  # PKCS#8, in memory only
    cert_der: bytes


def store_rel(v: NodeView) -> str:
    """The keystore relative to the profile's CARBON_HOME (repository/resources/security/wso2carbon.jks)."""
    return posixpath.relpath(posixpath.join(v.spec.security_dir, STORE), v.spec.carbon_home)


def store_path(v: NodeView) -> str:
    return v.path(posixpath.join(v.spec.security_dir, STORE))


def node_key(run: Run, v: NodeView) -> NodeKey:
    """The node's key and certificate; a wrong password, a missing store or a
    missing key entry stops with what to fix, before anything is written."""
    cache = run.__dict__.setdefault("_securevault_keys", {})
    path, sv = store_path(v), run.params.securevault
    with _LOCK:
        if (v.host_name, path) in cache:
            return cache[(v.host_name, path)]
    data = run.host(v.host_name).read_file(path)
    where = f"{v.host_name}:{path}"
    if data is None:
        raise RunbookError(f"Secure Vault: {where} does not exist (node {v.name})",
                           fix="put the node's primary keystore there (WSO2 ships wso2carbon.jks), or set "
                               "securevault.enabled: false")
    password = run.secret(sv.keystore_password.secret)  # type: ignore[union-attr]
    key_password = run.secret(sv.key_password.secret) if sv.key_password else None
    try:
        found = key_entry(data, password, sv.alias, key_password)
    except WrongKeyPassword:  # the store opened: its key entry has a password of its own
        named = f"the secret {sv.key_password.secret} (securevault.key_password)" if sv.key_password else \
            "the keystore password (securevault.key_password is not set)"
        raise RunbookError(f"Secure Vault: the key password is wrong for the key entry {sv.alias!r} of {where} "
                           f"(node {v.name}): it does not open with {named}; nothing was written",
                           fix="set securevault.key_password to a secret holding the key entry's own password "
                               "(carbon.xml KeyStore/KeyPassword); the nodes then start with -Dkey.password=true "
                               "and a two-line password-tmp, as Carbon reads them") from None
    except WrongPassword:
        raise RunbookError(f"Secure Vault: the keystore password is wrong for {where} (node {v.name}): "
                           "the store's integrity check fails with it; nothing was written",
                           fix=f"set the secret {sv.keystore_password.secret} (securevault.keystore_password) "  # type: ignore[union-attr]
                               "to the store's password (and securevault.key_password to its key's, if "
                               "they differ)") from None
    except (ValueError, IndexError) as e:
        raise RunbookError(f"Secure Vault: cannot read the key entry {sv.alias!r} of {where}: {e}",
                           fix="check securevault.alias against `keytool -list` of the store") from None
    if found is None:
        raise RunbookError(f"Secure Vault: {where} is not a JKS store with a key entry {sv.alias!r}",
                           fix="set securevault.alias to the store's key entry (carbon.xml KeyStore/KeyAlias); "
                               "only JKS stores are read without a JVM")
    key = NodeKey(path, store_rel(v), *found)
    with _LOCK:
        cache[(v.host_name, path)] = key
    return key
