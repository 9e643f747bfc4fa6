"""The node object every part of the stand-in works on: where its files
are, what its configuration says (read once at start-up), its log, its
ports, and its cluster view. The broker profile (broker.py) codes against
this; see /work/coord/NOTES-standin.md."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from . import config, datasources, product, securevault
from .carbonlog import CarbonLog
from .errors import StartupError


def parse_sysprops(args: list[str]) -> dict[str, str]:
    props = {}
    for a in args:
        if a.startswith("-D"):
            k, _, v = a[2:].partition("=")
            props[k] = v if _ else "true"
    return props


def host_address() -> str:
    """The host's own address: STANDIN_BIND_ADDRESS (tests), else the host
    name in /etc/hosts (each lab host has its own), else loopback."""
    env = os.environ.get("STANDIN_BIND_ADDRESS")
    if env:
        return env
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class Node:
    def __init__(self, home: Path, script: str, args: list[str]):
        self.home = home.resolve()
        self.script = script
        self.args = args
        self.profile = product.current(script)
        self.carbon_home = self.profile.carbon_dir(self.home)
        self.conf = self.home / self.profile.conf
        self.lib = self.home / self.profile.lib
        self.sysprops = parse_sysprops(args)
        self.worker_profile = self.profile.worker_profile and self.sysprops.get("workerNode") == "true"
        self.log = CarbonLog(self.profile.log_file(self.home), self.profile.trailing_logger)
        self.address = host_address()
        # Carbon binds its transports on every interface; the lab's tests bind one loopback address.
        self.bind_address = os.environ.get("STANDIN_BIND_ADDRESS", "0.0.0.0")
        self.stopping = threading.Event()
        self.started = time.time()
        self.ports: dict[str, int] = {}
        self.console_pages: dict[str, Callable] = {}
        self.membership = None
        self.deployer = None
        self.webapps = None  # the AS profile's WebappDeployer (also its deployer)
        self.agent_proto: str | None = None
        self._on_stop: list[Callable[[], None]] = []
        self._sockets: list[socket.socket] = []
        self.carbon: config.Carbon | None = None
        self.axis2: config.Axis2 | None = None
        self.sources: dict[str, datasources.DataSource] = {}
        self.vault: dict[str, str] | None = None  # alias -> secret (securevault.py), None: no Secure Vault

    # -- configuration --------------------------------------------------
    def load(self) -> None:
        # ServerConfiguration's load starts the secret manager first (carbon-kernel v4.4.16; SOURCES.md V1)
        self.vault = securevault.load(self.conf, self.carbon_home, self.sysprops.get("persist.password") == "true",
                                      self.sysprops.get("key.password", "").strip() == "true")
        self.carbon = config.read_carbon(self.conf, self.sysprops, self.vault)
        self.axis2 = config.read_axis2(self.conf)
        self.catalina = config.read_catalina(self.conf) if (self.conf / "tomcat" / "catalina-server.xml").exists() \
            else {"http": product.SERVLET_HTTP, "https": product.SERVLET_HTTPS}
        self.admin = config.admin_user(self.conf, self.vault) if (self.conf / "user-mgt.xml").exists() else ("admin", "admin")
        if (self.conf / "datasources" / "master-datasources.xml").exists():
            self.sources = datasources.read(self.conf, self.vault)
        if self.profile.name != "elb":
            config.referenced_datasources(self.conf)  # well-formedness of registry.xml and user-mgt.xml

    @property
    def offset(self) -> int:
        return self.carbon.offset if self.carbon else 0

    @property
    def server_name(self) -> str:
        return f"{self.carbon.name}-{self.carbon.version}" if self.carbon else "WSO2 Carbon"

    @property
    def member_host(self) -> str:
        cl = self.axis2.clustering if self.axis2 else None
        return cl.local_host if cl and cl.local_host else self.address

    # -- what broker.py and the other modules use ----------------------
    def datasource(self, name: str) -> datasources.DataSource | None:
        return datasources.lookup(self.sources, name)

    def connect(self, name: str):
        d = self.datasource(name)
        if d is None:
            raise StartupError(f"Error in looking up data source: {name}",
                               "org.wso2.carbon.ndatasource.core.DataSourceRepository")
        return datasources.connect(d)

    def bind(self, port: int, host: str | None = None, what: str = "connector") -> socket.socket:
        addr = host or self.bind_address
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
            s.listen(64)
        except OSError as e:
            s.close()
            why = "Address already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise StartupError(f"Failed to start {what} on {addr}:{port}: java.net.BindException: {why}",
                               "org.apache.catalina.core.StandardService" if "connector" in what
                               else "org.wso2.carbon.core.internal.CarbonCoreServiceComponent") from None
        self._sockets.append(s)
        return s

    def add_console_page(self, path: str, fn: Callable) -> None:
        """Serve FN(request) -> (status, headers, body) at PATH on the console (servlet HTTPS)."""
        self.console_pages[path] = fn

    def on_stop(self, fn: Callable[[], None]) -> None:
        self._on_stop.append(fn)

    def shutdown(self) -> None:
        for fn in reversed(self._on_stop):
            try:
                fn()
            except Exception as e:  # keep stopping the rest
                self.log.standin(f"error while stopping: {e}", "WARN")
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
