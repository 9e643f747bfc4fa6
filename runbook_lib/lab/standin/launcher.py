"""What `runbook lab up` writes into a product home's bin/: start scripts
that run the stand-in with this machine's Python (lab hosts see the
machine's filesystem except their own /opt and /home)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import product

PACKAGE_PARENT = Path(__file__).resolve().parent.parent   # runbook_lib/lab: holds the `standin` package

SCRIPT = """#!/bin/sh
# WSO2 Cluster Runbook lab: STAND-IN for {product} bin/{script}.
# The real server cannot run in the lab; this runs the lab's stand-in of a
# Carbon node ({package}) with the same arguments the real script takes:
#   sh bin/{script} [start|stop|restart|--start|--stop] [-DworkerNode=true] [-Dsetup]
PRG_DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH={pythonpath} exec {python} -m standin "$PRG_DIR/.." {script} "$@"
"""


def world_usable(path: Path) -> bool:
    """Every directory on the way is searchable and the file runnable by others
    (the product's owner on a lab host is not root)."""
    real = path.resolve()
    parts = [real, *real.parents]
    return all(p.stat().st_mode & 0o001 for p in parts) and bool(real.stat().st_mode & 0o004)


def interpreter() -> tuple[str, str]:
    """The Python a non-root account can run, and the path that gives it
    pymysql: this interpreter when others may use it, else the system's
    python3 with pymysql's folder from here."""
    import pymysql
    site = str(Path(pymysql.__file__).resolve().parent.parent)
    if world_usable(Path(sys.executable)):
        return sys.executable, site
    return "/usr/bin/python3", site


def install(home: Path, python: str | None = None) -> list[Path]:
    """Replace HOME's start scripts with stand-in launchers; returns them."""
    fam = product.family_of(home)
    py, site = interpreter()
    python = python or py
    written = []
    version = (home / "bin" / "version.txt").read_text().strip()
    for script in product.scripts_for(fam):
        path = home / "bin" / script
        path.write_text(SCRIPT.format(product=version, script=script, package=PACKAGE_PARENT / "standin",
                                      pythonpath=f"{PACKAGE_PARENT}:{site}", python=python))
        os.chmod(path, 0o755)
        written.append(path)
    return written
