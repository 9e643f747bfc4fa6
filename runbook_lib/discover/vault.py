"""A cluster under Secure Vault, adopted (issue 20): its secrets are elements
that say `password` and name an `svns:secretAlias`, their cipher texts in
cipher-text.properties. Discover never decrypts them: it reports each as held
under the vault, writes `securevault: {enabled: true}` with the keystore's
password by name, and takes each vault-held value (and the keystore's) from the
secrets the operator gives (--secrets-file or the environment), by the name the
params use, so the round trip can prove the cipher texts (04 compares them by
decryption, sections/securevault/)."""

from __future__ import annotations

import os

from ..params.secrets import read_secrets_file
from .assemble import Facts
from .found import Found

KEYSTORE_SECRET = "KEYSTORE_PASSWORD"
CARBON_SECRETS = ("/c:Server/c:DeploymentSynchronizer/c:SvnPassword", "/c:Server/c:Security/c:TrustStore/c:Password",
                  "/c:Server/c:Security/c:KeyStore/c:Password")


def _alias(el) -> str:  # noqa: ANN001 - lxml element
    return next((v for k, v in el.attrib.items() if k.endswith("secretAlias")), "")


def vaulted(facts: Facts) -> Found | None:
    """Where a node first holds a secret under the vault (None: no secret is)."""
    for f in facts.nodes.values():
        for d in f.datasources():
            if d.vault_alias:
                return Found(True, d.password.host, d.password.file, d.password.line,
                             why=f"svns:secretAlias {d.vault_alias}")
        for xp in CARBON_SECRETS:
            els = f.files["carbon"].elements(xp) if f.files["carbon"].ok else []
            if els and _alias(els[0]):
                found = f.files["carbon"].one(xp)
                return Found(True, found.host if found else f.home.host, found.file if found else "",
                             found.line if found else None, why=f"svns:secretAlias {_alias(els[0])}")
    return None


def securevault_section(facts: Facts) -> dict | None:
    on = vaulted(facts)
    if on is None:
        return None
    out: dict = {"enabled": on, "keystore_password": {"secret": Found(KEYSTORE_SECRET, why="the primary keystore's "
                                                                         "password (never read from the nodes)")}}
    alias = next((f.carbon("c:Security/c:KeyStore/c:KeyAlias") for f in facts.nodes.values()
                  if f.files["carbon"].ok and f.carbon("c:Security/c:KeyStore/c:KeyAlias")), None)
    if alias is not None and alias.value and alias.value != "wso2carbon":
        out["alias"] = alias
    return out


def given(name: str, secrets_file: str | None) -> str | None:
    """NAME's value as the operator gives it: the environment, then --secrets-file."""
    if os.environ.get(name):
        return os.environ[name]
    return read_secrets_file(secrets_file).get(name) if secrets_file else None
