"""Several read-only commands on one host in one SSH command.

Each command on its own costs a channel, a login shell and a round trip; on
tens of hosts a check that asks eight questions per host paid for that eight
times. ``probe`` sends them as one script and splits the answers again: each
command's exit code and its output (stdout and stderr together, in order),
exactly as if it had run alone. The marker between answers is random per call,
so no output can fake one.
"""

from __future__ import annotations

import re
import secrets
import shlex

from .host import CommandResult, Host


def probe(h: Host, commands: dict[str, str]) -> dict[str, CommandResult]:
    """Run COMMANDS (name -> shell command, already quoted) in one script on H,
    in order, each in its own subshell; every one runs whatever the others
    returned. Returns name -> CommandResult (stdout holds both streams)."""
    mark = f"@@runbook-{secrets.token_hex(6)}"
    script = "".join(f"({cmd}) </dev/null 2>&1; printf '\\n{mark} %s\\n' $?\n" for cmd in commands.values())
    res = h.run(script)
    parts = re.split(rf"\n?{mark} (-?\d+)\n", res.stdout)
    out: dict[str, CommandResult] = {}
    for i, (name, cmd) in enumerate(commands.items()):
        if 2 * i + 1 < len(parts):
            out[name] = CommandResult(cmd, int(parts[2 * i + 1]), parts[2 * i], "")
        else:  # the script stopped early (the connection broke): no answer is an error, never a pass
            out[name] = CommandResult(cmd, -1, "", res.stderr or "no answer")
    return out


def quote(template: str, *args: object) -> str:
    """TEMPLATE with ARGS shell-quoted into its %s slots (as Host.run does)."""
    return template % tuple(shlex.quote(str(a)) for a in args)
