"""One shape for every step that edits a node's configuration file.

A ``FileStep`` names a file of the node's product spec (``axis2``,
``carbon``, ``lbconf``...), its format, the node roles it applies to, and a
``wanted(run, node, data)`` function that returns, from the file's current
bytes, both the edits to make and the values to verify (``Want``: what,
where, expected values). One read of the file serves the Plan operation
(edits computed and applied on the same bytes), one read serves the checks,
so what is verified is exactly what was written.

Per-host work stays independent: ``operation`` and ``checks`` touch one node's
host only, and ``per_node`` is the one place that walks the nodes, so a
bounded fan-out can replace it later without touching the steps.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence, TypeVar

from ...configedit import get_values, read_lbconf, read_properties
from ...core.change import Change
from ...core.context import Run
from ...core.errors import ConfigEditError
from ...core.step import Check, Operation
from ...operations.files import Kind, edit_data
from ...params import NodeView
from ...remote import fanout

T = TypeVar("T")


class Want(NamedTuple):
    """A value the file must hold: what it is, where (an XPath, or a block path
    in loadbalancer.conf), and the expected values (empty: absent)."""

    what: str
    where: str | tuple[str, ...]
    values: list[str]


Wanted = tuple[list, list[Want]]
WantedFn = Callable[[Run, NodeView, bytes], Wanted]


def _lbvalue(tree: dict, path: tuple[str, ...]) -> str | None:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree if isinstance(tree, str) else "(a block)"


def read_values(kind: Kind, data: bytes, where: str | tuple[str, ...], namespaces: dict[str, str] | None,
                name: str) -> list[str]:
    """The values at WHERE in DATA, as the checks compare them."""
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

    def rel(self, v: NodeView) -> str:
        return v.spec.files[self.key].rel

    def label(self, v: NodeView) -> str:
        return posixpath.basename(self.rel(v))

    def applies_to(self, v: NodeView) -> bool:
        return v.node.role in self.roles and self.key in v.spec.files

    def operation(self, run: Run, v: NodeView) -> Operation:
        """The Plan operation: read the file once, compute the edits from those
        bytes, apply them to the same bytes (dry run: everything but the write)."""
        h, path = run.host(v.host_name), v.file(self.key)

        def fn(dry_run: bool) -> Change:
            data = h.read_file(path, sudo=self.sudo)
            if data is None:
                raise ConfigEditError(f"{h.name}:{path} does not exist", fix=self.missing_fix.format(node=v.name))
            edits, _ = self.wanted(run, v, data)
            return edit_data(h, path, self.kind, data, edits, sudo=self.sudo, namespaces=self.namespaces,
                             dry_run=dry_run)

        return Operation(f"{v.host_name}:{path}", fn, v.host_name)

    def checks_for(self, v: NodeView, run: Run, data: bytes | None, host: str | None = None) -> list[Check]:
        """The checks of one node's file from its bytes (None: the file is missing)."""
        host, path = host or v.host_name, v.file(self.key)
        if data is None:
            return [Check(host, f"{v.name}: {self.rel(v)} present", path, "(file missing)", False,
                          self.missing_fix.format(node=v.name))]
        out = []
        for what, where, expected in self.wanted(run, v, data)[1]:
            found = read_values(self.kind, data, where, self.namespaces, path)
            shown_where = "/".join(where) if isinstance(where, tuple) else where
            out.append(Check(host, f"{v.name}: {self.label(v)} {what}", " | ".join(expected) or self.empty,
                             " | ".join(found) or self.empty, found == expected,
                             self.fix.format(path=path, where=shown_where)))
        return out

    def checks(self, run: Run, v: NodeView) -> list[Check]:
        """Every wanted value read back from the file on the node's host (one read)."""
        data = run.host(v.host_name).read_file(v.file(self.key), sudo=self.sudo)
        return self.checks_for(v, run, data)


def per_node(nodes: Sequence[NodeView], fn: Callable[[NodeView], list[T]], label: str = "") -> list[T]:
    """FN for each node, results in node order. The one place steps walk their
    nodes: hosts concurrently, a host's nodes one after another (fanout.by_host)."""
    return fanout.map_hosts(nodes, lambda v: v.host_name, fn, label)


def hosts_checks(run: Run, hosts: Sequence[str], entries: Sequence[tuple[str, str]], fix: str) -> list[Check]:
    """Each (address, name) resolves as intended on each host: `getent hosts`,
    so nsswitch is honoured, not just the file's text. FIX may use {name},
    {addr} and {host}."""
    def one(host: str) -> list[Check]:
        # one command per host: each name's first address on a line of its own (empty: no answer)
        script = "; ".join(f"echo $(getent hosts {shlex.quote(name)} | head -n1 | cut -d' ' -f1)"
                           for _, name in entries)
        lines = run.host(host).run(script).stdout.splitlines() if entries else []
        out = []
        for i, (addr, name) in enumerate(entries):
            found = (lines[i].strip() if i < len(lines) else "") or "(does not resolve)"
            out.append(Check(host, f"{name} resolves", addr, found, found == addr,
                             fix.format(name=name, addr=addr, host=host)))
        return out
    return fanout.map_hosts(list(hosts), lambda h: h, one)
