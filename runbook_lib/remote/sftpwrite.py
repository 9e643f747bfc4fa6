"""Writing a file over SFTP alone, with no remote command (issue 23).

`Host.write_file` used to run a shell script of about five processes per
file (cp for the backup, cp, chown, chmod, mv). When the caller still holds
the bytes it read (every edit does: the plan computes the edits from them),
the same write needs no process on the host: the backup is written from
those bytes, the new content to a temporary file beside the target, owner,
mode and times set over SFTP, then one atomic `posix-rename`.

The guarantees are the shell path's: the backup is the file before this
run's first write (kept when a backup of this run is already there), the
target is replaced atomically, owner and mode are kept. Anything this path
cannot promise raises `UseShell` before the target is touched, and the
caller falls back to the script: the file changed size since it was read
(the backup would not be what is on disk), its owner is another account
(only root can chown to it), or the rename is refused (/etc/hosts is a bind
mount in containers and in the lab).
"""

from __future__ import annotations

import posixpath
import stat as st
from typing import Any, NamedTuple

import paramiko

from ..core.errors import ConnectError, RunbookError
from ..run.changelog import record_file, sha256


class UseShell(Exception):
    """This write needs the shell script's path."""


class Written(NamedTuple):
    existed: bool
    backup: str  # "BACKUP", "BACKUP_KEPT" or "" (the script's words)


def _stat(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    try:
        return sftp.stat(path)
    except FileNotFoundError:
        return None


def _put(sftp: paramiko.SFTPClient, path: str, data: bytes, like: paramiko.SFTPAttributes | None,
         mode: int | None, times: bool = False) -> None:
    """PATH holds DATA with LIKE's owner and mode (MODE wins), and with TIMES its times too."""
    with sftp.open(path, "wb") as f:
        f.set_pipelined(True)
        f.write(data)
    made = sftp.stat(path)
    if made.st_size != len(data):  # a full disk may cut a pipelined write short without an error status
        raise UseShell(f"short write: {made.st_size} of {len(data)} bytes")
    if like is not None and (made.st_uid, made.st_gid) != (like.st_uid, like.st_gid):
        try:
            sftp.chown(path, like.st_uid, like.st_gid)
        except OSError as e:  # another account's file: only the shell path (sudo) may keep its owner
            raise UseShell(f"owner {like.st_uid}:{like.st_gid}") from e
    want = mode if mode is not None else (st.S_IMODE(like.st_mode) if like is not None else None)
    if want is not None and st.S_IMODE(made.st_mode) != want:
        sftp.chmod(path, want)
    if times and like is not None:
        sftp.utime(path, (like.st_atime, like.st_mtime))


def write(sftp: paramiko.SFTPClient, path: str, data: bytes, before: bytes | None, *, tmp: str, bak: str,
          take_backup: bool, mode: int | None) -> Written:
    """Write DATA to PATH over SFTP; BEFORE: the bytes the caller read (None: absent)."""
    cur = _stat(sftp, path)
    if (cur is None) != (before is None) or (cur is not None and cur.st_size != len(before or b"")):
        raise UseShell("the file changed since it was read")
    made: list[str] = []
    try:
        backup = ""
        if cur is not None and take_backup:
            if _stat(sftp, bak) is not None:
                backup = "BACKUP_KEPT"  # an earlier notebook of this run: the pre-run state
            else:
                made.append(bak + ".part")
                _put(sftp, bak + ".part", before or b"", cur, None, times=True)  # as `cp -p` would
                sftp.posix_rename(bak + ".part", bak)
                made.pop()
                backup = "BACKUP"
        made.append(tmp)
        _put(sftp, tmp, data, cur, mode)
        try:
            sftp.posix_rename(tmp, path)
        except OSError as e:
            raise UseShell(f"rename refused ({e})") from e
        made.pop()
        return Written(cur is not None, backup)
    finally:
        for leftover in made:
            try:
                sftp.remove(leftover)
            except OSError:
                pass


def write_for(host: Any, path: str, data: bytes, before: bytes | None, tmp: str, mode: int | None,
              backup: bool) -> str | None:
    """Host.write_file over SFTP alone (HOST: that Host; not imported, host.py imports this): the backup's path ("" when none was
    taken), or None when the shell path must do it (UseShell)."""
    bak = host.backup_path(path)
    take_backup = backup and path not in host.backups
    try:
        done = write(host.sftp, path, data, before, tmp=tmp, bak=bak, take_backup=take_backup, mode=mode)
    except (UseShell, OSError, EOFError, paramiko.SSHException):
        # A failure (a full disk, a dropped connection) left the target untouched and removed what it
        # made: the shell path tries again and says what went wrong, as for every other write.
        return None
    if take_backup and done.backup:
        host.backups[path] = bak
    record_file(host.name, path, existed=done.existed, backup=host.backups.get(path) if backup else None,
                sha256_after=sha256(data), sudo=False, run_id=host.run_id)
    return bak if take_backup and done.backup else ""


def staging_failed(host: Any, e: BaseException, path: str, staging: str) -> RunbookError:
    """Why writing STAGING (the new content of PATH) failed, for Host.write_file to raise:
    the connection broke, the disk is full, the folder is not there, or the error as it
    came. The partial staging file is removed first; the original was never touched."""
    dropped = not isinstance(e, OSError) or "closed" in str(e).lower()
    avail = ""
    try:
        host.run("rm -f %s", staging)  # reconnects if the connection dropped
        avail = host.run("df -Pk %s | awk 'NR==2 {print $4}'", posixpath.dirname(staging)).stdout.strip()
    except RunbookError:
        dropped = True
    if dropped:
        return ConnectError(host.name, f"the connection broke while writing {path} ({e or type(e).__name__}). The "
                            "original file is untouched (the new content goes to a temporary file renamed only when "
                            "complete)", fix="check the host and its sshd, then run again")
    folder, fix = posixpath.dirname(staging), "free space on the host (df -h), then run again"
    if isinstance(e, FileNotFoundError):
        why, fix = f"the folder {folder} does not exist", f"check the path; create {folder} as the product's owner"
    elif avail in ("0", "1"):
        why = f"the disk holding {folder} is full ({avail} KiB free)"
    else:
        why = f"{e} ({avail} KiB free there)" if avail else str(e)
    return RunbookError(f"{host.name}: cannot write {path}: {why}; the original file is untouched and no partial "
                        "file was left", fix=fix)
