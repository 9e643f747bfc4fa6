"""Chromium in a network namespace of its own, for the browser tests.

Chromium drops every request in flight when the machine's network changes
(``net::ERR_NETWORK_CHANGED``, loopback included; Chromium's own
NetworkChangeNotifierLinux watches every link and address over netlink), and
while the tests run side by side other lab instances add and remove links all
the time: JupyterLab then showed "Error Loading Theme", "Failed to fetch" or a
blank page. In a namespace with loopback only, nothing changes under it.

JupyterLab stays in the machine's namespace (its kernels must reach the lab's
hosts). A forwarder in the test process accepts on the private namespace's
127.0.0.1:PORT and connects to the machine's 127.0.0.1:PORT, so a URL means
the same on both sides. The namespace has no name: it lives as long as the
test process holds it or Chromium runs in it, and the kernel frees it after a
crash. Traffic never leaves loopback.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class PrivateNet:
    """A loopback-only network namespace forwarding PORTS to the machine's loopback."""

    def __init__(self, ports: list[int]) -> None:
        self.fd = -1
        self.listeners: list[socket.socket] = []
        failed: list[BaseException] = []
        # unshare() moves only the calling thread: a thread of its own enters the new
        # namespace, brings up its loopback (a child forked by that thread is in it) and
        # opens the listening sockets there; every other thread stays on the machine's.
        thread = threading.Thread(target=self._enter, args=(ports, failed))
        thread.start()
        thread.join()
        if failed:
            self.close()
            raise failed[0]
        for listener, port in zip(self.listeners, ports):
            threading.Thread(target=self._accept, args=(listener, port), daemon=True).start()

    def _enter(self, ports: list[int], failed: list[BaseException]) -> None:
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed (the browser tests need root)")
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
            self.fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            self.listeners = [socket.create_server(("127.0.0.1", port)) for port in ports]
        except BaseException as e:  # reported on the caller's thread
            failed.append(e)

    @staticmethod
    def _accept(listener: socket.socket, port: int) -> None:
        while True:
            try:
                inside, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                outside = socket.create_connection(("127.0.0.1", port))  # this thread: the machine's namespace
            except OSError:
                inside.close()
                continue
            for a, b in ((inside, outside), (outside, inside)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def executable(self, chromium: str, folder: Path) -> str:
        """A script that starts CHROMIUM (with Playwright's arguments) inside the namespace."""
        script = folder / "chromium-private-net"
        script.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{os.getpid()}/fd/{self.fd} {chromium} "$@"\n')
        script.chmod(0o755)
        return str(script)

    def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy SRC to DST until either side ends, then end both (HTTP and websockets need no half-close)."""
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
