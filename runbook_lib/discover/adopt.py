"""`runbook discover`: adopt a hand-built cluster. Reads every host (never
writes), writes the params file with each value's provenance, the secrets
file (--secrets-out), the consistency report, and proves the params with a
plan-only run (the round trip)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..core.context import ROOT
from ..core.errors import ParamsError
from ..facts import jks, tls
from ..facts.mysql import parse_jdbc_url
from ..params import load_params
from ..params.secrets import mask_text, read_secrets_file
from ..remote.probe import quote
from . import assemble as A, services as S
from .consistency import Item, report
from .secretmodes import mode_items
from .dbread import read_database
from .found import Problem
from .homes import find_homes
from .lbread import read_nginx
from .nodefiles import read_node
from .reach import close_all, reach
from .roundtrip import RoundTrip, plan
from . import vault as V
from .secrets import Secret, collect, write_secrets_out
from .yamlout import guesses, render

EXIT_OK, EXIT_PROBLEMS, EXIT_NAMED = 0, 1, 2
KEY_TYPES = {"RSA 2048": "rsa-2048", "RSA 3072": "rsa-3072", "RSA 4096": "rsa-4096", "EC P-256": "ec-p256"}


@dataclass
class Options:
    hosts: list[str]
    user: str
    key: str
    known_hosts: str
    out: str
    lb: str | None = None
    database: str | None = None
    db_admin: str = "root"
    db_admin_secret: str = "DB_ADMIN_PASSWORD"
    secrets_file: str | None = None
    secrets_out: str | None = None
    name: str = "adopted"
    plan: bool = True
    run_dir: str | None = None


@dataclass
class Result:
    params_file: str
    valid: bool
    validation: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    secrets_added: list[str] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)
    round_trip: RoundTrip | None = None
    run_dir: str = ""

    @property
    def exit_code(self) -> int:
        rt = self.round_trip
        if self.problems or not self.valid or (rt and (rt.unnamed or rt.errors)):
            return EXIT_PROBLEMS
        return EXIT_NAMED if rt and rt.differences else EXIT_OK

    def text(self) -> str:
        out = [f"params written: {self.params_file} ({'valid' if self.valid else 'NOT VALID'})"]
        out += [f"  invalid: {v}" for v in self.validation]
        if self.problems:
            out.append(f"problems ({len(self.problems)}):")
            out += [f"  {p}" for p in self.problems]
        out.append(f"secrets the params need ({len(self.secrets)}):")
        out += [f"  {s.line()}" for s in self.secrets]
        if self.secrets_added:
            out.append(f"  added to the secrets file: {', '.join(self.secrets_added)}")
        if self.guesses:
            out.append(f"guesses ({len(self.guesses)}), check them in the file:")
            out += [f"  {g}" for g in self.guesses]
        out.append(f"consistency report ({len(self.items)} item(s)):")
        out += [f"  {i.text()}".replace("\n", "\n  ") for i in self.items] or ["  nothing to report"]
        rt = self.round_trip
        if rt is not None:
            out.append(f"round trip: plan on {self.params_file}: {len(rt.differences)} difference(s), "
                       f"{len(rt.unnamed)} the report does not name (run folder {rt.run_dir})")
            out += [f"  named: {d}\n      by: {i.what}" for d, i in rt.named]
            out += [f"  NOT NAMED: {d}" for d in rt.unnamed]
            out += [f"  FAILED: {e}" for e in rt.errors]
        verdict = {EXIT_OK: "ADOPTED: the runbook would change nothing" if rt else "WRITTEN (no round trip: --no-plan)",
                   EXIT_NAMED: "ADOPTED WITH DIFFERENCES: each one named in the report",
                   EXIT_PROBLEMS: "INCOMPLETE: see the problems above"}[self.exit_code]
        out.append(f"{verdict} (exit {self.exit_code})")
        return mask_text("\n".join(out))


def _admin_password(opts: Options) -> str | None:
    if os.environ.get(opts.db_admin_secret):
        return os.environ[opts.db_admin_secret]
    return read_secrets_file(opts.secrets_file).get(opts.db_admin_secret) if opts.secrets_file else None


def gather(opts: Options) -> A.Facts:
    """Read everything; each failure becomes a Problem naming what it concerns."""
    problems: list[Problem] = []
    extra = [a for a in (opts.lb, opts.database) if a]
    reached = reach(opts.hosts + extra, opts.user, opts.key, opts.known_hosts, problems)
    facts = A.Facts(reached, problems=problems, lb_address=opts.lb, db_address=opts.database)
    taken: set[str] = set()
    for a in opts.hosts:
        r = reached[a]
        if r.host is None:
            continue
        homes, unknown = find_homes(r.host, r.name.value)
        problems += [Problem(f"{r.name.value}:{u}", "names no supported product") for u in unknown]
        if not homes:
            problems.append(Problem(f"host {r.name.value} ({a})", "no Carbon home found (no bin/version.txt under "
                                    "/opt, /srv, /home, /usr/local)", "leave the host out, or unpack the product"))
        for home in homes:
            nf = read_node(r.host, home)
            problems += nf.problems
            name = A.node_name(home.path, r.name.value, taken)
            taken.add(name)
            facts.nodes[name], facts.node_host[name] = nf, r.name.value
    if opts.lb and reached[opts.lb].host is not None:
        facts.nginx = read_nginx(reached[opts.lb].host, reached[opts.lb].name.value, problems)
        if facts.nginx is None:
            problems.append(Problem(f"load balancer {opts.lb}", "no nginx virtual host found in /etc/nginx/conf.d",
                                    "give the nginx host with --lb, or leave --lb out"))
        else:
            facts.lb_certs = _lb_certs(facts, reached[opts.lb])
            facts.lb_cert = next(iter(facts.lb_certs.values()), None)
    facts.truststore = _truststore(facts, opts.secrets_file)
    facts.svn_roots = _svn_roots(facts, opts)
    _database(facts, opts)
    return facts


def _lb_certs(facts: A.Facts, r) -> dict[str, dict]:  # noqa: ANN001
    """Each TLS vhost's certificate (public: no key is read), by server name."""
    out = {}
    for srv in facts.nginx.servers:
        if not srv.certificate or not srv.server_name:
            continue
        try:
            data = r.host.read_file(srv.certificate.value)
            cert = tls.split_pem(data or b"")[0]
        except Exception:  # noqa: BLE001 - an unreadable certificate: the fields stay guesses
            continue
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        out[srv.server_name.value] = {
            "fingerprint": tls.fingerprint(cert), "key_type": KEY_TYPES.get(tls.public_key_words(cert.public_key())),
            "days": days if 1 <= days <= 3650 else None, "where": srv.certificate.value, "dns": tls.dns_names(cert)}
    return out


def _truststore(facts: A.Facts, secrets_file: str | None) -> dict[str, str] | None:
    xp = "/c:Server/c:Security/c:TrustStore/c:Password"
    for name, f in facts.by_role("manager", "worker", "member").items():
        pw = f.files["carbon"].one(xp)
        els = f.files["carbon"].elements(xp) if pw else []
        if els and V._alias(els[0]):  # under Secure Vault: the password as the operator gives it, by name
            pw = A.Found(V.given(A.SECRET_NAMES["truststore"], secrets_file) or "")
        r = next(x for x in facts.reached.values() if x.name.value == facts.node_host[name])
        try:
            data = r.host.read_file(f"{f.home.path}/{f.spec.security_dir}/client-truststore.jks")
            return jks.read_jks(data, pw.value) if data and pw and pw.value else None
        except Exception:  # noqa: BLE001 - another password or format: the alias stays a guess
            return None
    return None


def _svn_roots(facts: A.Facts, opts: Options) -> list[str]:
    urls = [f.depsync("SvnUrl") for f in facts.nodes.values() if f.depsync("SvnUrl")]
    if not urls:
        return []
    m = re.match(r"svn://([\d.]+)", urls[0].value)
    if not m:
        return []
    address = m.group(1)
    if address not in facts.reached:
        facts.reached.update(reach([address], opts.user, opts.key, opts.known_hosts, facts.problems))
    h = facts.reached[address].host
    if h is None:
        return []
    res = h.run("ps -eo args | grep '^[s]vnserve' || true")
    roots = [x for line in res.stdout.splitlines() for x in re.findall(r"(?:-r|--root)[ =](\S+)", line)]
    path = urlsplit_path(urls[0].value)
    return [r for r in dict.fromkeys(roots) if h.run(quote("test -f %s/format", f"{r}/{path}")).ok]


def urlsplit_path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1] if "/" in url.split("://", 1)[1] else ""


def _database(facts: A.Facts, opts: Options) -> None:
    if not opts.database:
        return
    urls = [d for f in facts.nodes.values() for d in f.datasources() if parse_jdbc_url(d.url.value)]
    port = parse_jdbc_url(urls[0].url.value)[1] if urls else 3306
    password = _admin_password(opts)
    if password is None:
        facts.problems.append(Problem(f"database {opts.database}", f"no secret {opts.db_admin_secret} in the "
                                      "environment or the secrets file", f"export {opts.db_admin_secret}=... or "
                                      "give --secrets-file"))
        return
    app_user = urls[0].user.value if urls else "wso2carbon"
    user_store = next((parse_jdbc_url(d.url.value)[2] for d in urls if d.jndi.value == "jdbc/WSO2UMDB"), "")
    facts.db = read_database(opts.database, port, opts.db_admin, password, app_user, user_store, facts.problems)


def build_tree(facts: A.Facts, opts: Options) -> dict:
    roles: dict[str, list[str]] = {}
    if opts.lb:
        roles.setdefault(opts.lb, []).append("load_balancer")
    if opts.database:
        roles.setdefault(opts.database, []).append("database")
    ds = S.deployment_sync_section(facts)
    if "host" in ds:
        roles.setdefault(facts.address_of(ds["host"].value), []).append("svn")
    for a in facts.reached:
        if a not in opts.hosts and a not in roles:
            roles[a] = ["node"]
    for n in facts.nodes:  # a host holding nodes keeps the `node` role beside database/svn (000's node206)
        a = facts.address_of(facts.node_host[n])
        if a in roles and "node" not in roles[a]:
            roles[a].insert(0, "node")
    cluster = facts.by_role("manager", "worker", "member") or facts.nodes
    first = next(iter(cluster.values()), None)
    product = {"name": A.Found(first.home.product, first.home.host, first.home.path + "/bin/version.txt", 1),
               "version": A.Found(first.home.version, first.home.host, first.home.path + "/bin/version.txt", 1)} \
        if first else {"name": A.guess("ei", "no home found"), "version": A.guess("6.1.1", "no home found")}
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tree: dict = {"name": opts.name, "description": f"adopted by runbook discover on {stamp}", "product": product}
    secrets_file = opts.secrets_out or opts.secrets_file
    if secrets_file:
        tree["secrets_file"] = A.Found(str(Path(secrets_file).resolve()), why="--secrets-out" if opts.secrets_out
                                       else "--secrets-file")
    tree["ssh"] = {"key": A.Found(opts.key, why="--key"), "known_hosts": A.Found(opts.known_hosts, why="--known-hosts")}
    given = set(opts.hosts) | {a for a in (opts.lb, opts.database) if a}
    tree["hosts"] = A.hosts_section(facts, roles, opts.user, given)
    tree["nodes"] = A.nodes_section(facts)
    tree["cluster"] = A.cluster_section(facts)
    tree["load_balancer"] = A.load_balancer_section(facts)
    brokers = S.brokers_section(facts)
    if brokers:
        tree["brokers"] = brokers
    db = A.database_section(facts, opts.db_admin, opts.db_admin_secret)
    if db:
        tree["database"] = db
    tree["deployment_sync"] = ds
    certs = S.certificates_section(facts)
    if certs:
        tree["certificates"] = certs
    vault = V.securevault_section(facts)
    if vault:
        tree["securevault"] = vault
    return tree


def discover(opts: Options, progress=print) -> Result:
    """Read the cluster, write the params (and secrets), report, plan."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(opts.run_dir) if opts.run_dir else ROOT / "runs" / f"discover-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    progress(f"reading {len(opts.hosts)} host(s) (read-only) ...")
    facts = gather(opts)
    try:
        tree = build_tree(facts, opts)
        items = report(facts) + mode_items(facts)
        secrets = collect(facts, opts.db_admin_secret, _admin_password(opts), opts.secrets_file)
    finally:
        close_all(facts.reached)
    header = ["Written by `runbook discover`: every value says where it was read (host:file:line),",
              "or is marked as a guess. Review it, then `runbook check` this file.",
              f"Consistency report: {run_dir}/report.txt", ""]
    out = Path(opts.out)
    out.write_text(render(tree, header))
    result = Result(str(out), True, problems=facts.problems, items=items, secrets=secrets,
                    guesses=guesses(tree), run_dir=str(run_dir))
    if opts.secrets_out:
        result.secrets_added = write_secrets_out(opts.secrets_out, secrets, facts.problems)
    try:
        load_params(out)
    except ParamsError as e:
        result.valid, result.validation = False, [str(p) for p in e.problems]
    if opts.plan and result.valid:
        progress(f"round trip: planning every section on {out} (plan only, nothing is changed) ...")
        result.round_trip = plan(out.resolve(), items, run_dir / "plan")
    (run_dir / "report.txt").write_text(result.text() + "\n")
    (run_dir / "report.json").write_text(json.dumps({
        "params_file": str(out), "exit_code": result.exit_code, "valid": result.valid,
        "problems": [str(p) for p in result.problems], "items": [i.__dict__ for i in items],
        "secrets": [{"name": s.name, "state": s.state, "where": s.where} for s in secrets],
        "guesses": result.guesses,
        "differences": result.round_trip.differences if result.round_trip else [],
        "unnamed": result.round_trip.unnamed if result.round_trip else []}, indent=2) + "\n")
    return result
