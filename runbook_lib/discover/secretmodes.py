"""Secrets at rest as found: the mode of each node file that holds a password,
a cipher text or a key (as shipped, 0644: every account on the node may read
the database password). 04 makes them 0600 whatever the params say
(sections/securevault/modes.py, issue 19), so the report names each node
whose files it would tighten; the round trip accepts that one change, on the
home exactly, and nothing else under it."""

from __future__ import annotations

import posixpath
import shlex

from .assemble import Facts
from .consistency import Item

CONF_KEYS = ("carbon", "user_mgt", "datasources", "catalina", "broker")  # as securevault/modes.py
SECURITY_FILES = ("cipher-text.properties", "wso2carbon.jks", "client-truststore.jks")
WANTED = "600"


def _files(f) -> list[str]:  # noqa: ANN001 - NodeFacts
    conf = [f.files[k].path for k in CONF_KEYS if k in f.files and f.files[k].ok]
    return conf + [posixpath.join(f.home.path, f.spec.security_dir, n) for n in SECURITY_FILES]


def mode_items(facts: Facts) -> list[Item]:
    """One item per node with a secret file not 0600 (read with one `stat` per node, read-only)."""
    items = []
    for name, f in facts.nodes.items():
        if f.spec.product == "elb":  # 04/07 secure the cluster's and the brokers' nodes, not the ELB's files
            continue
        r = next((x for x in facts.reached.values() if x.name.value == facts.node_host[name]), None)
        if r is None or r.host is None:
            continue
        res = r.host.run("stat -c '%a %n' " + " ".join(shlex.quote(p) for p in _files(f)) + " 2>/dev/null; true")
        loose = [ln.split(" ", 1) for ln in res.stdout.splitlines() if " " in ln]
        loose = [(m, p) for m, p in loose if m != WANTED]
        if loose:
            shown = ", ".join(f"{posixpath.basename(p)} 0{m}" for m, p in loose[:3]) + (
                f" and {len(loose) - 3} more" if len(loose) > 3 else "")
            items.append(Item("fault", f"{name}: {len(loose)} file(s) holding a secret readable by other accounts "
                              f"({shown})", facts.node_host[name], f.home.path, None,
                              "04 sets them 0600, owned by the product user (issue 19: secrets at rest)", exact=True))
    return items
