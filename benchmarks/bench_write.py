"""One file write with its backup, the two ways Host.write_file has (issue 23):
the shell script (about five processes on the host) and SFTP alone (when the
caller holds the bytes it read). Used by bench_scale.py on a lab that is up;
prints nothing itself and asserts nothing."""

from __future__ import annotations

import time
from pathlib import Path

from runbook_lib.params import load_params
from runbook_lib.remote.host import Host


def write_path(params_path: Path, host_name: str, rounds: int = 20) -> dict[str, float]:
    """Milliseconds per write (with its backup), shell script and SFTP alone, on HOST_NAME."""
    p = load_params(params_path)
    spec = p.hosts[host_name]
    host = Host(host_name, str(spec.address), spec.ssh_user, key_filename=p.ssh.key, known_hosts=p.ssh.known_hosts)
    path = f"/home/{spec.ssh_user}/bench-write.xml"
    data = b"<a>" + b"x" * 20000 + b"</a>\n"  # about a carbon.xml
    out: dict[str, float] = {}
    try:
        host.write_file(path, data, backup=False)
        for label, kw in (("shell", {}), ("sftp", {"before": data})):
            t0 = time.perf_counter()
            for i in range(rounds):
                host.run_id = f"20990101T{i:06d}Z"  # a new run each time: every write takes its backup
                host.backups.clear()
                host.write_file(path, data, **kw)
            out[label] = (time.perf_counter() - t0) / rounds * 1000
    finally:
        host.run("rm -f %s %s.bak.*", path, path)
        host.close()
    return out
