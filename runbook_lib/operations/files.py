"""File operations on a Host: edit a config file in place, ensure a whole
file's content, ensure /etc/hosts lines. Each returns a Change whose diff is
of the real before/after bytes; a dry run runs the same code but the write."""

from __future__ import annotations

from typing import Literal, Sequence

from ..configedit import apply_xml_edits
from ..configedit.lbconf import apply_lbconf_edits
from ..configedit.properties import apply_properties_edits
from ..core.change import Change, unified_diff
from ..core.errors import ConfigEditError
from ..remote.host import Host

Kind = Literal["xml", "properties", "lbconf"]
APPLIERS = {"xml": apply_xml_edits, "properties": apply_properties_edits, "lbconf": apply_lbconf_edits}


def _write(host: Host, path: str, before: bytes | None, after: bytes, summary: str, sudo: bool,
           dry_run: bool, mode: int | None = None) -> Change:
    target = f"{host.name}:{path}"
    if before == after:
        return Change(target, False, summary)
    diff = unified_diff(before or b"", after, path)
    if dry_run:
        return Change(target, True, f"would change: {summary}", diff)
    backup = host.write_file(path, after, sudo=sudo, mode=mode)
    note = f" (backup {backup})" if backup else ""
    return Change(target, True, summary + note, diff)


def edit_file(host: Host, path: str, kind: Kind, edits: Sequence[object], *, sudo: bool = False,
              namespaces: dict[str, str] | None = None, dry_run: bool = False) -> Change:
    """Apply declarative edits (runbook_lib.configedit) to a remote file."""
    before = host.read_file(path, sudo=sudo)
    if before is None:
        raise ConfigEditError(f"{host.name}:{path} does not exist", fix="check the node's product home "
                              "in the params (nodes.<name>.home) and that the product is unpacked there")
    return edit_data(host, path, kind, before, edits, sudo=sudo, namespaces=namespaces, dry_run=dry_run)


def edit_data(host: Host, path: str, kind: Kind, before: bytes, edits: Sequence[object], *, sudo: bool = False,
              namespaces: dict[str, str] | None = None, dry_run: bool = False) -> Change:
    """Apply EDITS to BEFORE, the file's bytes as the caller just read them
    (so a step that needs the file to compute its edits reads it once)."""
    if kind == "xml":
        result = apply_xml_edits(before, list(edits), path, namespaces=namespaces)
    else:
        result = APPLIERS[kind](before, list(edits), path)
    summary = "; ".join(result.notes) if result.notes else "nothing to do"
    if not result.changed:
        return Change(f"{host.name}:{path}", False, f"already as intended ({len(result.notes)} settings)")
    return _write(host, path, before, result.data, summary, sudo, dry_run)


def ensure_content(host: Host, path: str, content: bytes, *, sudo: bool = False, mode: int | None = None,
                   dry_run: bool = False, what: str = "content") -> Change:
    """The whole file is CONTENT (a file the runbook owns, e.g. an nginx vhost)."""
    before = host.read_file(path, sudo=sudo)
    if before == content:
        return Change(f"{host.name}:{path}", False, f"{what} already as intended")
    verb = "create" if before is None else "replace"
    return _write(host, path, before, content, f"{verb} {what}", sudo, dry_run, mode)


def ensure_hosts_entries(host: Host, entries: Sequence[tuple[str, str]], *, dry_run: bool = False,
                         path: str = "/etc/hosts") -> Change:
    """Each (address, name) resolves as given: a line mapping NAME elsewhere is
    rewritten, a missing one appended; all other lines stay untouched."""
    before = host.read_file(path) or b""  # world-readable: no sudo (a process per host) to read it
    lines = before.decode().splitlines(keepends=True)
    wanted = dict((name, addr) for addr, name in entries)
    done: set[str] = set()
    out: list[str] = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        names = [n for n in fields[1:] if n in wanted]
        if not names:
            out.append(line)
            continue
        keep = [n for n in fields[1:] if n not in wanted or wanted[n] == fields[0]]
        for n in names:
            if wanted[n] == fields[0]:
                done.add(n)
        if keep:
            out.append(line if keep == fields[1:] else f"{fields[0]}\t{' '.join(keep)}\n")
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    for name, addr in wanted.items():
        if name not in done:
            out.append(f"{addr}\t{name}\n")
            done.add(name)
    after = "".join(out).encode()
    return _write(host, path, before, after, f"{len(wanted)} names in {path}", True, dry_run)
