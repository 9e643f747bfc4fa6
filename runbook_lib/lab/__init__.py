"""The lab: a multi-host cluster environment on one machine (network
namespaces, real sshd, MariaDB, nginx, svnserve). See control.py."""

from .control import down, format_status, status, up

__all__ = ["up", "down", "status", "format_status"]
