"""discover's options for a cluster described by a params file (a lab): its
node hosts, load balancer, database, SSH key and secrets, as an operator
would type them. The notebook's default and the tests use it to adopt a lab
cluster as if it had been built by hand."""

from __future__ import annotations

from pathlib import Path

from ..params import load_params
from .adopt import Options


def options_for(params_file: str | Path, out: str | Path, **overrides) -> Options:  # noqa: ANN003
    """Options naming PARAMS_FILE's hosts (its lab instance's addresses when one is set)."""
    p = load_params(params_file)
    nodes = list(dict.fromkeys(str(p.hosts[n.host].address) for n in p.nodes.values()))
    lb = str(p.hosts[p.load_balancer.host].address) if p.load_balancer.kind == "nginx" and p.load_balancer.host \
        else None
    db = p.database
    opts = Options(hosts=nodes, user=p.hosts[p.nodes[next(iter(p.nodes))].host].ssh_user, key=p.ssh.key,
                   known_hosts=p.ssh.known_hosts, out=str(out), lb=lb,
                   database=str(p.hosts[db.host].address) if db else None,
                   db_admin=db.admin_user if db else "root",
                   db_admin_secret=db.admin_password.secret if db else "DB_ADMIN_PASSWORD",
                   secrets_file=p.secrets_file)
    for k, v in overrides.items():
        setattr(opts, k, v)
    return opts
