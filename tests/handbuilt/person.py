"""What a person has at hand on the hosts: a shell over SSH (sudo where the
document says `sudo`), sed, python3, mysql, openssl, keytool. Files are
edited in place with the person's own tool; nothing here knows the runbook's
file model."""

from __future__ import annotations

import secrets
import shlex

from runbook_lib.remote.host import Host


def sh(h: Host, script: str, sudo: bool = False) -> str:
    """Run SCRIPT in bash on H; raise with its output when it fails."""
    cmd = "bash -c " + shlex.quote("set -e\n" + script)
    res = h.run(cmd, sudo=sudo)  # no args: Host.run formats nothing
    if not res.ok:
        raise AssertionError(f"{h.name}: {script[:300]}\n-> {res.rc}: {res.stdout[-1500:]}{res.stderr[-1500:]}")
    return res.stdout


def sed(h: Host, path: str, *expressions: str) -> None:
    """`sed -i -e EXPR ... PATH`, as the person types it."""
    sh(h, "sed -i " + " ".join(f"-e {shlex.quote(e)}" for e in expressions) + f" {shlex.quote(path)}")


def py_edit(h: Host, path: str, replacements: list[tuple[str, str]]) -> None:
    """python3 on the node: str.replace of each (old, new) once; an old string
    that is not in the file stops the build (the person would see it)."""
    code = ("import sys\np=sys.argv[1]\ns=open(p).read()\n"
            f"for old, new in {replacements!r}:\n"
            "    assert old in s, (p, old)\n    s = s.replace(old, new, 1)\nopen(p, 'w').write(s)\n")
    sh(h, f"python3 -c {shlex.quote(code)} {shlex.quote(path)}")


def put(h: Host, path: str, text: str, sudo: bool = False) -> None:
    """`cat > PATH <<EOF` (or `sudo tee`), the way a vhost is pasted from a document."""
    tee = "sudo tee" if sudo else "tee"
    sh(h, f"{tee} {shlex.quote(path)} >/dev/null <<'HANDEOF'\n{text}\nHANDEOF")


def scratch(h: Host, name: str) -> str:
    """Where the person puts a scratch file NAME (`/tmp/NAME` on a real host, whose
    /tmp is its own). The lab's hosts share the machine's /tmp (network namespaces,
    not mount namespaces, for /tmp), and lab tests run side by side: two labs'
    `/tmp/lb.crt` would be one file. The host's name and a token keep them apart."""
    return f"/tmp/handbuilt-{h.name}-{secrets.token_hex(4)}-{name}"
