"""The lab hosts' services: sshd on every host, MariaDB, nginx, svnserve.

Each host starts as one init process: ``ip netns exec`` (network namespace,
per-host /etc files) + ``unshare --uts`` (its own host name), which binds the
host's /opt, /home, /etc/nginx and /var/log/nginx, mounts a private /run and becomes sshd.
Other services join that same mount namespace with ``nsenter``, so a command
run over SSH sees exactly the files its services read.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..core.errors import LabError
from .net import ns_name
from .paths import LabPaths

INIT = """#!/bin/sh
# Lab host init for {host}: private mounts, then become sshd.
set -e
mount -t tmpfs -o mode=755 lab-run /run
mkdir -p /run/sshd /run/mysqld
# /etc is the machine's: a private writable layer over it keeps what is written
# there (the runbook's /etc/hosts.bak.* backups) inside this host; then this
# host's own files from /etc/netns/{ns}/ go back on top of it.
mkdir -p {h}/etc-upper {h}/etc-work /run/etc-upper /run/etc-work
mount -t overlay rblab-etc -o lowerdir=/etc,upperdir={h}/etc-upper,workdir={h}/etc-work /etc 2>/dev/null || \
  mount -t overlay rblab-etc -o lowerdir=/etc,upperdir=/run/etc-upper,workdir=/run/etc-work /etc
for f in /etc/netns/{ns}/*; do mount --bind "$f" "/etc/${{f##*/}}"; done
mount --bind {h}/opt /opt
mount --bind {h}/home /home
{nginx}
hostname {host}
exec /usr/sbin/sshd -D -e -f {h}/sshd_config
"""

SSHD_CONFIG = """# The lab's sshd for {host}; the machine's sshd is never touched.
Port 22
ListenAddress 0.0.0.0
HostKey {h}/ssh_host_ed25519_key
PidFile {run}/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes no
AllowUsers {users}
ClientAliveInterval 30
Subsystem sftp internal-sftp
"""


def _popen(cmd: list[str], log: Path) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    return proc.pid


def start_host(paths: LabPaths, host: str, users: list[str], nginx: bool) -> int:
    """Write the host's sshd config and init, start it; return the init pid."""
    h = paths.host(host)
    key = h / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"lab-{host}", "-f", str(key)],
                       check=True)
    (h / "sshd_config").write_text(SSHD_CONFIG.format(
        host=host, h=h, run=h / "run", users=" ".join(sorted(set(users)))))
    # the LB host's own /etc/nginx, and /var/log/nginx (the vhosts' logs of 002/004 go there)
    bind_nginx = (f"mount --bind {h}/etc-nginx /etc/nginx\n"
                  f"mkdir -p {h}/var-log-nginx && mount --bind {h}/var-log-nginx /var/log/nginx") if nginx else ""
    init = h / "init.sh"
    init.write_text(INIT.format(host=host, h=h, nginx=bind_nginx, ns=ns_name(host)))
    os.chmod(init, 0o755)
    return _popen(["ip", "netns", "exec", ns_name(host), "unshare", "--uts", "/bin/sh", str(init)],
                  paths.log(host, "sshd"))


def in_host(init_pid: int, cmd: list[str]) -> list[str]:
    """A command line that runs CMD inside the host whose init is INIT_PID."""
    return ["nsenter", "-t", str(init_pid), "-m", "-u", "-n", "--"] + cmd


def run_in_host(init_pid: int, cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(in_host(init_pid, cmd), capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed in lab host: {res.stderr.strip()[-500:]}")
    return res


def start_mariadb(paths: LabPaths, host: str, init_pid: int, address: str, port: int) -> int:
    data = paths.host(host) / "mysql"
    # Its own tmpdir: a MariaDB starting removes every #sql* file in its tmpdir,
    # so with a shared /tmp one lab's start-up would break another's bootstrap.
    tmp = paths.host(host) / "mysql-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", "mysql:mysql", str(tmp)], check=True)
    if not (data / "mysql").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "-R", "mysql:mysql", str(data)], check=True)
        res = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=mysql",
                              "--auth-root-authentication-method=socket", "--skip-test-db", f"--tmpdir={tmp}"],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise LabError(f"mariadb-install-db failed: {res.stderr.strip()[-500:]}")
    sock = paths.host(host) / "run" / "mysqld.sock"
    subprocess.run(["chown", "mysql:mysql", str(paths.host(host) / "run"), str(paths.host(host) / "log")],
                   check=True)
    return _popen(in_host(init_pid, [
        "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", "--user=mysql", f"--socket={sock}",
        f"--tmpdir={tmp}",
        f"--port={port}", f"--bind-address={address}", f"--pid-file={paths.pidfile(host, 'mariadb')}",
        f"--log-error={paths.log(host, 'mariadb')}", "--skip-name-resolve", "--character-set-server=latin1",
        "--plugin-load-add=auth_ed25519",  # as many production servers have it
    ]), paths.log(host, "mariadb-stdout"))


def mariadb_socket(paths: LabPaths, host: str) -> Path:
    return paths.host(host) / "run" / "mysqld.sock"


def mariadb_sql(paths: LabPaths, host: str, init_pid: int, sql: str) -> None:
    """Run SQL as root over the socket (root has no network login)."""
    res = run_in_host(init_pid, ["mariadb", "--no-defaults", "-uroot", f"--socket={mariadb_socket(paths, host)}",
                                 "-e", sql], check=False)
    if res.returncode != 0:
        raise LabError(f"MariaDB setup on {host} failed: {res.stderr.strip()}")


def start_nginx(paths: LabPaths, host: str, init_pid: int) -> int:
    run_in_host(init_pid, ["nginx", "-t", "-q"])
    return _popen(in_host(init_pid, ["nginx", "-g", "daemon off;"]), paths.log(host, "nginx-stdout"))


def start_svnserve(paths: LabPaths, host: str, init_pid: int, address: str, user: str, password: str) -> int:
    root = paths.host(host) / "opt" / "svn"  # the host's own /opt/svn
    root.mkdir(parents=True, exist_ok=True)
    conf = paths.host(host) / "svnserve.conf"
    passwd = paths.host(host) / "svn-passwd"
    passwd.write_text(f"[users]\n{user} = {password}\n")
    os.chmod(passwd, 0o600)
    conf.write_text(f"[general]\nanon-access = none\nauth-access = write\npassword-db = {passwd}\nrealm = lab\n")
    if not (root / "lab-check").exists():
        subprocess.run(["svnadmin", "create", str(root / "lab-check")], check=True)
    return _popen(in_host(init_pid, [
        "svnserve", "-d", "--foreground", f"--listen-host={address}", "--listen-port=3690", "-r", "/opt/svn",
        f"--config-file={conf}", f"--pid-file={paths.pidfile(host, 'svnserve')}",
        f"--log-file={paths.log(host, 'svnserve')}"]), paths.log(host, "svnserve-stdout"))


def wait_port(address: str, port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(address, port):
            return True
        time.sleep(0.1)
    return False


def port_open(address: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def banner(address: str, port: int, timeout: float = 2.0) -> bytes:
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(64)
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Running (a zombie is not); reaps it when it was our own child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True


def stop_pids(pids: list[int], timeout: float = 10.0, namespaces: dict[int, str] | None = None) -> list[int]:
    """TERM, then KILL what is left. Only pids the lab started or that live in
    the lab's own namespaces are ever passed here (NAMESPACES: the network
    namespace each pid was listed in, checked again once it is held).

    Each process is held by a pidfd from the start and signalled through it:
    the machine has 32768 pids, and while this waits (up to TIMEOUT) a pid
    that is freed can be given to another process, another lab instance's
    MariaDB say. A plain kill by number would then end that one."""
    held: dict[int, int] = {}
    for p in pids:
        if not alive(p):
            continue
        try:
            fd = os.pidfd_open(p)
        except OSError:  # gone already
            continue
        if namespaces and p in namespaces and not _in_namespace(p, namespaces[p]):
            os.close(fd)  # the pid was freed and reused since it was listed: not ours
            continue
        held[p] = fd
    try:
        for fd in held.values():
            _signal(fd, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_running(p, fd) for p, fd in held.items()):
            time.sleep(0.1)
        for p, fd in held.items():
            if _running(p, fd):
                _signal(fd, signal.SIGKILL)
    finally:
        for fd in held.values():
            os.close(fd)
    return list(held)


def _signal(fd: int, sig: int) -> None:
    try:
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:  # it has ended: the pidfd never reaches another process
        pass


def _running(pid: int, fd: int) -> bool:
    """The held process has not ended (a pidfd is readable once it has); our
    own child is reaped when it has."""
    if not select.select([fd], [], [], 0)[0]:
        return True
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return False


def _in_namespace(pid: int, ns: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns}").st_ino
    except OSError:
        return False


def require_tools() -> None:
    missing = [t for t in ("ip", "nsenter", "unshare", "/usr/sbin/sshd", "ssh-keygen", "keytool")
               if not (Path(t).exists() if t.startswith("/") else _which(t))]
    if missing:
        raise LabError(f"missing tools: {missing}", fix="run `make deps` (installs the Debian packages)")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces)", fix="run as root, e.g. `sudo make demo`")


def _which(tool: str) -> bool:
    return shutil.which(tool) is not None
