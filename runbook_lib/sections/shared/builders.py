"""Small builders shared by the section modules: an Operation for a config
edit, a whole-file content, /etc/hosts lines; a Check for an XML value."""

from __future__ import annotations

from typing import Sequence

from ...configedit import get_values
from ...core.context import Run
from ...core.step import Check, Operation
from ...operations.files import Kind, edit_file, ensure_content, ensure_hosts_entries
from ...params import NodeView

CARBON_NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}


def edit_op(run: Run, host: str, path: str, kind: Kind, edits: Sequence[object], *, sudo: bool = False,
            namespaces: dict[str, str] | None = None) -> Operation:
    h = run.host(host)
    return Operation(f"{host}:{path}", lambda dry: edit_file(h, path, kind, edits, sudo=sudo,
                                                               namespaces=namespaces, dry_run=dry), host)


def content_op(run: Run, host: str, path: str, content: bytes, *, sudo: bool = False, mode: int | None = None,
               what: str = "content") -> Operation:
    h = run.host(host)
    return Operation(f"{host}:{path}", lambda dry: ensure_content(h, path, content, sudo=sudo, mode=mode,
                                                                   dry_run=dry, what=what), host)


def hosts_op(run: Run, host: str, entries: Sequence[tuple[str, str]]) -> Operation:
    h = run.host(host)
    return Operation(f"{host}:/etc/hosts", lambda dry: ensure_hosts_entries(h, entries, dry_run=dry), host)


def xml_check(run: Run, v: NodeView, rel: str, xpath: str, expected: str, what: str, fix: str,
              namespaces: dict[str, str] | None = None) -> Check:
    """Read one value from a node's config file on its host and compare."""
    path = v.conf(rel)
    data = run.host(v.host_name).read_file(path)
    found = get_values(data, xpath, namespaces, name=path) if data is not None else None
    shown = "(file missing)" if found is None else ("(absent)" if not found else " | ".join(found))
    return Check(v.host_name, f"{v.name}: {what}", expected, shown, found == [expected], fix)
