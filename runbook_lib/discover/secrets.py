"""The secrets the params need: each by name, where the nodes hold it (in
clear or under Secure Vault), and, with --secrets-out, the clear values
added to a 0600 file outside the repository (entries already there kept).
No value is ever printed or written into the params file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.context import ROOT
from ..params.secrets import read_secrets_file
from .assemble import SECRET_NAMES, Facts
from .found import Problem
from .vault import KEYSTORE_SECRET, given, vaulted


@dataclass
class Secret:
    name: str
    where: str  # host:file:line of the first node holding it, or how it was given
    state: str  # "in clear", "under Secure Vault (alias X)", "given", "not found"
    value: str | None = None  # never shown

    def line(self) -> str:
        return f"{self.name:<22} {self.state:<34} {self.where}"


def _vaulted(el_attrib: dict) -> str:
    return next((v for k, v in el_attrib.items() if k.endswith("secretAlias")), "")


def _held(name: str, alias: str, secrets_file: str | None) -> tuple[str, str | None]:
    """(state, value) of a secret under Secure Vault: never read from the nodes; the value
    the operator gives by NAME, when given (04 proves it against the cipher text)."""
    value = given(name, secrets_file)
    return (f"under Secure Vault (alias {alias}), " + ("value given" if value else f"not read: give {name}"), value)


def collect(facts: Facts, admin_secret: str, admin_value: str | None, secrets_file: str | None = None) -> list[Secret]:
    out: list[Secret] = [Secret(admin_secret, "--db-admin-secret", "given" if admin_value else "not found",
                                admin_value)]
    vault = vaulted(facts)
    if vault is not None:
        value = given(KEYSTORE_SECRET, secrets_file)
        out.append(Secret(KEYSTORE_SECRET, vault.where(), "given (the vault's keystore)" if value else
                          f"not found: give {KEYSTORE_SECRET} (the vault's keystore)", value))
    app = None
    for f in facts.nodes.values():
        for d in f.datasources():
            # the embedded H2 datasource (shipped wso2carbon/wso2carbon) is not the app user's
            if (d.password.value or d.vault_alias) and not d.url.value.startswith("jdbc:h2:"):
                app = app or d
    if app is not None:
        state, value = _held(SECRET_NAMES["app"], app.vault_alias, secrets_file) if app.vault_alias else \
            ("in clear", app.password.value)
        out.append(Secret(SECRET_NAMES["app"], app.password.where(), state, value))
    for key, xpath in (("svn", "/c:Server/c:DeploymentSynchronizer/c:SvnPassword"),
                       ("truststore", "/c:Server/c:Security/c:TrustStore/c:Password")):
        for f in facts.nodes.values():
            els = f.files["carbon"].elements(xpath)
            if key == "svn" and (f.depsync("Enabled") is None or f.depsync("Enabled").value != "true"):
                continue  # a synchronizer left off as shipped: the params need no SVN password
            if els:
                alias = _vaulted(dict(els[0].attrib))
                found = f.files["carbon"].one(xpath)
                state, value = _held(SECRET_NAMES[key], alias, secrets_file) if alias else \
                    ("in clear", found.value if found else None)
                out.append(Secret(SECRET_NAMES[key], found.where() if found else "", state, value))
                break
    return out


def write_secrets_out(path: str, secrets: list[Secret], problems: list[Problem]) -> list[str]:
    """Add the values found to PATH (0600, created if absent); return the names added."""
    p = Path(path).resolve()
    if ROOT.resolve() in p.parents:
        problems.append(Problem(f"--secrets-out {path}", "is inside the repository",
                                "give a path outside the project, e.g. ~/.config/wso2/secrets.env"))
        return []
    existing = read_secrets_file(p) if p.exists() else {}
    add = [s for s in secrets if s.value and s.name not in existing]
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        text = "".join(f"{s.name}={s.value}\n" for s in add)
        if add and not existing and p.stat().st_size == 0:
            text = "# Secrets of a cluster adopted by `runbook discover`. Never commit.\n" + text
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return [s.name for s in add]
