"""The problems the cross-section rules find (checks.py, checks_services.py),
and the small helpers every rule uses."""

from __future__ import annotations

from ..core.errors import Problem
from .model import Params


class Report:
    """The problems found so far, and the small helpers every rule uses."""

    def __init__(self, p: Params, file: str) -> None:
        self.p, self.file, self.out = p, file, []  # type: ignore[var-annotated]

    def err(self, field: str, message: str, fix: str) -> None:
        self.out.append(Problem(self.file, field, message, fix))

    def warn(self, field: str, message: str, fix: str) -> None:
        self.out.append(Problem(self.file, field, message, fix, level="warning"))

    def host_ref(self, field: str, name: str | None, role: str | None = None) -> None:
        p = self.p
        if name is None:
            return
        if name not in p.hosts:
            self.err(field, f"no host named `{name}`", f"use one of {sorted(p.hosts)} or add it under hosts:")
        elif role and role not in p.hosts[name].roles:
            self.err(field, f"host `{name}` does not have the role `{role}`",
                     f"add `{role}` to hosts.{name}.roles")
