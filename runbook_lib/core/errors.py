"""One exception tree, so notebooks and the CLI can tell faults apart.

Third-party errors (paramiko, pymysql, lxml) are wrapped at the boundary with
``raise ... from e`` so the operator sees what the runbook was doing.
"""

from __future__ import annotations

from .redact import redact_text  # every message is masked where it becomes text


class RunbookError(Exception):
    """Root of everything the runbook raises on purpose. ``fix`` says, in one
    sentence, what the operator should do; tables and the CLI show it as is
    (never parsed back out of the message). ``str()`` shows both."""

    def __init__(self, message: str = "", *args: object, fix: str = "") -> None:
        self.message, self.fix = message, fix
        super().__init__(message, *args)

    def __str__(self) -> str:
        base = super().__str__() if len(self.args) != 1 else str(self.args[0])
        return redact_text(f"{base}. Fix: {self.fix}" if self.fix else base)


class ParamsError(RunbookError, ValueError):
    """A params file is wrong. Holds every problem found, not just the first."""

    def __init__(self, problems: list["Problem"] | list[str], path: str = "") -> None:
        self.problems = list(problems)
        self.path = path
        lines = [str(p) for p in self.problems]
        head = f"{path}: {len(lines)} problem(s)" if path else f"{len(lines)} problem(s)"
        super().__init__(head + "\n" + "\n".join(f"  - {line}" for line in lines))


class ConnectError(RunbookError):
    """A host could not be reached or did not prove who it is."""

    def __init__(self, host: str, message: str, fix: str = "") -> None:
        self.host = host
        super().__init__(f"{host}: {message}", fix=fix)


class HostKeyError(ConnectError):
    """A host key is unknown or differs from known_hosts. Never auto-accepted."""


class CommandError(RunbookError):
    """A remote or local command exited non-zero."""

    def __init__(self, command: str, rc: int, stderr: str = "", host: str = "") -> None:
        self.command, self.rc, self.stderr, self.host = command, rc, stderr, host
        where = f"{host}: " if host else ""
        tail = stderr.strip().splitlines()[-3:] if stderr else []
        super().__init__(f"{where}`{command}` exited {rc}" + ("".join(f"\n  {t}" for t in tail)))


class SqlError(RunbookError):
    """A SQL statement failed; carries the statement (never its parameters)."""

    def __init__(self, message: str, statement: str = "", fix: str = "") -> None:
        self.statement = statement
        super().__init__(message, fix=fix)
        self._text = message + (f". Fix: {fix}" if fix else "") + (f"\n  in: {statement[:200]}" if statement else "")

    def __str__(self) -> str:
        return self._text


class ConfigEditError(RunbookError):
    """A configuration file could not be parsed or the edit did not apply."""


class CheckFailed(RunbookError):
    """Verification found the live state differs from what was intended."""


class LabError(RunbookError):
    """The local lab could not be brought up, inspected or torn down."""


class Problem:
    """One validation problem: the file, the field path and how to fix it."""

    def __init__(self, file: str, field: str, message: str, fix: str, level: str = "error",
                 also: list[str] | None = None) -> None:
        self.file, self.field, self.message, self.fix, self.level = file, field, message, fix, level
        self.also = list(also or [])  # further fields with the very same problem (merged, see merged())

    @property
    def fields(self) -> list[str]:
        return [self.field, *self.also]

    def __str__(self) -> str:
        return f"{self.file}: {', '.join(self.fields)}: {self.message}. Fix: {self.fix}"

    def __repr__(self) -> str:
        return f"Problem({self.level}: {self})"


def merged(problems: list[Problem]) -> list[Problem]:
    """Each problem once: the same message and fix at several fields (a product
    problem on every node that inherits it) becomes one problem naming them all."""
    out: dict[tuple[str, str, str, str], Problem] = {}
    for p in problems:
        key = (p.file, p.level, p.message, p.fix)
        if key not in out:
            out[key] = Problem(p.file, p.field, p.message, p.fix, p.level, p.also)
        elif p.field not in out[key].fields:
            out[key].also.append(p.field)
    return list(out.values())
