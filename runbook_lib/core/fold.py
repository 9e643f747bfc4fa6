"""The same thing on many hosts, shown once: a plan's identical changes, a
check table's identical rows and the summary's lists name every host of a
group in one line ("ei103..ei230") instead of repeating it per host.

Only groups of FOLD_AT hosts or more are folded: a small cluster's plan
still reads host by host, while 128 workers' identical registry.xml diffs
are one diff to review, not 128 (and one to mask and draw, issue 23)."""

from __future__ import annotations

import re
from typing import Callable, Hashable, Sequence, TypeVar

T = TypeVar("T")

FOLD_AT = 8  # distinct hosts sharing an identical item before it is shown once

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def host_list(hosts: Sequence[str]) -> str:
    """HOSTS in one line, runs of numbered names as ranges: "db, ei103..ei110, ei112"."""
    named: list[tuple[str, int, str]] = []  # (prefix, number, name); number -1: not numbered
    for h in dict.fromkeys(hosts):
        m = _NUMBERED.match(h)
        named.append((m.group(1), int(m.group(2)), h) if m else (h, -1, h))
    runs: list[list] = []  # [prefix, width, first, last, first name, last name]
    for prefix, n, name in sorted(named):
        last = runs[-1] if runs else None
        # a run goes on while the next number is written as the run writes its numbers
        # (zero-padded or not): worker9, worker10 and node09, node10 are runs; n1, n01 are not
        if n >= 0 and last and last[0] == prefix and last[3] == n - 1 and f"{prefix}{n:0{last[1]}d}" == name:
            last[3], last[5] = n, name
        else:
            digits = name[len(prefix):]
            width = len(digits) if n >= 0 and digits.startswith("0") else 0
            runs.append([prefix, width, n, n, name, name])
    out = []
    for _, _, a, b, first, last in runs:
        out.append(first if a == b else f"{first}, {last}" if b == a + 1 else f"{first}..{last}")
    return ", ".join(out)


def fold(items: Sequence[T], host_of: Callable[[T], str], key_of: Callable[[T], Hashable | None]
         ) -> list[tuple[T, list[str]]]:
    """ITEMS in order, each with the hosts it stands for: those with the same key (None: never
    folded) on FOLD_AT or more distinct hosts are kept once, at the first one's place, with
    all their hosts; every other item stands for its own host."""
    by_key: dict[Hashable, list[int]] = {}
    keys = [key_of(x) for x in items]
    for i, k in enumerate(keys):
        if k is not None:
            by_key.setdefault(k, []).append(i)
    out: list[tuple[T, list[str]]] = []
    skip: set[int] = set()
    for i, x in enumerate(items):
        if i in skip:
            continue
        members = by_key.get(keys[i], []) if keys[i] is not None else []
        hosts = list(dict.fromkeys(host_of(items[j]) for j in members))
        if len(hosts) >= FOLD_AT:
            skip.update(members)
            out.append((x, hosts))
        else:
            out.append((x, [host_of(x)]))
    return out
