"""A run: validated params, secrets, and lazily connected hosts, shared by the
cells of one notebook. ``open_run`` is the first call in every notebook."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..params import NodeView, Params, Secrets, load_params, node_views
from ..params.derive import db_address
from ..remote import fanout
from ..remote.db import Db
from ..remote.host import Host, run_id_now
from ..remote.inventory import hosts_from_params
from ..remote.tunnel import Tunnel
from .change import Change
from .errors import ParamsError, Problem
from .recorder import Recorder


ROOT = Path(__file__).resolve().parents[2]  # the project: runbook_lib/core/ -> ../..


def resolve_params_path(path: str | Path) -> Path:
    """As given, else relative to the project root (a notebook's kernel runs
    in notebooks/, papermill's in the directory it was started from)."""
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    alt = ROOT / p
    return alt if alt.exists() else p


def _split(filter_: str | list[str] | None) -> list[str] | None:
    if not filter_:
        return None
    if isinstance(filter_, str):
        filter_ = [x.strip() for x in filter_.split(",")]
    return [x for x in filter_ if x] or None


@dataclass
class Run:
    params: Params
    params_file: Path
    apply: bool
    only: list[str] | None
    secrets: Secrets
    warnings: list[Problem]
    run_id: str
    hosts: dict[str, Host] = field(default_factory=dict)
    tunnels: list[Tunnel] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)  # hosts with changes shown but not applied
    recorder: Recorder = field(default_factory=Recorder)  # the run record (recorder.py); none outside the runner

    @cached_property
    def views(self) -> dict[str, NodeView]:
        """Derived once per run: the params are frozen, and this is read in loops."""
        return node_views(self.params)

    def selected_nodes(self, roles: tuple[str, ...] | None = None) -> list[NodeView]:
        """Nodes in params order, filtered by role and by the host/node filter."""
        out = []
        for name, v in self.views.items():
            if roles and v.node.role not in roles:
                continue
            if self.only and name not in self.only and v.host_name not in self.only:
                continue
            out.append(v)
        return out

    def selected_hosts(self) -> dict[str, Host]:
        if not self.only:
            return self.hosts
        keep = set(self.only) | {v.host_name for v in self.selected_nodes()}
        return {n: h for n, h in self.hosts.items() if n in keep}

    def note_pending(self, changes: list[Change]) -> None:
        """A plan-only run left these changes unapplied (see cells.verify)."""
        self.pending.update(c.host for c in changes if c.host)

    def pending_hosts(self) -> set[str]:
        """Hosts with changes not applied in this run: this notebook's plans,
        and, in a headless run, those of the sections before it (the run record)."""
        return self.pending | self.recorder.unapplied_hosts()

    def host(self, name: str) -> Host:
        return self.hosts[name]

    def secret(self, name: str) -> str:
        return self.secrets.get(name)

    def db_connect(self, user: str, password: str, database: str | None = None) -> Db:
        """A connection to the cluster's database server: direct, or through an
        SSH tunnel via ``database.tunnel_via`` when the server is reachable
        only from inside the cluster's network."""
        d = self.params.database
        if d is None:
            raise ParamsError([Problem(str(self.params_file), "database", "no database section",
                                       "add database: to the params")])
        address, tunnel = db_address(self.params), None
        if d.tunnel_via:
            tunnel = Tunnel(self.host(d.tunnel_via), address, d.port).check()
            self.tunnels.append(tunnel)
        return Db.connect(address, d.port, user, password, database=database, tunnel=tunnel)

    def close(self) -> None:
        for t in self.tunnels:
            t.close()
        for h in self.hosts.values():
            h.close()

    @property
    def shown_path(self) -> str:
        """The params path as shown: relative to the project when inside it,
        so recorded outputs do not depend on where the clone lives."""
        try:
            return str(self.params_file.resolve().relative_to(ROOT))
        except ValueError:
            return str(self.params_file)

    def summary(self) -> str:
        p = self.params
        lines = [f"params {self.shown_path}: valid ({p.name}: {p.product.dist}, {len(p.hosts)} hosts, "
                 f"{len(p.nodes)} nodes)", f"apply={self.apply}" + (f", only {self.only}" if self.only else "")]
        lines += [f"warning: {w.field}: {w.message}. Fix: {w.fix}" for w in self.warnings]
        lines += [f"warning: secret {name} is WSO2's published default, so it is shown, not masked. "
                  "Fix: change it in production" for name in sorted(self.secrets.published_defaults)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def open_run(params_file: str | Path, apply: bool = False, hosts: str | list[str] | None = None,
             run_id: str | None = None) -> Run:
    """Validate the params (raising ParamsError with every problem) and set up hosts."""
    path = resolve_params_path(params_file)
    warnings: list[Problem] = []
    p = load_params(path, warnings=warnings)
    only = _split(hosts)
    known = set(p.hosts) | set(p.nodes)
    unknown = [x for x in only or [] if x not in known]
    if unknown:
        raise ParamsError([Problem("(notebook parameter)", "hosts", f"unknown host or node {unknown}",
                                   f"use names from {sorted(known)}, comma-separated, or leave it empty")])
    run_id = run_id or os.environ.get("RUNBOOK_RUN_ID") or run_id_now()
    secrets_file = p.secrets_file and (path.parent / p.secrets_file)  # relative to the params file
    secrets = Secrets(secrets_file)
    fanout.configure(p.ssh.parallel)
    return Run(p, path, bool(apply), only, secrets, warnings, run_id, hosts_from_params(p, run_id),
               recorder=Recorder.from_env())
