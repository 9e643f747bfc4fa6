"""The keystore password handed to a starting node, the way Carbon reads it.

carbon-kernel v4.4.16 DefaultSecretCallbackHandler: at start-up the keystore
password is read from `$CARBON_HOME/password` (then renamed to password-tmp),
`password-tmp` (overwritten and deleted once read, unless
-Dpersist.password=true), `password-persist` (kept), or a console prompt (none
when the script runs detached). It reads one line and uses it for the store
and its private key alike, unless the server was started with
`-Dkey.password=true`: then the file's first line is the store's password
and its second the key's (the start scripts pass `-D` arguments to
Bootstrap, whose Main.processCmdLineArgs makes them system properties). The
runbook writes password-tmp just before the start command, created 0600
(umask 077) with the password(s) on stdin (no command line shows them), adds
`-Dkey.password=true` to the start command when securevault.key_password is
set, and removes the file after the start if the node left it.
"""

from __future__ import annotations

import posixpath

from ...core.context import Run
from ...params import NodeView

TMP = "password-tmp"
KEY_FLAG = "-Dkey.password=true"


def password_file(v: NodeView) -> str:
    """password-tmp in the profile's CARBON_HOME (EI broker: wso2/broker)."""
    return v.path(posixpath.join(v.spec.carbon_home, TMP))


def _own_key_password(run: Run, v: NodeView) -> bool:
    """The node's Secure Vault reads a key password of its own (the ELB has no vault)."""
    sv = run.params.securevault
    return sv.enabled and sv.key_password is not None and v.spec.product != "elb"


def start_args(run: Run, v: NodeView) -> str:
    """What the start command needs beyond the documents' own: ` -Dkey.password=true`
    when the key's password is its own (else Carbon uses the store's for the key)."""
    return f" {KEY_FLAG}" if _own_key_password(run, v) else ""


def give_password(run: Run, v: NodeView) -> None:
    """Write password-tmp for V's next start (Secure Vault on only; not on the ELB,
    whose own files are not secured and which never reads it): the store's
    password, and on the second line the key's when it has its own."""
    sv = run.params.securevault
    if not sv.enabled or v.spec.product == "elb":
        return
    lines = [run.secret(sv.keystore_password.secret)]  # type: ignore[union-attr]
    if _own_key_password(run, v):
        lines.append(run.secret(sv.key_password.secret))  # type: ignore[union-attr]
    run.host(v.host_name).check("umask 077 && cat > %s", password_file(v),
                                stdin="".join(x + "\n" for x in lines).encode())


def take_back(run: Run, v: NodeView) -> bool:
    """Remove password-tmp if the start left it; True when the node had already removed it."""
    if not run.params.securevault.enabled:
        return True
    res = run.host(v.host_name).run("test -e %s && rm -f %s && echo left || echo gone", password_file(v),
                                    password_file(v))
    return res.stdout.strip() == "gone"
