"""00 preflight: what notebooks/00_preflight.ipynb calls. Read-only: before
anything changes, every host is proven to be what the params say (SSH, Java,
the product home, ports, clocks). The checks themselves: hosts/."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks
from .hosts import preflight_checks as checks


def topology(run: Run) -> checks.Topology:
    """The cluster as the params describe it: hosts, nodes, ports, members."""
    return checks.topology(run)


def host_checks(run: Run) -> Checks:
    """Every selected host checked at once, then the node hosts' clocks (E17)."""
    return checks.host_checks(run)
