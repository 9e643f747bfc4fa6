"""File modes of secrets at rest: 0600 (or 0640 with a named group), owned by the product user.

As shipped (product-ei v6.1.1 distribution/src/assembly/bin.xml: fileMode 644
for conf files, cipher-text.properties included) every account on a node may
read the database password in master-datasources.xml. Every file that holds
a secret or a cipher text, and the keystores, are tightened here, whether or
not Secure Vault is on: planned (mode before -> after), applied (chmod, as
the product user, who owns them), verified; `runbook check` reports drift.
"""

from __future__ import annotations

import posixpath
import shlex

from ...core.change import Change, EditNote
from ...core.context import Run
from ...core.step import Carried, Check, Operation
from ...params import NodeView
from .keystore import STORE
from .vaultfiles import CIPHER_TEXT, security_dir

CONF_KEYS = ("carbon", "user_mgt", "datasources", "catalina", "broker")  # each may hold a password
TRUSTSTORE = "client-truststore.jks"


def secret_files(v: NodeView) -> list[str]:
    """The node's files that hold a secret or a cipher text, and its keystores."""
    out = [v.file(k) for k in CONF_KEYS if k in v.spec.files]
    out.append(posixpath.join(security_dir(v), CIPHER_TEXT))
    out += [v.path(posixpath.join(v.spec.security_dir, name)) for name in (STORE, TRUSTSTORE)]
    return out


def wanted_mode(run: Run) -> str:
    return run.params.securevault.file_mode.lstrip("0")  # stat %a: 600, 640


def stat(run: Run, v: NodeView) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """(the home's owner, {path: (mode, owner, group)}) for the files that exist (one command)."""
    files = secret_files(v)  # and their backups (<file>.bak.<run id>: the file before a run wrote it)
    cmd = "stat -c '%U' " + shlex.quote(v.node.home) + "; stat -c '%a %U %G %n' " + \
        " ".join(f"{shlex.quote(f)} {shlex.quote(f)}.bak.*" for f in files) + " 2>/dev/null; true"
    lines = run.host(v.host_name).run(cmd).stdout.splitlines()
    owner, found = (lines[0].strip() if lines else ""), {}
    for ln in lines[1:]:
        parts = ln.split(" ", 3)
        if len(parts) == 4:
            found[parts[3]] = (parts[0], parts[1], parts[2])
    return owner, found


def modes_op(run: Run, v: NodeView) -> Operation:
    """chmod (and chgrp for 0640) of the node's secret files whose mode or group differs."""
    h, mode, group = run.host(v.host_name), wanted_mode(run), run.params.securevault.group
    # The preview's stat serves the apply after it, unless the apply backed a file up on this host
    # since then: a backup is a new file (cp -p: the old mode), to be tightened with the rest.
    seen = Carried(lambda: (stat(run, v)[1], dict(h.backups)))

    def fn(dry_run: bool) -> Change:
        found, backups = seen.get(dry_run)
        if backups != h.backups:
            _, found = stat(run, v)
        notes, todo = [], []
        for path, (m, _, g) in found.items():
            bad_group = mode == "640" and group and g != group
            if m != mode or bad_group:
                todo.append(path)
                verb = "would change" if dry_run else "changed"
                notes.append(EditNote(f"{path} mode", f"0{m} {g}", f"0{mode}" + (f" {group}" if group else ""),
                                      None, f"{path}: mode 0{m} -> 0{mode} ({verb})"))
            else:
                notes.append(EditNote.same(f"{path} mode", f"0{m}", f"{path}: mode 0{m}"))
        target = f"{v.host_name}:{v.name} secret files"
        if not todo:
            return Change(target, False, f"{len(found)} files already 0{mode}", host=v.host_name, path=v.node.home,
                          edits=tuple(notes))
        cmds = [f"chmod {mode} " + " ".join(shlex.quote(p) for p in todo)]
        if mode == "640" and group:
            cmds.insert(0, f"chgrp {shlex.quote(group)} " + " ".join(shlex.quote(p) for p in todo))
        if not dry_run:
            for c in cmds:
                h.check(c)
        return Change(target, True, f"{'would set' if dry_run else 'set'} mode 0{mode} on {len(todo)} file(s)",
                      commands=tuple(cmds), host=v.host_name, path=v.node.home, edits=tuple(notes))

    return Operation(f"{v.host_name}:{v.name} secret files", fn, v.host_name, path=v.node.home)


def mode_checks(run: Run, v: NodeView) -> list[Check]:
    """Each secret file: the mode asked for, owned by the home's owner."""
    owner, found = stat(run, v)
    mode, group, out = wanted_mode(run), run.params.securevault.group, []
    for path, (m, u, g) in found.items():
        want = f"0{mode} {owner}" + (f":{group}" if mode == "640" and group else "")
        got = f"0{m} {u}" + (f":{g}" if mode == "640" and group else "")
        out.append(Check(v.host_name, f"{v.name}: mode of {posixpath.relpath(path, v.node.home)}", want, got,
                         want == got, f"chmod {mode} {path} (and chown {owner}): re-run this notebook with apply=True"))
    return out
