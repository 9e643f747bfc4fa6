"""One shape for every step that edits a node's configuration file.

A ``FileStep`` names a file of the node's product spec (``axis2``,
``carbon``, ``lbconf``...), its format, the node roles it applies to, and a
``wanted(run, node, data)`` function that returns, from the file's current
bytes, both the edits to make and the values to verify (``Want``: what,
where, expected values). One read of the file serves the plan and the apply
that follows it (edits computed and applied on the same bytes: what was
shown is what is written), one read after the write serves the checks, so
what is verified is exactly what was written.

Per-host work stays independent: ``operation`` and ``checks`` touch one node's
host only, and ``per_node`` is the one place that walks the nodes, so a
bounded fan-out can replace it later without touching the steps.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence, TypeVar

from ...remote import fanout
from ...core.change import Change
from ...configedit import get_values, read_lbconf, read_properties
from ...core.context import Run
from ...core.errors import ConfigEditError
from ...operations.files import Kind, edit_data, ensure_hosts_entries
from ...params import NodeView
from ...core.step import Carried, Check, Operation

T = TypeVar("T")


Reader = Callable[[bytes], list[str]]


class Want(NamedTuple):
    """A value the file must hold: what it is, where (an XPath, a block path
    in loadbalancer.conf, or a reader of the file's bytes for a value that
    combines several places), and the expected values (empty: absent)."""

    what: str
    where: str | tuple[str, ...] | Reader
    values: list[str]


Wanted = tuple[list, list[Want]]
WantedFn = Callable[[Run, NodeView, bytes], Wanted]
ExpectedFn = Callable[[Run, NodeView, bytes], list[Want]]


def _lbvalue(tree: dict, path: tuple[str, ...]) -> str | None:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree if isinstance(tree, str) else "(a block)"


def read_values(kind: Kind, data: bytes, where: str | tuple[str, ...] | Reader, namespaces: dict[str, str] | None,
                name: str) -> list[str]:
    """The values at WHERE in DATA, as the checks compare them."""
    if callable(where):
        return where(data)
    if kind == "lbconf":
        found = _lbvalue(read_lbconf(data), where)  # type: ignore[arg-type]
        return [found] if found is not None else []
    if kind == "properties":  # WHERE is the key; a repeated key counts as Java reads it (the last)
        props = read_properties(data)
        return [props[where]] if where in props else []  # type: ignore[index]
    return get_values(data, where, namespaces, name=name)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FileStep:
    key: str  # the product spec's file key (products.py ProductSpec.files)
    kind: Kind
    wanted: WantedFn
    roles: tuple[str, ...]
    namespaces: dict[str, str] | None = None
    empty: str = "(none)"  # how an absent value is shown
    fix: str = "set it in {path}: re-run this notebook with apply=True"  # {path}, {where}
    missing_fix: str = "check nodes.{node}.home in the params and that the product is unpacked there"
    sudo: bool = False
    named: bool = True  # each check's name starts with the file's (False: the Want's WHAT names it)
    # the values to verify, when they need less than the edits do (04's datasources: not the jar's driver class)
    expected: ExpectedFn | None = None

    def rel(self, v: NodeView) -> str:
        return v.spec.files[self.key].rel

    def label(self, v: NodeView) -> str:
        return posixpath.basename(self.rel(v))

    def applies_to(self, v: NodeView) -> bool:
        return v.node.role in self.roles and self.key in v.spec.files

    def operation(self, run: Run, v: NodeView) -> Operation:
        """The Plan operation: read the file once, compute the edits from those
        bytes, apply them to the same bytes (dry run: everything but the write).
        The bytes the preview read are carried to the apply that follows it, so
        what is written is exactly the plan shown, and the file is not fetched
        again; an apply with no preview before it reads the file itself."""
        h, path = run.host(v.host_name), v.file(self.key)
        read = Carried(lambda: h.read_file(path, sudo=self.sudo))

        def fn(dry_run: bool) -> Change:
            data = read.get(dry_run)
            if data is None:
                raise ConfigEditError(f"{h.name}:{path} does not exist", fix=self.missing_fix.format(node=v.name))
            edits, _ = self.wanted(run, v, data)
            return edit_data(h, path, self.kind, data, edits, sudo=self.sudo, namespaces=self.namespaces,
                             dry_run=dry_run)

        return Operation(f"{v.host_name}:{path}", fn, v.host_name, path=path,
                         reads=() if self.sudo else (path,), reader=h)

    def checks_for(self, v: NodeView, run: Run, data: bytes | None, host: str | None = None) -> list[Check]:
        """The checks of one node's file from its bytes (None: the file is missing)."""
        host, path = host or v.host_name, v.file(self.key)
        if data is None:
            return [Check(host, f"{v.name}: {self.rel(v)} present", path, "(file missing)", False,
                          self.missing_fix.format(node=v.name))]
        out = []
        wants = self.expected(run, v, data) if self.expected else self.wanted(run, v, data)[1]
        for what, where, expected in wants:
            found = read_values(self.kind, data, where, self.namespaces, path)
            shown_where = "/".join(where) if isinstance(where, tuple) else where if isinstance(where, str) else what
            name = f"{self.label(v)} {what}" if self.named else what
            out.append(Check(host, f"{v.name}: {name}", " | ".join(expected) or self.empty,
                             " | ".join(found) or self.empty, found == expected,
                             self.fix.format(path=path, where=shown_where)))
        return out

    def checks(self, run: Run, v: NodeView) -> list[Check]:
        """Every wanted value read back from the file on the node's host (one read)."""
        data = run.host(v.host_name).read_file(v.file(self.key), sudo=self.sudo)
        return self.checks_for(v, run, data)


HOSTS_FILE = "/etc/hosts"


@dataclass(frozen=True)
class HostsStep:
    """/etc/hosts on each host, in the config-file step's shape: one read serves
    the plan and the apply that follows it (ENTRIES: (address, name) lines, the
    same on every host so sections converge); the checks ask the resolver
    (``hosts_checks``), FIX saying what to run when a name does not resolve."""

    entries: tuple[tuple[str, str], ...]
    fix: str = "apply the /etc/hosts step of this notebook"

    def operation(self, run: Run, host: str) -> Operation:
        h = run.host(host)
        read = Carried(lambda: h.read_file(HOSTS_FILE))

        def fn(dry_run: bool) -> Change:
            return ensure_hosts_entries(h, self.entries, dry_run=dry_run, path=HOSTS_FILE, before=read.get(dry_run))

        return Operation(f"{host}:{HOSTS_FILE}", fn, host, path=HOSTS_FILE, reads=(HOSTS_FILE,), reader=h)

    def checks(self, run: Run, hosts: Sequence[str]) -> list[Check]:
        return hosts_checks(run, hosts, self.entries, self.fix)


def per_node(nodes: Sequence[NodeView], fn: Callable[[NodeView], list[T]], label: str = "") -> list[T]:
    """FN for each node, results in node order. The one place steps walk their
    nodes: hosts concurrently, a host's nodes one after another (fanout.by_host)."""
    return fanout.map_hosts(nodes, lambda v: v.host_name, fn, label)


def hosts_checks(run: Run, hosts: Sequence[str], entries: Sequence[tuple[str, str]], fix: str) -> list[Check]:
    """Each (address, name) resolves as intended on each host: `getent hosts`,
    so nsswitch is honoured, not just the file's text. FIX may use {name},
    {addr} and {host}."""
    def one(host: str) -> list[Check]:
        # one command per host: each name's first address on a line of its own (empty: no answer);
        # `set --` splits getent's answer in the shell: one process per name (a pipe to head
        # and cut was four, at 128 workers about a third of a second a cell)
        script = "; ".join(f'set -- $(getent hosts {shlex.quote(name)}); echo "${{1:-}}"' for _, name in entries)
        lines = run.host(host).run(script).stdout.splitlines() if entries else []
        out = []
        for i, (addr, name) in enumerate(entries):
            found = (lines[i].strip() if i < len(lines) else "") or "(does not resolve)"
            out.append(Check(host, f"{name} resolves", addr, found, found == addr,
                             fix.format(name=name, addr=addr, host=host)))
        return out
    return fanout.map_hosts(list(hosts), lambda h: h, one)
