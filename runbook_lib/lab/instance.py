"""A named lab instance's subnet: allocated at ``lab up``, released at ``down``.

The default instance uses the params' own lab subnet. A named instance gets
the first free block of the params' subnet size (/24 or /16) in 198.18.0.0/15,
preferring blocks whose addresses print as wide as the params' own
(RFC 2544's benchmarking range, never routed on the internet): free means
not recorded by another instance and not overlapping any route or address
the machine shows (other instances' bridges included). ``--subnet`` picks one
instead. The record, ``/tmp/rblab-instances/NAME.json``, is what
``params/instance.py`` reads to translate params for the instance.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..core.errors import LabError
from ..params.instance import RECORDS, check_name, lab_dir_for, octet_prefix, read_record, record_path, subnet_of
from . import net

POOL = ipaddress.IPv4Network("198.18.0.0/15")
ALLOC_LOCK = Path("/tmp/rblab-instances.lock")  # held briefly: records, and /etc/netns made or removed


@contextmanager
def records_locked() -> Iterator[None]:
    with open(ALLOC_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _recorded(but: str) -> list[tuple[ipaddress.IPv4Network, str]]:
    out = []
    for f in sorted(RECORDS.glob("*.json")) if RECORDS.is_dir() else []:
        rec = read_record(f.stem)
        if f.stem != but and rec:
            out.append((ipaddress.IPv4Network(rec["subnet"]), f"lab instance {f.stem}"))
    return out


def allocate(name: str, raw: dict, file: str, requested: str | None = None) -> dict:
    """The record of instance NAME for the params RAW (read from FILE):
    the one already made, or a new one with a free subnet (or REQUESTED)."""
    check_name(name, "--instance")
    size = subnet_of(raw, file).prefixlen
    base = str((raw.get("lab") or {}).get("dir") or "/tmp/wso2-runbook-lab")
    with records_locked():
        rec = read_record(name)
        if rec and (requested is None or ipaddress.IPv4Network(requested) == ipaddress.IPv4Network(rec["subnet"])):
            return rec
        if rec:
            raise LabError(f"lab instance {name} is up with subnet {rec['subnet']}, not {requested}",
                           fix=f"take it down first: `runbook lab down --instance {name}`")
        busy = _recorded(but=name) + net.machine_networks(own_bridge=net.Names(name).bridge)
        if requested:
            try:
                subnet = ipaddress.IPv4Network(requested)
            except ValueError:
                raise LabError(f"--subnet {requested}: not an IPv4 network",
                               fix="give one such as 198.18.7.0/24") from None
            if subnet.prefixlen != size:
                raise LabError(f"--subnet {subnet}: the params' lab subnet is a /{size}, so the instance's must be too",
                               fix=f"give a /{size}")
            clashes = sorted({what for n, what in busy if n.overlaps(subnet)})
            if clashes:
                raise LabError(f"--subnet {subnet} overlaps {'; '.join(clashes)}. Nothing was created",
                               fix="choose another subnet, or leave --subnet out to get a free one")
        else:
            wide = len(octet_prefix(subnet_of(raw, file)))
            # Addresses as wide as the params' own first (198.18.100.0/24 for 198.51.100.0/24),
            # so tables line up as in recorded outputs; then any.
            candidates = sorted(POOL.subnets(new_prefix=size), key=lambda c: len(octet_prefix(c)) != wide)
            subnet = next((c for c in candidates if not any(n.overlaps(c) for n, _ in busy)), None)
            if subnet is None:
                raise LabError(f"no free /{size} left in {POOL} for lab instance {name}",
                               fix="take another instance down, or give --subnet")
        rec = {"instance": name, "subnet": str(subnet), "lab_dir": lab_dir_for(base, name),
               "params_file": str(Path(file).resolve()), "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        RECORDS.mkdir(exist_ok=True)
        tmp = record_path(name).with_suffix(".tmp")
        tmp.write_text(json.dumps(rec, indent=2, sort_keys=True))
        tmp.replace(record_path(name))
        return rec


def release(name: str) -> list[str]:
    """Remove NAME's record (and the records folder once empty)."""
    removed = []
    with records_locked():
        path = record_path(name)
        if path.exists():
            path.unlink()
            removed.append(str(path))
        if RECORDS.is_dir() and not any(RECORDS.iterdir()):
            RECORDS.rmdir()
            removed.append(str(RECORDS))
    return removed


def others_up(name: str) -> bool:
    """Is any lab instance other than NAME recorded or up (its namespaces)?"""
    if any(f.stem != name for f in RECORDS.glob("*.json")) if RECORDS.is_dir() else False:
        return True
    own = net.Names(name).prefix
    return any((ns.startswith("rbi-") or ns.startswith("rblab-")) and not ns.startswith(own)
               for ns in net.all_namespaces())
