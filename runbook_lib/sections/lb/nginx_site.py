"""Writing nginx vhosts safely: files first, then `nginx -t`, then reload; when
the test fails the previous files are put back (and re-tested), so nginx keeps
serving the configuration it had. Shared by 01 (HTTP) and 02 (HTTPS)."""

from __future__ import annotations

from typing import Callable

from ...core.change import Change
from ...core.context import Run
from ...core.errors import CommandError, RunbookError
from ...core.step import Carried, Operation
from ...operations.files import ensure_content
from ...remote.host import Host
from .nginx_conf import MARKER, Vhost, by_file, file_content

TEST = "nginx -t"
RELOAD = "nginx -s reload"
# How long the old workers may take to hand over after a reload.
SETTLE = "sleep 1"


def lb_host(run: Run) -> Host:
    return run.host(run.params.load_balancer.host or "")


def served_vhost(h: Host, v: Vhost) -> str | None:
    """Which vhost answers for V's name on the LB host itself (its marker
    header), or None when nothing answers: tells whether the running nginx
    has loaded V, independently of the files on disk. Uses only bash and
    openssl, which the LB host has anyway."""
    request = f"GET / HTTP/1.0\\r\\nHost: {v.server_name}\\r\\n\\r\\n"
    if v.tls:
        res = h.run("printf %s | timeout 5 openssl s_client -quiet -connect %s -servername %s 2>/dev/null",
                    request, f"127.0.0.1:{v.port}", v.server_name)
    else:
        script = f"exec 3<>/dev/tcp/127.0.0.1/{v.port} && printf '{request}' >&3 && cat <&3"
        res = h.run("timeout 5 bash -c %s", script)
    for line in res.stdout.split("\r\n\r\n", 1)[0].splitlines():
        k, _, val = line.partition(":")
        if k.strip().lower() == MARKER.lower():
            return val.strip()
    return None


class Site:
    """Vhost files written together and activated by one test-and-reload.

    ``operations()`` gives one Operation per file plus a final one that runs
    `nginx -t` and reloads when a file changed in this run, or when the
    running nginx does not serve one of the vhosts yet (an earlier run that
    stopped between write and reload), or when ``extra_reason`` names one
    (02: nginx still serves an older certificate)."""

    def __init__(self, run: Run, vhosts: list[Vhost], extra_reason: Callable[[], list[str]] | None = None) -> None:
        self.run, self.vhosts, self.extra_reason = run, vhosts, extra_reason
        self.host = lb_host(run)
        self.written: list[tuple[str, bytes | None]] = []  # (path, previous bytes) changed by this apply
        self.would: list[str] = []  # paths a preview found different

    def operations(self) -> list[Operation]:
        ops = [Operation(f"{self.host.name}:{path}", self._file_fn(path, vs, i == 0), self.host.name, path=path)
               for i, (path, vs) in enumerate(by_file(self.vhosts).items())]
        return ops + [Operation(f"{self.host.name}:nginx", self._reload, self.host.name, path="nginx")]

    def _file_fn(self, path: str, vhosts: list[Vhost], first: bool) -> Callable[[bool], Change]:
        what = "nginx vhost" + ("s " if len(vhosts) > 1 else " ") + ", ".join(f"{v.server_name}:{v.port}" for v in vhosts)
        read = Carried(lambda: self.host.read_file(path, sudo=True))

        def fn(dry_run: bool) -> Change:
            if first:
                self.written, self.would = [], []
            before = read.get(dry_run)
            change = ensure_content(self.host, path, file_content(vhosts), sudo=True, mode=0o644, dry_run=dry_run,
                                    what=what, before=before)
            if change.changed:
                (self.would.append(path) if dry_run else self.written.append((path, before)))
            return change
        return fn

    def _reasons(self, dry_run: bool) -> list[str]:
        changed = self.would if dry_run else [p for p, _ in self.written]
        reasons = [f"{p.rsplit('/', 1)[-1]} changed" for p in changed]
        for v in self.vhosts:
            if v.path not in changed and served_vhost(self.host, v) != v.server_name:
                reasons.append(f"the running nginx does not serve {v.server_name}:{v.port} yet")
        return reasons + (self.extra_reason() if self.extra_reason else [])

    def _reload(self, dry_run: bool) -> Change:
        target = f"{self.host.name}:nginx"
        reasons = self._reasons(dry_run)
        cmds = (f"sudo {TEST}", f"sudo {RELOAD}")
        if not reasons:
            return Change(target, False, "serves these vhosts; no test or reload needed")
        why = "; ".join(reasons)
        if dry_run:
            return Change(target, True, f"would test the configuration, then reload ({why})", commands=cmds)
        test = self.host.run(TEST, sudo=True)
        if not test.ok:
            restored = self._restore()
            raise RunbookError(f"{self.host.name}: `nginx -t` rejected the new configuration, so nginx was NOT "
                               f"reloaded and {restored}. nginx said:\n{test.stderr.strip()}\n",
                               fix="correct the params (or the file nginx names above) and run again")
        self.host.check(f"{RELOAD} && {SETTLE}", sudo=True)
        self.written = []
        return Change(target, True, f"configuration test passed; reloaded ({why})", commands=cmds)

    def _restore(self) -> str:
        """Put back the files this run wrote, and prove the result passes `nginx -t`."""
        for path, before in reversed(self.written):
            if before is None:
                self.host.check("rm -f %s", path, sudo=True)
            else:
                self.host.write_file(path, before, sudo=True, backup=False)
        names = ", ".join(p.rsplit("/", 1)[-1] for p, _ in self.written) or "nothing to restore"
        self.written = []
        again = self.host.run(TEST, sudo=True)
        if not again.ok:
            raise CommandError(f"sudo {TEST} (after restoring {names})", again.rc, again.stderr, self.host.name)
        return f"the previous files were restored ({names}; `nginx -t` passes again)"
