"""Reaching the hosts the operator names, and naming them: a host's name is
what its own /etc/hosts calls its address (the name a person gave it), else
``host-<last octet>`` (marked as a guess)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ..core.errors import RunbookError
from ..remote.host import Host
from .found import Found, Problem, guess

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,14}$")


@dataclass
class Reached:
    address: str
    host: Host | None
    name: Found
    etc_hosts: dict[str, str] = field(default_factory=dict)  # name -> address, as the host resolves them
    etc_hosts_lines: dict[str, int] = field(default_factory=dict)


def parse_etc_hosts(text: str) -> tuple[dict[str, str], dict[str, int]]:
    names: dict[str, str] = {}
    lines: dict[str, int] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        parts = raw.split("#", 1)[0].split()
        if len(parts) < 2:
            continue
        try:
            ipaddress.IPv4Address(parts[0])
        except ValueError:
            continue
        for n in parts[1:]:
            names.setdefault(n, parts[0])
            lines.setdefault(n, no)
    return names, lines


def own_name(address: str, etc: dict[str, str], lines: dict[str, int], taken: set[str]) -> Found:
    for n, a in etc.items():
        short = n.split(".")[0].lower()
        if a == address and NAME_RE.match(short) and short != "localhost" and short not in taken:
            return Found(short, address, "/etc/hosts", lines[n], why="its own name")
    fallback = f"host-{address.rsplit('.', 1)[-1]}"
    return guess(fallback, f"no name for {address} in its /etc/hosts")


def reach(addresses: list[str], user: str, key: str, known_hosts: str, problems: list[Problem],
          timeout: float = 10) -> dict[str, Reached]:
    """address -> Reached; an unreachable host is a Problem and gets host None."""
    out: dict[str, Reached] = {}
    taken: set[str] = set()
    for a in dict.fromkeys(addresses):
        h = Host(a, a, user, key_filename=key, known_hosts=known_hosts, connect_timeout=timeout,
                 command_timeout=60)
        try:
            data = h.read_file("/etc/hosts") or b""
        except (RunbookError, OSError) as e:
            problems.append(Problem(f"host {a}", f"unreachable ({str(e).split('. Fix:')[0].splitlines()[0][:200]})",
                                    "check the address, --user, --key and --known-hosts"))
            name = guess(f"host-{a.rsplit('.', 1)[-1]}", f"{a} unreachable")
            out[a] = Reached(a, None, name)
            taken.add(name.value)
            continue
        etc, lines = parse_etc_hosts(data.decode(errors="replace"))
        name = own_name(a, etc, lines, taken)
        taken.add(name.value)
        h.name = name.value
        out[a] = Reached(a, h, name, etc, lines)
    return out


def close_all(reached: dict[str, Reached]) -> None:
    for r in reached.values():
        if r.host is not None:
            r.host.close()
