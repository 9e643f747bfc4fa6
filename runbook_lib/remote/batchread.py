"""Several files of one host read in one command (issue 23).

Over SFTP each file read is four round trips (open, read, the read that
finds the end, close); a step that reads eight files on each of 129 hosts
spent a second on it. `tar` sends them all in one stream: one command, one
round. What tar cannot vouch for is left out, and the caller reads it the
usual way (Host.read_file): a path that is absent or unreadable, not a
regular file, named differently in the archive, or mentioned in tar's
warnings (e.g. "file changed as we read it"). A host without a usable tar
reads everything the usual way. Never for sudo reads. Fewer than WORTH
files are read the usual way too: tar's process costs more than SFTP's
round trips for one or two files (at 128 workers: one file 0.15 s over SFTP,
0.33 s with tar; two files even; three 0.40 against 0.32 s).
"""

from __future__ import annotations

import io
import shlex
import tarfile
from typing import Any, Iterable

WORTH = 3

# -h: a symlink's target, as open() reads it; -P: names as given; --no-recursion: a folder is
# an entry of its own (left out below), never its whole tree.
COMMAND = "tar -c -h -P --no-recursion -f - -- {paths}"


def read_many(host: Any, paths: Iterable[str]) -> dict[str, bytes]:
    """{path: bytes} for those of PATHS tar read cleanly on HOST (a Host: not
    imported, host.py imports this), in one command."""
    wanted = list(dict.fromkeys(paths))
    if len(wanted) < WORTH:
        return {}
    rc, out, err = host.exec_bytes(COMMAND.format(paths=" ".join(shlex.quote(p) for p in wanted)))
    if rc not in (0, 1, 2) or not out:  # 1: a file changed while read; 2: one missing (said on stderr)
        return {}
    warned = err.decode(errors="replace")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(out), mode="r:") as archive:
            for member in archive:
                if member.isfile() and member.name in wanted and member.name not in warned:
                    data = archive.extractfile(member)
                    if data is not None:
                        found[member.name] = data.read()
    except tarfile.TarError:  # not an archive (another tar's output, an error text): read the usual way
        return {}
    return found
