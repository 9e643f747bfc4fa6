"""The lab: a multi-host cluster environment on one machine (network
namespaces, real sshd, MariaDB, nginx, svnserve). See control.py and status.py."""

from .control import down, up
from .status import format_status, lab_paths, read_state, status

__all__ = ["up", "down", "status", "format_status", "lab_paths", "read_state"]
