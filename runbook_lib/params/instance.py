"""Lab instances: several labs side by side on one machine.

An instance is named by ``RUNBOOK_LAB_INSTANCE`` (``runbook lab ... --instance
NAME`` sets it). The default instance (no name) is today's lab, exactly as the
params file says. A named instance gets addresses and a lab folder of its own,
so the example layouts (which all use 198.51.100.0/24) can be up at once:

* ``runbook lab up`` allocates the instance a subnet (``lab/instance.py``) and
  records it in the instance's record, ``/tmp/rblab-instances/NAME.json``;
* when params are loaded with an instance set, ``translate`` maps the raw
  params, before validation, so every consumer (CLI, notebooks, tests,
  benchmarks) gets the instance's view without anyone rewriting a file: every
  address or address pattern inside the params' lab subnet moves to the same
  host part of the instance's subnet, and every path under the params' lab
  folder moves under ``<lab.dir>-NAME``.

This module is the one place that knows instance names and their record;
``lab/instance.py`` builds the network names and allocates subnets from it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ParamsError, Problem

ENV = "RUNBOOK_LAB_INSTANCE"
RECORDS = Path("/tmp/rblab-instances")
DEFAULT_LAB_DIR = "/tmp/wso2-runbook-lab"  # LabSettings.dir's default
# Short: the name goes into Linux interface names (at most 15 characters,
# see lab/instance.py); no "-" so that one instance's prefix never starts
# another's.
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,6}$")
NAME_RULE = "1 to 7 characters: a lowercase letter, then lowercase letters or digits (e.g. `b`, `gw0`)"


class InstanceError(ParamsError):
    """A lab instance name or state problem (a ParamsError: the CLI reports it
    as bad input, exit 2, and nothing is changed)."""


def check_name(name: str, where: str = ENV) -> str:
    if not NAME_RE.match(name):
        raise InstanceError([Problem(where, "(instance name)", f"lab instance name {name!r} is not valid",
                                     f"use {NAME_RULE}")])
    return name


def current() -> str:
    """The instance this process works on: '' for the default lab."""
    name = os.environ.get(ENV, "")
    return check_name(name) if name else ""


def record_path(name: str) -> Path:
    return RECORDS / f"{name}.json"


def read_record(name: str) -> dict | None:
    """What ``lab up`` recorded for NAME (subnet, lab_dir, ...), or None."""
    try:
        return json.loads(record_path(name).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def lab_dir_for(base: str, name: str) -> str:
    return f"{base.rstrip('/')}-{name}" if name else base


# --- the translation ----------------------------------------------------------

def octet_prefix(subnet: ipaddress.IPv4Network) -> str:
    """'198.51.100.' for a /24, '198.51.' for a /16."""
    return ".".join(str(subnet.network_address).split(".")[: subnet.prefixlen // 8]) + "."


def _address_re(subnet: ipaddress.IPv4Network) -> re.Pattern:
    # The subnet's leading octets, not preceded by a digit or a dot (so
    # 1198.51.100.5 or 10.198.51.100.5 are left alone).
    return re.compile(r"(?<![\d.])" + re.escape(octet_prefix(subnet)))


def subnet_of(raw: dict, file: str) -> ipaddress.IPv4Network:
    """The params' lab subnet, octet-aligned (/16 or /24), or a clear error."""
    value = (raw.get("lab") or {}).get("subnet")
    try:
        subnet = ipaddress.IPv4Network(str(value))
    except ValueError:
        raise InstanceError([Problem(file, "lab.subnet", f"{value!r} is not an IPv4 network, so a lab instance "
                                     "cannot map it", "give a network such as 198.51.100.0/24")], file) from None
    if subnet.prefixlen not in (16, 24):
        raise InstanceError([Problem(
            file, "lab.subnet", f"{subnet} is not octet-aligned (/16 or /24), so a lab instance cannot map its "
            "addresses to its own subnet by their host part", "use a /24 such as 198.51.100.0/24, "
            f"or run on the default lab (unset {ENV})")], file)
    return subnet


def _mover(raw: dict, file: str, name: str, record: dict) -> Callable[[Any], Any]:
    """A function that moves any value (str, list, dict) into instance NAME."""
    lab = raw.get("lab") or {}
    subnet = subnet_of(raw, file)
    target = ipaddress.IPv4Network(record["subnet"])
    if target.prefixlen != subnet.prefixlen:
        raise InstanceError([Problem(
            file, "lab.subnet", f"lab instance {name} has subnet {target}, another size than this file's {subnet}",
            f"take it down and up again with this file: `runbook lab down --instance {name} {file}`, "
            f"then `runbook lab up --instance {name} {file}`")], file)
    addr_re, new_prefix = _address_re(subnet), octet_prefix(target)
    base = str(lab.get("dir") or DEFAULT_LAB_DIR).rstrip("/")
    new_base = lab_dir_for(base, name)

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(move(v) for v in value)
        if isinstance(value, str):
            value = addr_re.sub(new_prefix, value)
            if value == base or value.startswith(base + "/"):
                value = new_base + value[len(base):]
            return value
        return value

    return move


def translate(raw: dict, file: str, name: str, record: dict) -> dict:
    """RAW params as instance NAME sees them (a new dict; RAW is not changed)."""
    out = _mover(raw, file, name, record)(raw)
    out["lab"] = dict(out["lab"], dir=lab_dir_for(str(raw["lab"].get("dir") or DEFAULT_LAB_DIR).rstrip("/"), name))
    return out


def as_instance(value: Any, raw: dict, file: str) -> Any:
    """VALUE (e.g. an address written in the params RAW) as the current
    instance has it; unchanged on the default instance."""
    name = current()
    if not name:
        return value
    record = read_record(name)
    if record is None:
        raise InstanceError([Problem(file, "lab", f"lab instance {name} is not up",
                                     f"`runbook lab up --instance {name} {file}`")], file)
    return _mover(raw, file, name, record)(value)


def for_instance(raw: Any, file: str) -> Any:
    """RAW params as the current instance sees them: unchanged for the
    default instance or params without a ``lab:`` section; else translated,
    or a clear error when the instance is not up."""
    name = current()
    if not name or not isinstance(raw, dict) or not isinstance(raw.get("lab"), dict):
        return raw
    subnet_of(raw, file)  # an unmappable subnet is reported first
    record = read_record(name)
    if record is None:
        raise InstanceError([Problem(
            file, "lab", f"lab instance {name} ({ENV}={name}) is not up, so its addresses are not known",
            f"bring it up first: `runbook lab up --instance {name} {file}`, or unset {ENV} for the default lab")],
            file)
    return translate(raw, file, name, record)
