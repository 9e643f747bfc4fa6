"""Temporary product homes for the stand-in's unit tests (no lab): copies of
the lab skeletons with stand-in launchers, edited by regular expressions,
run on a 127.0.0.x loopback address with free ports."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from runbook_lib.lab import launcher
from runbook_lib.lab.hostfs import install_standin_jdk
from runbook_lib.lab.standin import product

SKELETONS = Path(__file__).resolve().parent.parent / "runbook_lib" / "lab" / "skeletons"
BASE_PORTS = (9763, 9443, 8280, 8243)


def free(addr: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((addr, port))
            return True
        except OSError:
            return False


def free_offset(addr: str, taken: set[int] = frozenset()) -> int:
    for _ in range(500):
        off = random.randint(2000, 20000)
        if off not in taken and all(free(addr, p + off) for p in BASE_PORTS):
            return off
    raise RuntimeError("no free offset")


def free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


class Home:
    def __init__(self, tmp: Path, name: str, dist: str = "ei-6.1.1", addr: str = "127.0.0.1",
                 script: str | None = None):
        self.path = tmp / name
        shutil.copytree(SKELETONS / dist, self.path, ignore=shutil.ignore_patterns(".keep"))
        launcher.install(self.path)
        self.addr = addr
        _, specs = launcher.specs_of(self.path)
        self.prof = product.Profile(**{**next(d for d in specs if d["script"] == (script or specs[0]["script"])),
                                       "agents": {}})
        self.conf = self.path / self.prof.conf
        self.log = self.prof.log_file(self.path)
        # the broker profile's own launcher is its wso2server.sh (bin/broker.sh loops for ever, as the real one)
        self.launcher = (self.path / "bin" / self.prof.script if self.prof.carbon_home in (".", "")
                         else self.path / self.prof.carbon_home / "bin" / "wso2server.sh")
        self.java_home = str(install_standin_jdk(tmp / "opt").parent.parent)

    def edit(self, rel: str, pattern: str, repl: str, count: int = 1) -> None:
        f = self.conf / rel
        text = f.read_text()
        new, n = re.subn(pattern, repl, text, count=count, flags=re.S)
        assert n, f"{pattern!r} not found in {f}"
        f.write_text(new)

    def set_offset(self, off: int) -> None:
        self.edit("carbon.xml", r"<Offset>\d+</Offset>", f"<Offset>{off}</Offset>")
        self.offset = off

    def cluster(self, domain: str, port: int, members: list[tuple[str, int]], host: str | None = None,
                sub_domain: str | None = None, agent: str | None = None) -> None:
        ax = "axis2/axis2.xml"
        self.edit(ax, r'(<clustering class="[^"]*"\s*)enable="false"', r'\1enable="true"')
        if agent:
            self.edit(ax, r'<clustering class="[^"]*"', f'<clustering class="{agent}"')
        self.edit(ax, r'(<parameter name="domain">)[^<]*', rf"\g<1>{domain}")
        self.edit(ax, r'(<parameter name="localMemberHost">)[^<]*', rf"\g<1>{host or self.addr}")
        self.edit(ax, r'(<parameter name="localMemberPort">)[^<]*', rf"\g<1>{port}")
        self.edit(ax, r'(<parameter name="membershipScheme">)[^<]*', r"\1wka")
        mem = "".join(f"<member><hostName>{h}</hostName><port>{p}</port></member>" for h, p in members)
        self.edit(ax, r"<members>\s*<member>.*?</members>", f"<members>{mem}</members>")
        if sub_domain:
            self.edit(ax, r'(<parameter name="properties">)', rf'\1<property name="subDomain" value="{sub_domain}"/>')
        self.member_port = port

    def env(self) -> dict:
        # STANDIN_SPEC comes from the bin script; JAVA_HOME is the lab's stand-in JDK (1.8)
        return {**os.environ, "STANDIN_BIND_ADDRESS": self.addr, "JAVA_HOME": self.java_home}

    def script(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(self.launcher), *args], env=env or self.env(),
                              capture_output=True, text=True, timeout=30)

    def start(self, *args: str) -> None:
        assert self.script("start", *args).returncode == 0

    def stop(self, wait: float = 15.0) -> None:
        """`stop` (TERM, returns at once, as the real script), then wait for the pid to exit."""
        pid = self.pid()
        self.script("stop")
        deadline = time.monotonic() + wait
        while pid and time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)

    def pid(self) -> int | None:
        try:
            return int(self.prof.pid_file(self.path).read_text())
        except (OSError, ValueError):
            return None

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_log(self, needle: str, timeout: float = 20.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.text()
            if t.count(needle) >= count or "start-up failed" in t and needle != "start-up failed":
                break
            time.sleep(0.1)
        t = self.text()
        assert t.count(needle) >= count, f"{needle!r} not in {self.log}:\n{t[-3000:]}"
        return t


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def amqp_answers(address: str, port: int, timeout: float) -> bool:
    """True when a broker answers the AMQP 0-9-1 header with Connection.Start;
    False when it refuses or closes the connection (a partitioned node refuses work)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"AMQP\x00\x00\x09\x01")
            return s.recv(16)[:1] == b"\x01"
    except OSError:
        return False


def make_homes(tmp_path: Path, addr: str):
    """The `homes` fixture of the stand-in tests: yields make(name, dist, **kw),
    each home on ADDR at a free offset; kills what the homes started."""
    made: list[Home] = []

    def make(name: str, dist: str = "ei-6.1.1", **kw) -> Home:
        h = Home(tmp_path, name, dist, addr, **kw)
        h.set_offset(free_offset(addr, {getattr(x, "offset", -1) for x in made}))
        made.append(h)
        return h

    yield make
    for h in made:
        pid = h.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def vault_home(tmp: Path, store: Path, texts: dict[str, str], password_lines: list[str] | None,
               conf_extra: str = "") -> Path:
    """A profile home with Secure Vault configured as the runbook writes it:
    STORE as wso2carbon.jks, TEXTS in cipher-text.properties (its `=` escaped as
    the cipher tool writes it), CONF_EXTRA appended to secret-conf.properties,
    and password-tmp holding PASSWORD_LINES (None: no file)."""
    home = tmp / "home"
    (home / "conf" / "security").mkdir(parents=True)
    (home / "repository" / "resources" / "security").mkdir(parents=True)
    (home / "repository" / "resources" / "security" / "wso2carbon.jks").write_bytes(store.read_bytes())
    (home / "conf" / "security" / "secret-conf.properties").write_text(
        "secretRepositories=file\nsecretRepositories.file.location=conf/security/cipher-text.properties\n"
        "keystore.identity.location=repository/resources/security/wso2carbon.jks\nkeystore.identity.type=JKS\n"
        "keystore.identity.alias=wso2carbon\n" + conf_extra)
    (home / "conf" / "security" / "cipher-text.properties").write_text(
        "".join(f"{k}={v.replace('=', chr(92) + '=')}\n" for k, v in texts.items()))
    if password_lines is not None:
        (home / "password-tmp").write_text("".join(x + "\n" for x in password_lines))
    return home
