"""The `runbook` command: parse arguments, call the library, map errors to
exit codes. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ParamsError, RunbookError

DEFAULT_PARAMS = "params/lab.yaml"


def _distributions(values: list[str]) -> dict[str, Path]:
    out = {}
    for v in values:
        if "=" not in v:
            raise ParamsError([f"--distribution {v!r}: expected NAME=DIR, e.g. ei-6.1.1=../shared/wso2-upstream/ei-6.1.1"])
        name, d = v.split("=", 1)
        out[name] = Path(d)
    return out


def cmd_lab(args: argparse.Namespace) -> int:
    from . import lab
    from .params import load_params
    p = load_params(args.params)
    if args.lab_cmd == "up":
        lab.up(p, Path(args.params), _distributions(args.distribution))
        print(lab.format_status(lab.status(p)))
    elif args.lab_cmd == "down":
        lab.down(p)
    else:
        st = lab.status(p)
        print(json.dumps(st, indent=2) if args.json else lab.format_status(st))
        return 0 if st["healthy"] else 3
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .params import validate_file
    worst = 0
    for f in args.params:
        errors, warnings = validate_file(f)
        for w in warnings:
            print(f"warning: {w}")
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
        if errors:
            worst = 2
        else:
            print(f"{f}: valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return worst


def cmd_run(args: argparse.Namespace) -> int:
    from .params import load_params
    from .runner import run_sections
    load_params(args.params)  # bad params stop here, before any notebook runs
    only = [x for s in args.sections for x in s.split(",") if x] or None
    summary = run_sections(args.params, apply=args.apply, only=only, out_dir=args.out, hosts=args.hosts)
    print(summary.text())
    print(f"executed notebooks and summary: {summary.out_dir}")
    return 0 if summary.ok else 1


def cmd_publish(args: argparse.Namespace) -> int:
    from .runner import publish
    for path in publish(args.run_dir):
        print(f"published {path}")
    return 0


def _run_hosts(params_file: str):
    from .context import resolve_params_path
    from .inventory import hosts_from_params
    from .params import load_params
    p = load_params(resolve_params_path(params_file))
    return p, hosts_from_params(p)


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore the files a run changed from its backups (rollback.py)."""
    from .rollback import rollback
    run_dir = Path(args.run_dir)
    summary = run_dir / "summary.json"
    params_file = args.params or (json.loads(summary.read_text())["params_file"] if summary.exists() else None)
    if not params_file:
        raise ParamsError([f"{run_dir}: no summary.json to say which params the run used. Fix: add --params FILE"])
    p, hosts = _run_hosts(params_file)
    only = [x for x in args.hosts.split(",") if x] or None
    try:
        report = rollback(run_dir, hosts, only=only, dry_run=args.dry_run, force=args.force)
    finally:
        for h in hosts.values():
            h.close()
    print(report.text())
    return 0 if report.ok else 1


def cmd_backups(args: argparse.Namespace) -> int:
    """List backups older than the params' retention; delete them only with --prune."""
    from .backups import backups_report
    p, hosts = _run_hosts(args.params)
    try:
        print(backups_report(p, hosts, prune=args.prune))
    finally:
        for h in hosts.values():
            h.close()
    return 0


def _add_fault_commands(sub) -> None:  # noqa: ANN001 - argparse's private subparsers type
    rb = sub.add_parser("rollback", help="restore the files a run changed from the backups it made")
    rb.add_argument("run_dir")
    rb.add_argument("--hosts", default="", help="only these hosts (comma-separated)")
    rb.add_argument("--dry-run", action="store_true", help="show what would be restored; change nothing")
    rb.add_argument("--force", action="store_true", help="also restore files changed since that run")
    rb.add_argument("--params", default=None, help="the params file (default: the one the run used)")
    rb.set_defaults(func=cmd_rollback)
    bk = sub.add_parser("backups", help="list backups older than the params' retention; --prune deletes them")
    bk.add_argument("params")
    bk.add_argument("--prune", action="store_true")
    bk.set_defaults(func=cmd_backups)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="runbook", description="WSO2 Cluster Runbook")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lab = sub.add_parser("lab", help="the local multi-host lab")
    labsub = lab.add_subparsers(dest="lab_cmd", required=True)
    up = labsub.add_parser("up", help="build the lab from a params file (safe to repeat)")
    up.add_argument("params", nargs="?", default=DEFAULT_PARAMS)
    up.add_argument("--distribution", action="append", default=[], metavar="NAME=DIR",
                    help="build product NAME (e.g. ei-6.1.1) from real distribution files in DIR")
    down = labsub.add_parser("down", help="remove everything the lab made (safe to repeat)")
    down.add_argument("params", nargs="?", default=DEFAULT_PARAMS)
    st = labsub.add_parser("status", help="hosts, addresses, roles and service health")
    st.add_argument("params", nargs="?", default=DEFAULT_PARAMS)
    st.add_argument("--json", action="store_true")
    lab.set_defaults(func=cmd_lab)
    val = sub.add_parser("validate", help="check params files; report every problem")
    val.add_argument("params", nargs="+")
    val.set_defaults(func=cmd_validate)
    run = sub.add_parser("run", help="run the section notebooks headless with papermill")
    run.add_argument("params")
    run.add_argument("--apply", action="store_true", help="make the changes (default: plan only)")
    run.add_argument("--sections", nargs="*", default=[], help="e.g. preflight load_balancer (default: all)")
    run.add_argument("--hosts", default="", help="only these hosts or nodes (comma-separated)")
    run.add_argument("--out", default=None, help="run folder (default: runs/<UTC timestamp>/)")
    run.set_defaults(func=cmd_run)
    pub = sub.add_parser("publish", help="make a run's executed notebooks the committed record (notebooks/)")
    pub.add_argument("run_dir")
    pub.set_defaults(func=cmd_publish)
    _add_fault_commands(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RunbookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
