"""The `runbook lab` commands (up, down, status) for cli.py: the lab's
arguments in, the lab package called, an exit code out."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..core.errors import ParamsError
from ..params import load_params
from ..params.instance import ENV, InstanceError, check_name, current, read_record
from ..params.load import read_raw
from . import control as lab_control, health as lab_health, instance as lab_instance, paths as lab_files


def _distributions(values: list[str]) -> dict[str, Path]:
    out = {}
    for v in values:
        if "=" not in v:
            raise ParamsError([f"--distribution {v!r}: expected NAME=DIR, e.g. ei-6.1.1=../shared/wso2-upstream/ei-6.1.1"])
        name, d = v.split("=", 1)
        out[name] = Path(d)
    return out


def _use_instance(args: argparse.Namespace) -> str:
    """--instance NAME: the lab instance for this command and everything it
    starts (notebook kernels inherit RUNBOOK_LAB_INSTANCE)."""
    if args.instance is not None:
        if args.instance:
            os.environ[ENV] = check_name(args.instance, "--instance")
        else:
            os.environ.pop(ENV, None)
    return current()


def cmd_lab(args: argparse.Namespace) -> int:
    name = _use_instance(args)
    if args.lab_cmd == "status":
        return cmd_lab_status(args, name)
    if args.lab_cmd == "up":
        fresh = bool(name) and read_record(name) is None
        if name:
            lab_instance.allocate(name, read_raw(args.params), args.params, args.subnet)
        elif args.subnet:
            raise ParamsError([f"--subnet {args.subnet}: only a named lab instance (--instance NAME) takes "
                               "--subnet; the default lab uses the params' lab.subnet"])
        try:
            p = load_params(args.params)
        except ParamsError:
            if fresh:  # bad params, nothing built: give the instance's subnet back
                lab_control.down(log=lambda *_: None, release=True)
            raise
        lab_control.up(p, Path(args.params), _distributions(args.distribution))
        print(lab_health.format_status(lab_health.status(p, Path(args.params)), args.params))
    elif args.lab_cmd == "down":
        try:
            p = load_params(args.params)
        except InstanceError:
            p = None  # not up (no record): remove whatever is left of it by its names
        lab_control.down(p, release=True)
    return 0


def cmd_lab_status(args: argparse.Namespace, name: str = "") -> int:
    """The lab that is up, read from its own state file. Without PARAMS it is
    described with the params file that built it; with PARAMS, also whether
    it was built from them. Exit 0 healthy (and built from PARAMS), else 3."""
    record = read_record(name) if name else None
    if name and record is None:
        print(f"lab instance {name} is not up (no record of it)")
        return 3
    default = record["params_file"] if record and Path(record["params_file"]).is_file() else args.default_params
    p = load_params(args.params or default)  # where the lab lives (lab.dir)
    params_file = Path(args.params) if args.params else None
    state = lab_files.read_state(lab_files.lab_paths(p)) or {}
    built = Path(state.get("params_file") or "")
    if params_file is None and built.is_file():
        p, params_file = load_params(built), built
    st = lab_health.status(p, params_file)
    print(json.dumps(st, indent=2) if args.json else lab_health.format_status(st, args.params))
    return 0 if st["healthy"] else 3


def add_lab_commands(sub, default_params: str) -> None:  # noqa: ANN001 - argparse's private subparsers type
    """`runbook lab up|down|status`, PARAMS defaulting to DEFAULT_PARAMS."""
    lab = sub.add_parser("lab", help="the local multi-host lab")
    labsub = lab.add_subparsers(dest="lab_cmd", required=True)
    up = labsub.add_parser("up", help="build the lab from a params file (safe to repeat)")
    up.add_argument("params", nargs="?", default=default_params)
    up.add_argument("--distribution", action="append", default=[], metavar="NAME=DIR",
                    help="build product NAME (e.g. ei-6.1.1) from real distribution files in DIR")
    down = labsub.add_parser("down", help="remove everything the lab made (safe to repeat)")
    down.add_argument("params", nargs="?", default=default_params)
    st = labsub.add_parser("status", help="the lab that is up: the params file that built it, its hosts, "
                           "addresses, roles and service health (exit 0 healthy, 3 otherwise)")
    st.add_argument("params", nargs="?", default=None,
                    help="optional: also say whether the lab up was built from this params file")
    st.add_argument("--json", action="store_true")
    for sp in (up, down, st):
        sp.add_argument("--instance", default=None, metavar="NAME",
                        help="a lab of its own beside others (default: $RUNBOOK_LAB_INSTANCE, else the default lab)")
    up.add_argument("--subnet", default=None, help="with --instance: the instance's subnet (default: the first "
                    "free one in 198.18.0.0/15)")
    lab.set_defaults(func=cmd_lab)
    lab.set_defaults(default_params=default_params)
