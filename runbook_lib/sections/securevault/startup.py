"""The keystore password handed to a starting node, the way Carbon reads it.

carbon-kernel v4.4.16 DefaultSecretCallbackHandler: at start-up the keystore
password is read from `$CARBON_HOME/password` (then renamed to password-tmp),
`password-tmp` (overwritten and deleted once read, unless
-Dpersist.password=true), `password-persist` (kept), or a console prompt (none
when the script runs detached). The runbook writes password-tmp just before
the start command, created 0600 (umask 077) with the password on stdin (no
command line shows it), and removes it after the start if the node left it.
"""

from __future__ import annotations

import posixpath

from ...core.context import Run
from ...params import NodeView

TMP = "password-tmp"


def password_file(v: NodeView) -> str:
    """password-tmp in the profile's CARBON_HOME (EI broker: wso2/broker)."""
    return v.path(posixpath.join(v.spec.carbon_home, TMP))


def give_password(run: Run, v: NodeView) -> None:
    """Write password-tmp for V's next start (Secure Vault on only)."""
    sv = run.params.securevault
    if not sv.enabled:
        return
    secret = run.secret(sv.keystore_password.secret)  # type: ignore[union-attr]
    run.host(v.host_name).check("umask 077 && cat > %s", password_file(v), stdin=(secret + "\n").encode())


def take_back(run: Run, v: NodeView) -> bool:
    """Remove password-tmp if the start left it; True when the node had already removed it."""
    if not run.params.securevault.enabled:
        return True
    res = run.host(v.host_name).run("test -e %s && rm -f %s && echo left || echo gone", password_file(v),
                                    password_file(v))
    return res.stdout.strip() == "gone"
