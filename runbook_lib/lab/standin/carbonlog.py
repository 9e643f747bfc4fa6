"""Carbon's log file, in log4j CARBON_LOGFILE layout (CARBON-RUNTIME.md
"The log file"): `TID: [%T] [%S] [%d] %P%5p {%c} - %x %m {%c}%n`, or
without the trailing `{%c}` for the EI broker profile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

STANDIN_LOGGER = "lab.standin"


class CarbonLog:
    def __init__(self, path: Path, trailing_logger: bool = True):
        self.path = path
        self.trailing_logger = trailing_logger
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def format(self, level: str, logger: str, message: str, when: float | None = None) -> str:
        t = time.time() if when is None else when
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f",{int(t * 1000) % 1000:03d}"
        tail = f" {{{logger}}}" if self.trailing_logger else " "
        return f"TID: [-1234] [] [{stamp}] {level:>5} {{{logger}}} -  {message}{tail}\n"

    def write(self, level: str, logger: str, message: str) -> None:
        line = self.format(level, logger, message)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)

    def info(self, logger: str, message: str) -> None:
        self.write("INFO", logger, message)

    def warn(self, logger: str, message: str) -> None:
        self.write("WARN", logger, message)

    def error(self, logger: str, message: str) -> None:
        self.write("ERROR", logger, message)

    def fatal(self, logger: str, message: str, trace: str = "") -> None:
        """FATAL with a stack trace on the lines after it, as log4j writes a Throwable."""
        self._with_trace("FATAL", logger, message, trace)

    def error_trace(self, logger: str, message: str, trace: str) -> None:
        self._with_trace("ERROR", logger, message, trace)

    def _with_trace(self, level: str, logger: str, message: str, trace: str) -> None:
        line = self.format(level, logger, message) + (trace.rstrip("\n") + "\n" if trace else "")
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)

    def debug(self, logger: str, message: str) -> None:
        pass  # Carbon ships INFO for org.wso2; debug lines are not written

    def standin(self, message: str, level: str = "INFO") -> None:
        """A line only the stand-in writes (a real node writes nothing here)."""
        self.write(level, STANDIN_LOGGER, f"[stand-in] {message}")
