"""What several section modules share: the carbon.xml namespace, and the
/etc/hosts operation."""

from __future__ import annotations

from typing import Sequence

from ..context import Run
from ..operations.files import ensure_hosts_entries
from ..step import Operation

CARBON_NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}


def hosts_op(run: Run, host: str, entries: Sequence[tuple[str, str]]) -> Operation:
    h = run.host(host)
    return Operation(f"{host}:/etc/hosts", lambda dry: ensure_hosts_entries(h, entries, dry_run=dry), host)
