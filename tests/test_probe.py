"""probe.py: several commands in one SSH command answer exactly as each would
alone (run here by a local shell standing in for the host's)."""

from __future__ import annotations

import subprocess

from runbook_lib.remote.host import CommandResult
from runbook_lib.remote.probe import probe, quote


class _LocalShell:
    name = "local"

    def __init__(self) -> None:
        self.commands: list[str] = []

    def run(self, command: str) -> CommandResult:
        self.commands.append(command)
        p = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
        return CommandResult(command, p.returncode, p.stdout, p.stderr)


def test_answers_split_back_per_command_in_one_round_trip():
    h = _LocalShell()
    cmds = {"two lines": "printf 'a\\nb\\n'", "no newline": "printf x", "stderr": "echo oops >&2; exit 3",
            "empty": "true", "quoted": quote("printf %s", "it's; @@runbook-0 1"), "fails": "false",
            "reads stdin": "cat"}
    got = probe(h, cmds)  # type: ignore[arg-type]
    assert len(h.commands) == 1
    assert {k: (r.rc, r.stdout) for k, r in got.items()} == {
        "two lines": (0, "a\nb\n"), "no newline": (0, "x"), "stderr": (3, "oops\n"), "empty": (0, ""),
        "quoted": (0, "it's; @@runbook-0 1"), "fails": (1, ""), "reads stdin": (0, "")}
    assert got["stderr"].command == "echo oops >&2; exit 3"


def test_a_script_cut_short_answers_with_errors_never_passes():
    class Broken(_LocalShell):
        def run(self, command: str) -> CommandResult:
            return CommandResult(command, -1, "", "connection lost")
    got = probe(Broken(), {"a": "true", "b": "true"})  # type: ignore[arg-type]
    assert [(r.ok, r.stderr) for r in got.values()] == [(False, "connection lost")] * 2
