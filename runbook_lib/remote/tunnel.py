"""An SSH tunnel: a loopback port on this machine forwarded through a Host to
an address only that host can reach (e.g. a database behind a firewall).

Listens on 127.0.0.1 only; each accepted connection becomes a paramiko
``direct-tcpip`` channel. Used as ``Db.connect(..., tunnel=Tunnel(...))``.
"""

from __future__ import annotations

import select
import socket
import threading

from ..core.errors import ConnectError
from .host import Host


class Tunnel:
    def __init__(self, via: Host, remote_host: str, remote_port: int) -> None:
        self.via, self.remote = via, (remote_host, remote_port)
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.local_port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"tunnel-{via.name}")
        self._thread.start()

    def __repr__(self) -> str:
        return f"Tunnel(127.0.0.1:{self.local_port} -> {self.via.name} -> {self.remote[0]}:{self.remote[1]})"

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._server], [], [], 0.2)
            if not ready:
                continue
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            chan = self.via.client.get_transport().open_channel("direct-tcpip", self.remote, client.getpeername())
        except Exception:  # the channel could not open: drop this connection, keep serving
            client.close()
            return
        try:
            while not self._stop.is_set():
                r, _, _ = select.select([client, chan], [], [], 0.5)
                if client in r:
                    data = client.recv(32768)
                    if not data:
                        break
                    chan.sendall(data)
                if chan in r:
                    data = chan.recv(32768)
                    if not data:
                        break
                    client.sendall(data)
        finally:
            chan.close()
            client.close()

    def check(self) -> "Tunnel":
        """Fail early, naming the hop, when the far end is unreachable."""
        try:
            chan = self.via.client.get_transport().open_channel("direct-tcpip", self.remote, ("127.0.0.1", 0),
                                                                timeout=self.via.connect_timeout)
            chan.close()
        except Exception as e:
            raise ConnectError(self.via.name, f"cannot reach {self.remote[0]}:{self.remote[1]} through this host: "
                               f"{e}", fix="check database.tunnel_via and that the host can reach the database") from e
        return self

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(2)

    def __enter__(self) -> "Tunnel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
