"""01 load balancer: what notebooks/01_load_balancer.ipynb calls. nginx
(002, 004: the HTTP vhost here; the HTTPS ones in 02, once their
certificates exist) or the WSO2 ELB (000, 001). Its parts: lb/."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .lb import balancer


def plan_load_balancer(run: Run) -> Plan:
    """nginx: the HTTP vhost, tested then reloaded. ELB: its files on each ELB node."""
    return balancer.plan_load_balancer(run)


def verify_load_balancer(run: Run) -> Checks:
    """The configuration as written, and the load balancer's own answers."""
    return balancer.verify_load_balancer(run)


def backend_reachability(run: Run) -> balancer.Backends:
    """Information, not a gate: whether the load balancer host reaches each backend."""
    return balancer.backend_reachability(run)
