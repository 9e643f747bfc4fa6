"""The lab: a multi-host cluster environment on one machine (network
namespaces, real sshd, MariaDB, nginx, svnserve). See control.py."""

from .control import down, up
from .health import format_status, status

__all__ = ["up", "down", "status", "format_status"]
