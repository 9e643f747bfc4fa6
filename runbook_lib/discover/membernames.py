"""Well-known members listed by host name (`<hostName>node206</hostName>`), as a
cluster built by hand often lists them: kept as nodes.*.member_name (assemble.py),
so 05/06 write the name back and map it in /etc/hosts on every node host. The
report names what that changes: a node that lists the member otherwise (by its IP,
or by another name), and a node host whose /etc/hosts does not map the name."""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from .assemble import Facts, majority
from .found import Found
from .items import Item, _item


def _is_ip(v: str) -> bool:
    try:
        ipaddress.IPv4Address(v)
    except ValueError:
        return False
    return True


def member_names(facts: Facts, group: dict) -> list[Item]:
    """One `style` item per member kept by name (it names no file: nothing there
    changes), a `differs` item per listing or /etc/hosts the runbook changes for it."""
    def resolve(n: str, name: str) -> str:  # as the listing node's host resolves it
        r = facts.reached.get(facts.address_of(facts.node_host[n]))
        return r.etc_hosts.get(name, name) if r else name

    listings: dict[tuple[str, str], list[tuple[str, Found]]] = defaultdict(list)
    for n, f in group.items():
        for h, port in f.members():
            listings[(resolve(n, h.value), port.value)].append((n, h))
    items: list[Item] = []
    node_hosts = list(dict.fromkeys(facts.node_host.values()))
    for (address, port), listed in listings.items():
        name = majority([h for _, h in listed if not _is_ip(h.value)])
        if name is None:
            continue
        items.append(Item("style", f"well-known member {address}:{port} is listed by the name {name.value} "
                          f"(first at {name.file}:{name.line})", name.host, "", None,
                          "kept as nodes.*.member_name: 05/06 write the name, and /etc/hosts maps it on every "
                          "node host (the agents resolve it when the node starts)"))
        for n, h in listed:
            if h.value != name.value:
                items.append(_item("differs", f"{n} lists the well-known member {address}:{port} as {h.value}, "
                                   f"the others by the name {name.value}", h, f"05/06 write the name {name.value}"))
        for host in node_hosts:
            r = facts.reached.get(facts.address_of(host))
            if r is not None and r.etc_hosts.get(name.value) != address:
                items.append(Item("differs", f"{host}: /etc/hosts does not map the member name {name.value} to "
                                  f"{address}", host, "/etc/hosts", r.etc_hosts_lines.get(name.value),
                                  f"05/06 add `{address} {name.value}` there (nodes.*.member_name)"))
    return items
