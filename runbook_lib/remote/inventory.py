"""Hosts from the params, and running one step on many hosts at once.

A failing host is reported with its own error and never hides the results of
the others: ``fan_out`` returns one ``Outcome`` per host.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from ..params import Params
from . import fanout
from .host import Host, run_id_now


def hosts_from_params(p: Params, run_id: str | None = None, only: list[str] | None = None) -> dict[str, Host]:
    """One Host per params host (jump hosts wired up), connecting lazily."""
    run_id = run_id or run_id_now()
    out: dict[str, Host] = {}

    def make(name: str) -> Host:
        if name in out:
            return out[name]
        spec = p.hosts[name]
        jump = make(spec.jump) if spec.jump else None
        out[name] = Host(name, str(spec.address), spec.ssh_user, port=spec.ssh_port, key_filename=p.ssh.key,
                         known_hosts=p.ssh.known_hosts, sudo=spec.sudo, jump=jump,
                         connect_timeout=p.ssh.connect_timeout, command_timeout=p.ssh.command_timeout,
                         run_id=run_id)
        return out[name]

    for name in p.hosts:
        if only is None or name in only:
            make(name)
    return {k: v for k, v in out.items() if only is None or k in only}


@dataclass(frozen=True)
class Outcome:
    host: str
    ok: bool
    value: Any = None
    error: BaseException | None = None

    def __str__(self) -> str:
        return f"{self.host}: {'ok' if self.ok else f'FAILED: {self.error}'}"


def fan_out(hosts: dict[str, Host], fn: Callable[[Host], Any], max_workers: int | None = None) -> dict[str, Outcome]:
    """Run FN on every host concurrently (bounded); results in host order."""
    def one(h: Host) -> Outcome:
        try:
            return Outcome(h.name, True, fn(h))
        except Exception as e:  # each host's own error, reported, never raised past the others
            return Outcome(h.name, False, error=e)

    bound = max_workers or fanout.bound()  # ssh.parallel from the params
    with ThreadPoolExecutor(max_workers=max(1, min(bound, len(hosts) or 1))) as pool:
        results = list(pool.map(one, hosts.values()))
    return {o.host: o for o in results}
