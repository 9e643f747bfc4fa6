"""What `runbook lab up` writes into a product home's bin/: start scripts
that run the stand-in with this machine's Python (lab hosts see the
machine's filesystem except their own /opt and /home). This runs in the
project; the stand-in itself (standin/) reads the product facts from the
STANDIN_SPEC the scripts set, never from the project's modules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pymysql

from ..products import AGENT_PROTOCOLS, SPECS, ProductSpec

PACKAGE_PARENT = Path(__file__).resolve().parent   # runbook_lib/lab: holds the `standin` package

SCRIPT = """#!/bin/sh
# WSO2 Cluster Runbook lab: STAND-IN for {product} bin/{script}.
# The real server cannot run in the lab; this runs the lab's stand-in of a
# Carbon node ({package}) with the same arguments the real script takes:
#   sh bin/{script} [start|stop|restart|--start|--stop] [-DworkerNode=true] [-Dsetup]
PRG_DIR=$(cd "$(dirname "$0")" && pwd)
STANDIN_SPEC='{spec}' PYTHONPATH={pythonpath} exec {python} -m standin "$PRG_DIR/.." {script} "$@"
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
    site = str(Path(pymysql.__file__).resolve().parent.parent)
    if world_usable(Path(sys.executable)):
        return sys.executable, site
    return "/usr/bin/python3", site


def standin_profile(spec: ProductSpec, version: str) -> dict:
    """What STANDIN_SPEC holds for one spec (standin/product.py ``Profile``):
    every agent the line has shipped up to VERSION with the protocol it
    speaks (ELB 2.0.x: Tribes only; the Hazelcast agent came with Carbon 4.2)."""
    agents = {cls: AGENT_PROTOCOLS[cls] for cls in spec.agents_in(version)}
    return {"product": spec.product, "profile": spec.profile, "version": version,
            "script": spec.start_script.rsplit("/", 1)[-1], "carbon_home": spec.carbon_home, "conf": spec.conf_dir,
            "lib": spec.lib_dir, "log": spec.log_file, "pid": spec.pid_file, "agents": agents,
            "artifact": spec.artifact.kind}


def specs_of(home: Path) -> tuple[str, list[dict]]:
    """The product specs (runbook_lib/products.py) of the home, from its bin/version.txt."""
    line = (home / "bin" / "version.txt").read_text().strip()
    for spec in SPECS:
        prefix = spec.version_line("")
        if line.startswith(prefix):
            version = line[len(prefix):].strip()
            return line, [standin_profile(s, version) for s in SPECS if s.product == spec.product]
    raise ValueError(f"{home}: bin/version.txt says {line!r}, which no product spec matches")


def install(home: Path, python: str | None = None) -> list[Path]:
    """Replace HOME's start scripts with stand-in launchers; returns them."""
    version, specs = specs_of(home)
    py, site = interpreter()
    spec_json = json.dumps(specs, separators=(",", ":"))
    written = []
    for d in specs:
        path = home / "bin" / d["script"]
        path.write_text(SCRIPT.format(product=version, script=d["script"], package=PACKAGE_PARENT / "standin",
                                      spec=spec_json, pythonpath=f"{PACKAGE_PARENT}:{site}", python=python or py))
        os.chmod(path, 0o755)
        written.append(path)
    return written
