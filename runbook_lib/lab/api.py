"""The lab's entry points in one place: what `runbook lab` does, for the
tests and benchmarks that drive a lab themselves. (The package's
``__init__`` stays import-free: the params checks read lab/homes.py without
pulling in the lab, which imports the params.)"""

from __future__ import annotations

from .control import down, up
from .health import format_status, status
from .instance import allocate
from .paths import lab_paths, read_state

__all__ = ["up", "down", "allocate", "status", "format_status", "lab_paths", "read_state"]
