"""Secrets by name: looked up in the environment, then in the secrets file.

Values never enter a notebook, a log or a run record: ``mask_text`` replaces
every resolved value with ``***(fingerprint)`` in text that is about to be
shown, and every password at a known location whatever its value (redact.py).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..core import redact, valuemask
from ..core.errors import ParamsError, Problem


def read_secrets_file(path: str | Path) -> dict[str, str]:
    """NAME=value lines; '#' comments and blank lines ignored."""
    out: dict[str, str] = {}
    p = Path(path)
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out[key.strip()] = value.strip()
    return out


# Every secret value resolved in this process; all output passes mask_text().
_RESOLVED = valuemask.ValueSet()
# WSO2's published default passwords are not secret, and masking them would
# also hide the many shipped names that equal them (keystore aliases, the
# `wso2carbon` user). They are reported instead, so an operator changes them.
PUBLISHED_DEFAULTS = {"wso2carbon", "admin"}


def mask_text(text: str) -> str:
    """Replace every secret value resolved so far, and every value at a secret
    location (redact.py), with ***(fingerprint)."""
    return _masked(text, _RESOLVED.version, redact._SEEN.version)


def mask_known(text: str) -> str:
    """Only the values known so far (resolved, or seen at a secret location), masked wherever
    they appear: the last pass over a whole made of parts that each went through mask_text
    (a value one part revealed may stand unrecognised in another), without the location
    rules' regular expressions over the whole again."""
    return valuemask.mask_values(valuemask.mask_values(text, _RESOLVED), redact._SEEN)


@functools.lru_cache(maxsize=4096)
def _masked(text: str, _resolved: int, _seen: int) -> str:
    """mask_text's work, kept while no secret value is added: a plan's diffs are masked for
    the text, the HTML and the run record of the same cell."""
    return redact.redact_text(valuemask.mask_values(text, _RESOLVED))


class Secrets:
    """Resolves secret names; remembers values so output can be masked."""

    def __init__(self, secrets_file: str | Path | None = None, env: dict[str, str] | None = None) -> None:
        self.file = os.environ.get("RUNBOOK_SECRETS_FILE") or secrets_file
        self._env = dict(os.environ if env is None else env)
        self._file_values = read_secrets_file(self.file) if self.file else {}
        self.published_defaults: set[str] = set()  # secret names whose value is a vendor default

    def get(self, name: str) -> str:
        value = self._env.get(name) or self._file_values.get(name)
        if not value:
            where = f"the secrets file {self.file}" if self.file else "a secrets file (secrets_file: in the params)"
            raise ParamsError([Problem(str(self.file or "(environment)"), name, "secret not set",
                                       f"export {name}=... or add `{name}=...` to {where}")])
        if value in PUBLISHED_DEFAULTS:
            self.published_defaults.add(name)
        else:
            _RESOLVED.add(value)
        return value

    @staticmethod
    def mask(text: str) -> str:
        return mask_text(text)
