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

# The Java checks every Carbon 4.4 start script makes before it reads its
# command (start and stop alike): JAVACMD is $JAVA_HOME/bin/java, or `java`
# when JAVA_HOME is empty; a JAVACMD that is not executable ends the script with
# "Error: JAVA_HOME is not defined correctly." (a bare `java` is tested as a file
# in the current folder, so an unset JAVA_HOME always ends there). Source:
# carbon-kernel v4.4.16 distribution/kernel/carbon-home/bin/wso2server.sh and
# product-ei v6.1.1 distribution/src/scripts/integrator.sh (SOURCES.md row J1).
# Written in our own words; the JDK version check and the JVM's refusal of
# -Djava.endorsed.dirs happen in the server run itself (main.check_java).
SCRIPT = """#!/bin/sh
# WSO2 Cluster Runbook lab: STAND-IN for {product} {where}.
# The real server cannot run in the lab; this runs the lab's stand-in of a
# Carbon node ({package}) with the same arguments the real script takes:
#   sh {where} [start|stop|restart|--start|--stop] [-DworkerNode=true] [-Dsetup]
PRG_DIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "$JAVACMD" ]; then
  if [ -n "$JAVA_HOME" ]; then JAVACMD="$JAVA_HOME/bin/java"; else JAVACMD=java; fi
fi
if [ ! -x "$JAVACMD" ]; then
  echo "Error: JAVA_HOME is not defined correctly."
  echo " CARBON cannot execute $JAVACMD"
  exit 1
fi
if [ -z "$JAVA_HOME" ]; then
  echo "You must set the JAVA_HOME variable before running CARBON."
  exit 1
fi
export JAVA_HOME JAVACMD
STANDIN_SPEC='{spec}' PYTHONPATH={pythonpath} exec {python} -m standin "$PRG_DIR/{up}" {script} "$@"
"""

# EI 6.1.1's bin/broker.sh (product-ei v6.1.1 distribution/src/scripts/broker.sh,
# SOURCES.md row B1): it runs wso2/broker/bin/wso2server.sh with its own
# arguments in the background, stops the broker on INT or TERM, and otherwise
# loops for ever (sleep 60): `broker.sh start` never returns. Our own script
# with that behaviour; the broker's wso2server.sh is the stand-in launcher.
BROKER_LOOP = """#!/bin/sh
# WSO2 Cluster Runbook lab: STAND-IN for {product} bin/broker.sh.
# As the real one: starts wso2/broker/bin/wso2server.sh with these arguments in
# the background, then waits for ever (it never returns; run it detached).
PRG_DIR=$(cd "$(dirname "$0")" && pwd)
INIT="$PRG_DIR/../{broker_home}/bin/wso2server.sh"
sh "$INIT" "$@" &
trap 'sh "$INIT" stop; exit' INT TERM
while :; do sleep 60; done
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
    """Replace HOME's start scripts with stand-in launchers; returns them.
    The broker profile's own launcher is its wso2server.sh under its
    CARBON_HOME (wso2/broker/bin), and bin/broker.sh loops as the real one."""
    version, specs = specs_of(home)
    py, site = interpreter()
    spec_json = json.dumps(specs, separators=(",", ":"))
    written = []
    for d in specs:
        if d["carbon_home"] not in (".", ""):  # a profile with its own CARBON_HOME: wso2/broker
            where = f"{d['carbon_home']}/bin/wso2server.sh"
            loop = home / "bin" / d["script"]
            loop.write_text(BROKER_LOOP.format(product=version, broker_home=d["carbon_home"]))
            os.chmod(loop, 0o755)
            written.append(loop)
        else:
            where = f"bin/{d['script']}"
        path = home / where
        path.parent.mkdir(parents=True, exist_ok=True)
        up = "/".join([".."] * where.count("/"))
        path.write_text(SCRIPT.format(product=version, where=where, package=PACKAGE_PARENT / "standin",
                                      spec=spec_json, pythonpath=f"{PACKAGE_PARENT}:{site}", python=python or py,
                                      up=up, script=d["script"]))
        os.chmod(path, 0o755)
        written.append(path)
    return written
