"""The lab: a multi-host cluster environment on one machine (network
namespaces, real sshd, MariaDB, nginx, svnserve). See control.py and health.py."""

from .control import down, up
from .health import format_status, status
from .instance import allocate
from .paths import lab_paths, read_state

__all__ = ["up", "down", "allocate", "status", "format_status", "lab_paths", "read_state"]
