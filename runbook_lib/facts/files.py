"""``host.file(path)``: a remote file as a read-only resource (testinfra style).

It needs of its host only what ``Reader`` says, so this module imports
nothing of host.py (host.py imports it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from stat import S_ISDIR, S_ISREG
from typing import Any, Callable, Protocol


class Reader(Protocol):
    """What a RemoteFile uses of a host (runbook_lib.remote.host.Host provides it)."""

    def read_file(self, path: str, sudo: bool = False) -> bytes | None: ...

    def run(self, command: str, *args: object, sudo: bool = False) -> Any: ...

    def check(self, command: str, *args: object, sudo: bool = False) -> Any: ...

    def stat(self, path: str) -> Any: ...


@dataclass
class RemoteFile:
    host: Reader
    path: str
    sudo: bool = False

    @property
    def content(self) -> bytes | None:
        return self.host.read_file(self.path, sudo=self.sudo)

    @property
    def exists(self) -> bool:
        return self.host.run("test -e %s", self.path, sudo=self.sudo).ok

    @property
    def is_file(self) -> bool:
        """A regular file (symlinks followed), as `test -f` says."""
        return self._is("-f", S_ISREG)

    @property
    def is_dir(self) -> bool:
        """A folder (symlinks followed), as `test -d` says."""
        return self._is("-d", S_ISDIR)

    def _is(self, flag: str, kind: Callable[[int], bool]) -> bool:
        """Over SFTP, without a command (a process on the host each); with sudo, `test FLAG` itself."""
        if self.sudo:
            return self.host.run(f"test {flag} %s", self.path, sudo=True).ok
        st = self.host.stat(self.path)
        return st is not None and st.st_mode is not None and kind(st.st_mode)

    @property
    def sha256(self) -> str | None:
        data = self.content
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def stat(self) -> dict[str, str]:
        """owner, group and octal mode, as `stat` reports them."""
        res = self.host.check("stat -c '%%U %%G %%a' %s", self.path, sudo=self.sudo)
        owner, group, mode = res.stdout.split()
        return {"owner": owner, "group": group, "mode": mode}

    def contains(self, text: str) -> bool:
        data = self.content
        return data is not None and text.encode() in data
