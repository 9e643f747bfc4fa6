"""The round trip: a plan-only run of every section on the params discover
wrote. A difference the plan shows is accepted only when the consistency
report names its host and file (with its reason); any other is a silent
difference, and discover exits non-zero naming it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .consistency import Item


@dataclass
class RoundTrip:
    exit_code: int  # the plan's: 0 nothing would change, 2 would change, 1 error
    differences: list[str] = field(default_factory=list)  # "section  host  path: what"
    named: list[tuple[str, Item]] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)
    run_dir: str = ""
    errors: list[str] = field(default_factory=list)


def _host_path(diff: str) -> tuple[str, str]:
    """('node206', '/opt/.../axis2.xml') from 'node206  /opt/.../axis2.xml: what'."""
    host, _, rest = diff.partition("  ")
    return host.strip(), rest.split(": ", 1)[0].strip()


def _names(item_path: str, path: str) -> bool:
    """An item names a difference's file (or a file in its folder); an item that is
    not a path (a database object, `nginx`) names the differences that contain it."""
    if not item_path:
        return False
    if item_path.startswith("/"):
        return path == item_path or path.startswith(item_path.rstrip("/") + "/")
    return item_path == path or (" " in item_path and item_path in path)  # `on DB.*` in a grant's line


def match(differences: list[tuple[str, str]], items: list[Item]) -> tuple[list[tuple[str, Item]], list[str]]:
    """Each (section, difference) with the report item naming its host and file, or unnamed."""
    named, unnamed = [], []
    for section, d in differences:
        host, path = _host_path(d)
        item = next((i for i in items if i.host == host and (path == i.path if i.exact else _names(i.path, path))),
                    None)
        if item is None:
            unnamed.append(f"{section}  {d}")
        else:
            named.append((f"{section}  {d}", item))
    return named, unnamed


def plan(params_file: str | Path, items: list[Item], run_dir: Path, progress=lambda _: None) -> RoundTrip:
    """Plan every section on PARAMS_FILE (nothing is changed) and sort its differences."""
    from ..run.runner import run_sections  # papermill takes seconds to import: only the round trip needs it
    summary = run_sections(params_file, apply=False, out_dir=run_dir, progress=progress)
    diffs = [(s.name, d) for s in summary.sections for d in s.differs]
    named, unnamed = match(diffs, items)
    errors = [f"{s.name}: {s.error or f'{s.failed} check(s) failed'}" for s in summary.sections if not s.ok]
    return RoundTrip(summary.exit_code, [f"{a}  {b}" for a, b in diffs], named, unnamed, str(run_dir), errors)
