"""File operations on a Host: edit a config file's bytes in place, ensure a
whole file's content, ensure /etc/hosts lines. Each returns a Change whose diff is
of the real before/after bytes; a dry run runs the same code but the write."""

from __future__ import annotations

from typing import Literal, Sequence

from ..configedit import apply_xml_edits
from ..configedit.lbconf import apply_lbconf_edits
from ..configedit.properties import apply_properties_edits
from ..core.change import Change, EditNote, content_hash, unified_diff
from ..remote.host import Host

Kind = Literal["xml", "properties", "lbconf"]
APPLIERS = {"xml": apply_xml_edits, "properties": apply_properties_edits, "lbconf": apply_lbconf_edits}


def _write(host: Host, path: str, before: bytes | None, after: bytes, summary: str, sudo: bool,
           dry_run: bool, mode: int | None = None, edits: tuple[EditNote, ...] = ()) -> Change:
    if not edits:  # the whole file is the edit (a file the runbook owns, /etc/hosts)
        edits = (EditNote(path, None if before is None else "other content", "as intended", None, summary,
                          before != after),)
    target, on = f"{host.name}:{path}", dict(host=host.name, path=path, edits=edits, read=content_hash(before))
    if before == after:
        return Change(target, False, summary, **on)
    diff = unified_diff(before or b"", after, path)
    if dry_run:
        return Change(target, True, f"would change: {summary}", diff, **on)
    backup = host.write_file(path, after, sudo=sudo, mode=mode, before=before)  # SFTP alone when it can
    note = f" (backup {backup})" if backup else ""
    return Change(target, True, summary + note, diff, notes=(f"backup {backup}",) if backup else (), **on)


def write_whole(host: Host, path: str, before: bytes | None, after: bytes, summary: str, *, mode: int | None = None,
                edits: tuple[EditNote, ...] = (), dry_run: bool = False) -> Change:
    """A file the runbook writes whole from BEFORE (as read by the caller), with
    EDITS saying what changed in it (e.g. securevault's cipher-text.properties)."""
    return _write(host, path, before, after, summary, False, dry_run, mode, edits)


def edit_data(host: Host, path: str, kind: Kind, before: bytes, edits: Sequence[object], *, sudo: bool = False,
              namespaces: dict[str, str] | None = None, dry_run: bool = False) -> Change:
    """Apply EDITS (runbook_lib.configedit) to BEFORE, the file's bytes as the
    caller read them (so a step reads a file once for its plan and its apply)."""
    if kind == "xml":
        result = apply_xml_edits(before, list(edits), path, namespaces=namespaces)
    else:
        result = APPLIERS[kind](before, list(edits), path)
    if not result.changed:
        return Change(f"{host.name}:{path}", False, f"already as intended ({len(edits)} settings)",
                      host=host.name, path=path, edits=tuple(result.notes), read=content_hash(before))
    return _write(host, path, before, result.data, result.summary, sudo, dry_run, edits=tuple(result.notes))


UNREAD = object()  # ensure_content's BEFORE when the caller has not read the file


def ensure_content(host: Host, path: str, content: bytes, *, sudo: bool = False, mode: int | None = None,
                   dry_run: bool = False, what: str = "content", before: bytes | None | object = UNREAD) -> Change:
    """The whole file is CONTENT (a file the runbook owns, e.g. an nginx vhost).
    BEFORE: the file's bytes as the caller read them (None: it does not exist)."""
    if before is UNREAD:
        before = host.read_file(path, sudo=sudo)
    if before == content:
        return Change(f"{host.name}:{path}", False, f"{what} already as intended", host=host.name, path=path,
                      read=content_hash(before))
    verb = "create" if before is None else "replace"
    return _write(host, path, before, content, f"{verb} {what}", sudo, dry_run, mode)


def ensure_hosts_entries(host: Host, entries: Sequence[tuple[str, str]], *, dry_run: bool = False,
                         path: str = "/etc/hosts", before: bytes | None = None) -> Change:
    """Each (address, name) resolves as given: a line mapping NAME elsewhere is
    rewritten, a missing one appended; all other lines stay untouched. BEFORE:
    the file's bytes as the caller read them (else read here)."""
    if before is None:
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
