"""The `runbook` command: parse arguments, call the library, map errors to
exit codes. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .core.context import resolve_params_path
from .core.errors import ParamsError, RunbookError
from .lab.commands import add_lab_commands
from .params import load_params, validate_file
from .params.secrets import mask_text
from .remote.inventory import hosts_from_params
from .run.backups import backups_report
from .run.report import register_secrets, write_report
from .run.resume import resume
from .run.rollback import rollback
from .run.rolling import run_rolling

DEFAULT_PARAMS = "params/lab.yaml"


def cmd_validate(args: argparse.Namespace) -> int:
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


RUN_CODES = """exit codes:
  0  as intended: nothing would change (with --apply: applied and verified)
  1  an error: bad params, a host unreachable, a section stopped, or a check
     that applying will not satisfy
  2  plan only: applying would change something (drift, or not yet applied)"""


def cmd_run(args: argparse.Namespace, quiet: bool = False) -> int:
    try:
        load_params(args.params)  # bad params stop here, before any notebook runs
    except ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if getattr(args, "rolling", False):  # issue 21: node by node through the load balancer (run/rolling.py)
        if args.sections or args.hosts:
            print("error: --rolling chooses its own sections and nodes. Fix: drop --sections/--hosts", file=sys.stderr)
            return 1
        return run_rolling(args.params, args.batch, args.out, apply=args.apply)
    only = [x for s in args.sections for x in s.split(",") if x] or None
    from .run.report_meta import duration
    from .run.runner import run_sections  # papermill takes seconds to import: only run and check need it
    summary = run_sections(args.params, apply=getattr(args, "apply", False), only=only, out_dir=args.out,
                           hosts=args.hosts, progress=(lambda _: None) if quiet else print)
    print(summary.text())
    print(f"executed notebooks, summary and report: {summary.out_dir}/index.html"
          + (f" (total {duration(summary.meta['seconds'])})" if summary.meta.get("ended") else ""))
    return summary.exit_code


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue an interrupted rolling apply from its journal (run/resume.py)."""
    return resume(args.run_dir)


def cmd_check(args: argparse.Namespace) -> int:
    """A plan-only run for drift detection: the summary only, no progress lines."""
    return cmd_run(args, quiet=not args.verbose)


def cmd_report(args: argparse.Namespace) -> int:
    print(f"report: {write_report(args.run_dir)}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .run.runner import publish  # papermill, as above
    for path in publish(args.run_dir):
        print(f"published {path}")
    return 0


def _run_hosts(params_file: str):
    p = load_params(resolve_params_path(params_file))
    return p, hosts_from_params(p)


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore the files a run changed from its backups (rollback.py)."""
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
    register_secrets(params_file)  # the params' secrets masked by value too, as in the run's outputs
    print(mask_text(report.text()))
    return 0 if report.ok else 1


def cmd_backups(args: argparse.Namespace) -> int:
    """List backups older than the params' retention; delete them only with --prune."""
    p, hosts = _run_hosts(args.params)
    try:
        print(backups_report(p, hosts, prune=args.prune))
    finally:
        for h in hosts.values():
            h.close()
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """Adopt a hand-built cluster: write its params file, report, plan (discover/)."""
    from .discover import Options, discover  # papermill (the round trip) takes seconds to import
    split = lambda s: [x for x in (s or "").split(",") if x]  # noqa: E731
    opts = Options(hosts=split(args.hosts), user=args.user, key=args.key, known_hosts=args.known_hosts,
                   out=args.out, lb=args.lb, database=args.database, db_admin=args.db_admin,
                   db_admin_secret=args.db_admin_secret, secrets_file=args.secrets_file,
                   secrets_out=args.secrets_out, name=args.name, plan=not args.no_plan, run_dir=args.run_dir)
    result = discover(opts)
    print(result.text())
    print(f"consistency report: {result.run_dir}/report.txt")
    return result.exit_code


def _add_discover(sub) -> None:  # noqa: ANN001 - argparse's private subparsers type
    d = sub.add_parser("discover", help="adopt a cluster built by hand: write its params file (read-only)",
                       description="Reads every host (never writes), writes PARAMS.yaml with each value's "
                       "host/file/line, a consistency report, and plans on it. Exit 0: the runbook would "
                       "change nothing; 2: every difference is named in the report; 1: problems.")
    d.add_argument("--hosts", required=True, help="the node hosts' addresses, comma-separated")
    d.add_argument("--user", required=True)
    d.add_argument("--key", required=True)
    d.add_argument("--known-hosts", required=True)
    d.add_argument("--lb", default=None, help="the nginx load balancer's address")
    d.add_argument("--database", default=None, help="the database host's address")
    d.add_argument("--db-admin", default="root")
    d.add_argument("--db-admin-secret", default="DB_ADMIN_PASSWORD", help="the admin password's NAME")
    d.add_argument("--secrets-file", default=None)
    d.add_argument("--secrets-out", default=None, help="add the passwords found in clear here (0600)")
    d.add_argument("--name", default="adopted", help="the params' name:")
    d.add_argument("--out", required=True, help="the params file to write")
    d.add_argument("--no-plan", action="store_true", help="skip the round trip (the plan on the written file)")
    d.add_argument("--run-dir", default=None, help="where the report goes (default: runs/discover-<UTC time>/)")
    d.set_defaults(func=cmd_discover)


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


def _run_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("params")
    ap.add_argument("--sections", nargs="*", default=[], help="e.g. preflight load_balancer (default: all)")
    ap.add_argument("--hosts", default="", help="only these hosts or nodes (comma-separated)")
    ap.add_argument("--out", default=None, help="run folder (default: runs/<UTC timestamp>/)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="runbook", description="WSO2 Cluster Runbook")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_lab_commands(sub, DEFAULT_PARAMS)
    val = sub.add_parser("validate", help="check params files; report every problem")
    val.add_argument("params", nargs="+")
    val.set_defaults(func=cmd_validate)
    run = sub.add_parser("run", help="run the section notebooks headless with papermill",
                         epilog=RUN_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--apply", action="store_true", help="make the changes (default: plan only)")
    _run_arguments(run)
    run.add_argument("--rolling", action="store_true", help="node by node through the load balancer: drain, "
                     "apply, restart, wait, return, prove (with --apply; without, the plan)")
    run.add_argument("--batch", type=int, default=1, help="with --rolling: workers per batch (default 1)")
    run.set_defaults(func=cmd_run)
    res = sub.add_parser("resume", help="continue an interrupted rolling apply from its run folder's journal")
    res.add_argument("run_dir")
    res.set_defaults(func=cmd_resume)
    check = sub.add_parser("check", help="day two: is the cluster still as the params say? (plan only, "
                           "changes nothing)", epilog=RUN_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="A plan-only run of the sections for drift detection: nothing is "
                           "changed; prints what differs per section, host and file, and exits 0, 1 or 2.")
    _run_arguments(check)
    check.add_argument("-v", "--verbose", action="store_true", help="print progress per section")
    check.set_defaults(func=cmd_check)
    rep = sub.add_parser("report", help="(re)write a run folder's index.html and notebook HTML pages")
    rep.add_argument("run_dir")
    rep.set_defaults(func=cmd_report)
    pub = sub.add_parser("publish", help="make a run's executed notebooks the committed record (notebooks/)")
    pub.add_argument("run_dir")
    pub.set_defaults(func=cmd_publish)
    _add_fault_commands(sub)
    _add_discover(sub)
    return ap


# The runner's nbformat validates with jsonschema, which compiles a Lark grammar at import when
# the optional rfc3987-syntax package is installed (jupyter-events brings it): about 2 s of CPU
# per command, most of a `runbook run`'s own. No notebook field has the "iri" formats it checks.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def main(argv: list[str] | None = None) -> int:
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type] - None: "import fails", jsonschema skips it
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
