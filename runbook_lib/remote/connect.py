"""Opening one host's SSH connection: host keys strictly from the params'
known_hosts (an unknown or changed key is refused with the fingerprints in the
message, never added), our key, an optional jump host, and every failure said
in words with its fix. The socket is tuned for many small commands."""

from __future__ import annotations

import socket
from typing import Any

import paramiko

from ..core.errors import ConnectError, HostKeyError
from .hostkeys import RefuseUnknownKeys, fingerprint, key_name, known_keys


def open_client(host: Any) -> paramiko.SSHClient:
    """A new, authenticated connection to HOST (a Host: not imported, host.py imports this)."""
    c = paramiko.SSHClient()
    try:  # only this host's keys: what connect() looks up for it, and all it looks up
        for keytype, key in known_keys(host.known_hosts, host.address, host.port).items():
            c.get_host_keys().add(key_name(host.address, host.port), keytype, key)
    except FileNotFoundError as e:
        raise ConnectError(host.name, f"known_hosts file {host.known_hosts} is missing",
                           fix="set ssh.known_hosts in the params to an existing file") from e
    c.set_missing_host_key_policy(RefuseUnknownKeys(host.known_hosts))
    sock = None
    if host.jump is not None:
        try:
            sock = host.jump.client.get_transport().open_channel(
                "direct-tcpip", (host.address, host.port), ("127.0.0.1", 0), timeout=host.connect_timeout)
        except (paramiko.SSHException, OSError) as e:
            raise ConnectError(host.name, f"jump host {host.jump.name} could not reach "
                               f"{host.address}:{host.port}: {e}") from e
    try:
        c.connect(host.address, port=host.port, username=host.user, key_filename=host.key_filename,
                  timeout=host.connect_timeout, banner_timeout=host.connect_timeout,
                  auth_timeout=host.connect_timeout, sock=sock, allow_agent=True,
                  look_for_keys=host.key_filename is None)
    except HostKeyError:
        raise
    except paramiko.BadHostKeyException as e:
        raise HostKeyError(host.name, f"host key CHANGED: offered {fingerprint(e.key)}, known_hosts "
                           f"{host.known_hosts} has {fingerprint(e.expected_key)}. Refused",
                           fix="if the change is expected (host rebuilt), replace its line in known_hosts") from e
    except paramiko.AuthenticationException as e:
        raise ConnectError(host.name, f"{host.user}@{host.address} refused our key ({e})",
                           fix=f"put the public key of {host.key_filename} in ~{host.user}/.ssh/"
                           "authorized_keys on that host") from e
    except (socket.timeout, TimeoutError) as e:
        raise ConnectError(host.name, f"no answer from {host.address}:{host.port} in "
                           f"{host.connect_timeout:g}s", fix="check the address and that sshd runs") from e
    except (paramiko.SSHException, OSError) as e:
        raise ConnectError(host.name, f"cannot connect to {host.address}:{host.port}: {e}",
                           fix="check that sshd runs on the host and the address is right") from e
    transport = c.get_transport()
    transport.set_keepalive(15)
    if isinstance(transport.sock, socket.socket):  # not through a jump host's channel
        # Each command is a few small packets; with Nagle's algorithm on, the next one waits
        # for the server's delayed ACK: 40 ms a command (46 ms -> 4 ms for `true` on the lab).
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # paramiko's reader thread wakes at each socket timeout (0.1 s) to look for a close,
        # a keepalive or a rekey due: ten wake-ups a second per idle connection, and a run
        # keeps one per host. Once a second is enough for all three (keepalive: 15 s);
        # closing does not wait for it, and data wakes it at once.
        transport.sock.settimeout(1.0)
    return c
