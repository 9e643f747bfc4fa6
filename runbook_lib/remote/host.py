"""One SSH target, shaped like Fabric's Connection and testinfra's Host.

Host keys are checked strictly against the params' known_hosts (connect.py): an unknown or
changed key is refused with the fingerprints in the message, never added.
The connection opens on first use and is reused for the whole run.
"""

from __future__ import annotations

import base64
import posixpath
import secrets
import shlex
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator

import paramiko

from ..core.errors import CommandError, ConnectError, RunbookError
from ..facts.files import RemoteFile
from ..run.changelog import record_file, sha256
from . import batchread, connect, sftpwrite, sshpool


@dataclass(frozen=True)
class CommandResult:
    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


UNREAD = object()  # write_file's BEFORE when the caller did not read the file


def run_id_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class Host:
    """A lazily connected SSH host: run/check commands, read/write files."""

    def __init__(self, name: str, address: str, user: str, *, port: int = 22, key_filename: str | None = None,
                 known_hosts: str, sudo: bool = True, jump: "Host | None" = None,
                 connect_timeout: float = 10, command_timeout: float = 120, run_id: str | None = None) -> None:
        self.name, self.address, self.user, self.port = name, address, user, port
        self.key_filename, self.known_hosts, self.can_sudo, self.jump = key_filename, known_hosts, sudo, jump
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.run_id = run_id or run_id_now()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._kept: sshpool.Kept | None = None  # the run's kept connection (sshpool), when it is on
        self._lock = threading.Lock()
        self.backups: dict[str, str] = {}  # path -> backup path, taken in this run
        self._fetched: dict[str, bytes] = {}  # prefetched(): served by read_file until the next command or write

    def __repr__(self) -> str:
        return f"Host({self.name} {self.user}@{self.address}:{self.port})"

    # -- connection -------------------------------------------------------
    @property
    def client(self) -> paramiko.SSHClient:
        with self._lock:
            if self._client is None or not self._client.get_transport() or \
                    not self._client.get_transport().is_active():
                self._client = self._connect_or_reuse()
            return self._client

    def _connect_or_reuse(self) -> paramiko.SSHClient:
        """In a headless run, the connection an earlier notebook made to this host (sshpool); else a new one."""
        if not sshpool.enabled():
            return self._connect()
        self._kept = sshpool.take(self, self._connect)
        return self._kept.client

    def _connect(self) -> paramiko.SSHClient:
        return connect.open_client(self)

    def close(self) -> None:
        with self._lock:
            if self._kept is not None:  # kept for the run's next notebook (sshpool)
                self._client = self._sftp = self._kept = None
                return
            if self._sftp:
                self._sftp.close()
            if self._client:
                self._client.close()
            self._client = self._sftp = None

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ---------------------------------------------------------
    def run(self, command: str, *args: object, sudo: bool = False, timeout: float | None = None,
            stdin: bytes | None = None) -> CommandResult:
        """Run COMMAND with ARGS shell-quoted into its %s slots; never raises on rc."""
        cmd = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        full = f"sudo -n -- sh -c {shlex.quote(cmd)}" if sudo else cmd
        rc, out, err = self._exec(full, cmd, timeout, stdin)
        return CommandResult(cmd, rc, out.decode(errors="replace"), err.decode(errors="replace"))

    def exec_bytes(self, command: str) -> tuple[int, bytes, bytes]:
        """COMMAND's exit status, stdout and stderr as bytes (batchread: a tar stream)."""
        return self._exec(command, command, None, None)

    def _exec(self, full: str, cmd: str, timeout: float | None, stdin: bytes | None) -> tuple[int, bytes, bytes]:
        self._fetched = {}  # a command may change any file: what prefetched() read is stale
        try:
            chan = self._open_session()
            chan.settimeout(timeout or self.command_timeout)
            chan.exec_command(full)
            if stdin is not None:
                chan.sendall(stdin)
                chan.shutdown_write()
            out, err = chan.makefile("rb").read(), chan.makefile_stderr("rb").read()
            return chan.recv_exit_status(), out, err
        except (socket.timeout, TimeoutError) as e:
            raise CommandError(cmd, -1, f"timed out after {timeout or self.command_timeout:g}s", self.name) from e
        except paramiko.SSHException as e:
            raise ConnectError(self.name, f"SSH failed while running `{cmd}`: {e}") from e

    def _open_session(self) -> paramiko.Channel:
        """A new session channel, within the connect timeout. If the server
        does not answer on a reused connection, reconnect once and retry:
        nothing has run yet, so the retry is safe."""
        for attempt in (1, 2):
            try:
                return self.client.get_transport().open_session(timeout=self.connect_timeout)
            except paramiko.SSHException:
                if attempt == 2:
                    raise
                with self._lock:
                    if self._kept is not None:
                        sshpool.forget(sshpool.key_of(self))
                    elif self._client is not None:
                        self._client.close()
                    self._client = self._sftp = self._kept = None
        raise AssertionError("unreachable")

    def check(self, command: str, *args: object, **kw) -> CommandResult:
        res = self.run(command, *args, **kw)
        if not res.ok:
            raise CommandError(res.command, res.rc, res.stderr or res.stdout, self.name)
        return res

    # -- files ------------------------------------------------------------
    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None or self._sftp.sock.closed:
            client, kept = self.client, self._kept
            if kept is not None and kept.client is client:  # one SFTP session per kept connection
                self._sftp = kept.session()
            else:
                self._sftp = client.open_sftp()
        return self._sftp

    @contextmanager
    def prefetched(self, paths: Iterable[str]) -> Iterator[None]:
        """Within the block, read_file of PATHS is served from one command that read
        them all (batchread.py: tar), until this host's next command or write (either
        may change a file); what tar could not read is read the usual way."""
        self._fetched = batchread.read_many(self, paths)
        try:
            yield
        finally:
            self._fetched = {}

    def stat(self, path: str) -> paramiko.SFTPAttributes | None:
        """PATH's attributes, symlinks followed (as `test -f` sees it), over SFTP:
        no command, no process on the host. None when it cannot be seen."""
        try:
            return self.sftp.stat(path)
        except (FileNotFoundError, PermissionError):
            return None

    def read_file(self, path: str, sudo: bool = False) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        if not sudo and path in self._fetched:
            return self._fetched[path]
        if sudo:
            res = self.run("test -e %s && base64 < %s || echo __ABSENT__", path, path, sudo=True)
            if res.stdout.strip() == "__ABSENT__":
                return None
            if not res.ok:
                raise CommandError(res.command, res.rc, res.stderr, self.name)
            return base64.b64decode(res.stdout)
        try:
            with self.sftp.open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except PermissionError as e:
            raise CommandError(f"read {path}", 13, f"permission denied ({e}); set sudo for this file",
                               self.name) from e

    def write_file(self, path: str, data: bytes, *, sudo: bool = False, mode: int | None = None,
                   backup: bool = True, before: bytes | None | object = UNREAD) -> str | None:
        """Write atomically (temporary file in the same folder, then rename),
        keeping owner and mode; back the old file up first, once per run.
        BEFORE: the file's bytes as the caller read them (None: absent); with
        them, and without sudo, the write is SFTP alone (sftpwrite.py).
        Returns the backup's path when one was taken."""
        self._fetched.pop(path, None)
        d, base = posixpath.split(path)
        # Names unique to this write: hosts are written concurrently, and in the lab they share /tmp and,
        # for /etc/hosts (a per-namespace bind mount), the folder /etc as well.
        token = secrets.token_hex(4)
        tmp = posixpath.join(d, f".{base}.runbook-tmp-{token}")
        if not sudo and before is not UNREAD:
            done = sftpwrite.write_for(self, path, data, before, tmp, mode, backup)  # type: ignore[arg-type]
            if done is not None:
                return done or None
        staging = f"/tmp/.runbook-{self.run_id}-{self.name}-{token}-{base}" if sudo else tmp
        try:
            with self.sftp.open(staging, "wb") as f:
                f.write(data)
        except (OSError, EOFError, paramiko.SSHException) as e:  # ENOSPC, a dropped connection: the original is untouched
            raise sftpwrite.staging_failed(self, e, path, staging) from e
        bak = self.backup_path(path)
        take_backup = backup and path not in self.backups
        script = WRITE_SCRIPT.format(
            path=shlex.quote(path), staging=shlex.quote(staging), bak=shlex.quote(bak),
            tmp=shlex.quote(tmp),
            backup="1" if take_backup else "0", mode=f"{mode:o}" if mode is not None else "")
        res = self.run(script, sudo=sudo)
        if not res.ok:
            raise CommandError(f"write {path}", res.rc, res.stderr + "\nThe original file is untouched (the new "
                               "content goes to a temporary file renamed only when complete). Fix: the error above "
                               "(e.g. free space with df -h), then run again", self.name)
        if take_backup and "BACKUP" in res.stdout:  # BACKUP or BACKUP_KEPT (an earlier notebook of this run)
            self.backups[path] = bak
        record_file(self.name, path, existed="EXISTED" in res.stdout, backup=self.backups.get(path) if backup else None,
                    sha256_after=sha256(data), sudo=sudo, run_id=self.run_id)
        return bak if take_backup and "BACKUP" in res.stdout else None

    # -- backups: one naming and one record for every writer ------------------

    def backup_path(self, path: str) -> str:
        """Where PATH is backed up in this run: ``<path>.bak.<run id>``, next to it."""
        return f"{path}.bak.{self.run_id}"

    def backup_command(self, path: str) -> str:
        """The shell command that backs PATH up (for writers that show their commands)."""
        return f"cp -p {shlex.quote(path)} {shlex.quote(self.backup_path(path))}"

    def backup(self, path: str, *, sudo: bool = False) -> str | None:
        """Back PATH up once per run (write_file does it by itself); the backup's
        path, or None when PATH does not exist."""
        if path in self.backups:
            return self.backups[path]
        if not self.run("test -e %s", path, sudo=sudo).ok:
            return None
        bak = self.backup_path(path)  # kept when an earlier notebook of this run made it: the pre-run state
        self.check("test -e %s || cp -p %s %s", bak, path, bak, sudo=sudo)
        self.backups[path] = bak
        return self.backups[path]

    def archive_path(self, label: str, home: str | None = None) -> str:
        """Where a folder is archived before the runbook empties it:
        ~/runbook-backups/<label>.<run id>.tar.gz (a folder has no place beside it).
        HOME: the login's $HOME, when the caller has read it already."""
        home = home or self.check(HOME_COMMAND).stdout
        return f"{home}/runbook-backups/{label}.{self.run_id}.tar.gz"

    def file(self, path: str, sudo: bool = False) -> RemoteFile:
        return RemoteFile(self, path, sudo)


HOME_COMMAND = 'printf %s "$HOME"'

# Runs on the host. The rename is atomic; /etc/hosts in containers and in the
# lab is a bind mount that cannot be renamed over (EBUSY), so that one case
# falls back to rewriting in place after the backup, and says so. The backup
# is the file before this run's FIRST write (kept when a later notebook of the
# same run writes it again); a failure part-way (a full disk) leaves no
# temporary or partial backup file behind.
WRITE_SCRIPT = """set -e
trap "rm -f {tmp} {staging} {bak}.part" EXIT
if [ -e {path} ]; then echo EXISTED; fi
if [ -e {path} ] && [ {backup} = 1 ]; then
  if [ -e {bak} ]; then echo BACKUP_KEPT; else cp -p {path} {bak}.part; mv {bak}.part {bak}; echo BACKUP; fi
fi
if [ {staging} != {tmp} ]; then cp {staging} {tmp}; rm -f {staging}; fi
if [ -e {path} ]; then chown --reference={path} {tmp}; chmod --reference={path} {tmp}; fi
if [ -n "{mode}" ]; then chmod {mode} {tmp}; fi
if ! mv -f {tmp} {path} 2>/dev/null; then cat {tmp} > {path}; rm -f {tmp}; echo IN_PLACE; fi
"""
