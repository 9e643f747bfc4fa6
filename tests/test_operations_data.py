"""Operations as data (pyinfra's tests/operations/, STYLE.md 11): each file in
tests/fixtures/operations/<kind>/ gives the facts in (the file's bytes as a
host returns them, or a file as WSO2 ships it in ../shared/wso2-upstream),
the operation's arguments, and the Change out (changed, summary, the lines
the diff removes and adds), or the error it must raise. One test per
operation kind; a new case is a new file. The "already as intended" cases
(noop-*) also prove the bytes stay identical. The nginx virtual hosts 01
renders from each nginx layout are data too (tests/fixtures/nginx/).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from runbook_lib import configedit
from runbook_lib.core.change import Change
from runbook_lib.core.errors import ConfigEditError, RunbookError
from runbook_lib.operations import mysql as mysql_ops
from runbook_lib.operations.files import APPLIERS, edit_data, ensure_hosts_entries
from runbook_lib.params import load_params
from runbook_lib.sections.lb import nginx_conf

from .conftest import ROOT

CASES = Path(__file__).parent / "fixtures" / "operations"


def cases(kind: str) -> list[Path]:
    return sorted((CASES / kind).glob("*.yaml"))


def _node(x: object) -> object:
    """A child to write, from YAML: [tag, content] or [tag, {attrs}, content]; content a text or child list."""
    if not isinstance(x, list):
        return x
    return tuple([x[0], *[[_node(c) for c in part] if isinstance(part, list) else part for part in x[1:]]])


def edit(spec: dict) -> object:
    """`{SetText: {xpath: ..., value: ...}}` -> configedit.SetText(xpath=..., value=...)."""
    (name, kw), = spec.items()
    kw = dict(kw)
    if isinstance(kw.get("children"), list):
        kw["children"] = [_node(c) for c in kw["children"]]
    if isinstance(kw.get("path"), list):  # loadbalancer.conf: the block path
        kw["path"] = tuple(kw["path"])
    return getattr(configedit, name)(**kw)


def facts(case: dict, upstream: Path) -> bytes:
    f = case["file"]
    return (upstream / f["upstream"]).read_bytes() if "upstream" in f else f["text"].encode()


def lines_changed(diff: str) -> tuple[list[str], list[str]]:
    body = [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@", "\\"))]
    return [ln[1:] for ln in body if ln.startswith("-")], [ln[1:] for ln in body if ln.startswith("+")]


def check_change(change: Change, expect: dict) -> None:
    assert change.changed is expect["changed"]
    if "summary" in expect:
        assert change.summary == expect["summary"]
    if not expect["changed"]:
        assert change.diff == ""
    if "removed" in expect or "added" in expect:
        assert lines_changed(change.diff) == (expect.get("removed", []), expect.get("added", []))


def run_edit(kind: str, path: Path, upstream: Path) -> None:
    case = yaml.safe_load(path.read_text())
    before, edits, expect = facts(case, upstream), [edit(e) for e in case["edits"]], case["expect"]
    name = case.get("path") or Path(case["file"]["upstream"]).name
    host = SimpleNamespace(name="node1")  # a dry run: the host only names the target
    ns = case.get("namespaces")
    if "error" in expect:
        with pytest.raises(ConfigEditError) as e:
            edit_data(host, name, kind, before, edits, namespaces=ns, dry_run=True)
        for part in expect["error"]:
            assert part in str(e.value)
        return
    check_change(edit_data(host, name, kind, before, edits, namespaces=ns, dry_run=True), expect)
    result = APPLIERS[kind](before, edits, name, ns) if kind == "xml" else APPLIERS[kind](before, edits, name)
    assert result.changed is expect["changed"]
    if not expect["changed"]:  # already as intended: byte-identical, every edit says so
        assert result.data == before and result.diff == ""
        texts = [str(n) for n in result.notes]  # what each edit says (a text, or a note whose str() is its text)
        assert len(texts) == len(edits) and all(expect["notes_all"] in t for t in texts)
    else:  # applying the result again changes nothing
        again = APPLIERS[kind](result.data, edits, name, ns) if kind == "xml" else APPLIERS[kind](result.data, edits, name)
        assert not again.changed and again.data == result.data


@pytest.mark.parametrize("path", cases("xml"), ids=lambda p: p.stem)
def test_xml_edit(path: Path, upstream: Path) -> None:
    run_edit("xml", path, upstream)


@pytest.mark.parametrize("path", cases("properties"), ids=lambda p: p.stem)
def test_properties_edit(path: Path, upstream: Path) -> None:
    run_edit("properties", path, upstream)


@pytest.mark.parametrize("path", cases("lbconf"), ids=lambda p: p.stem)
def test_lbconf_edit(path: Path, upstream: Path) -> None:
    run_edit("lbconf", path, upstream)


@pytest.mark.parametrize("path", cases("hosts"), ids=lambda p: p.stem)
def test_hosts_entries(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    data = case["file"]["text"].encode()
    host = SimpleNamespace(name="node1", read_file=lambda p, sudo=False: data)
    change = ensure_hosts_entries(host, [tuple(e) for e in case["entries"]], dry_run=True)
    check_change(change, case["expect"])


def test_every_kind_has_a_change_and_an_already_as_intended_case() -> None:
    for kind in ("xml", "properties", "lbconf", "hosts", "mysql"):
        stems = [p.stem for p in cases(kind)]
        assert any(s.startswith("noop") for s in stems) and any(not s.startswith(("noop", "error")) for s in stems), kind


class FactsDb:
    """A MySQL server as the operation's facts describe it: it answers the
    queries the facts functions (facts/mysql.py) send and refuses any write
    (every case is a dry run: the plan, not its execution)."""

    def __init__(self, facts: dict) -> None:
        self.facts, self.is_mariadb = facts, facts.get("mariadb", True)

    def query(self, sql: str, params: tuple | list = (), **_: object) -> list[tuple]:
        if "information_schema.SCHEMATA WHERE SCHEMA_NAME" in sql:
            found = self.facts.get("databases", {}).get(params[0])
            return [tuple(found)] if found else []
        if "FROM mysql.user" in sql:
            return [(1,)] if f"{params[0]}@{params[1]}" in self.facts.get("users", []) else []
        if sql.startswith("SHOW GRANTS"):
            return [(line,) for line in self.facts.get("grants", [])]
        raise AssertionError(f"a query the case gives no facts for: {sql}")

    def execute(self, *_: object, **__: object) -> None:
        raise AssertionError("a dry run executed SQL")


@pytest.mark.parametrize("path", cases("mysql"), ids=lambda p: p.stem)
def test_mysql_plan(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    operation = getattr(mysql_ops, case["operation"])
    expect, db = case["expect"], FactsDb(case["facts"])
    if "error" in expect:
        with pytest.raises(RunbookError) as e:
            operation(db, **case["args"], dry_run=True)
        for part in expect["error"]:
            assert part in str(e.value)
        return
    change = operation(db, **case["args"], dry_run=True)
    check_change(change, expect)
    assert list(change.commands) == expect.get("commands", [])


NGINX = Path(__file__).parent / "fixtures" / "nginx"


@pytest.mark.parametrize("layout", sorted(p.name for p in NGINX.iterdir()))
def test_nginx_vhosts_render(layout: str) -> None:
    """The virtual hosts 01 writes for a layout (params/<layout>.yaml in), as
    committed in tests/fixtures/nginx/<layout>/{http,https,mgt}.conf (the files
    out). A change to the rendering shows here as a diff to review."""
    p = load_params(ROOT / "params" / f"{layout}.yaml")
    for kind, vhost in zip(("http", "https", "mgt"), nginx_conf.all_vhosts(p)):
        assert vhost.text() == (NGINX / layout / f"{kind}.conf").read_text(), f"{layout}/{kind}.conf"


def test_the_two_https_vhosts_in_one_file(tmp_path) -> None:
    """load_balancer.vhost_files may keep both HTTPS vhosts in one file (a cluster built by
    hand, issue 20): one file holding both texts; the HTTP vhost may not share it."""
    from runbook_lib.core.errors import ParamsError
    text = (ROOT / "params" / "ei-integrator-004.yaml").read_text()
    assert "  affinity: ip_hash" in text
    path = tmp_path / "one.yaml"
    path.write_text(text.replace("  affinity: ip_hash", "  affinity: ip_hash\n  vhost_files: {https: wso2-tls.conf, "
                                 "mgt: wso2-tls.conf}", 1))
    p = load_params(path)
    files = nginx_conf.by_file(nginx_conf.all_vhosts(p))
    https, mgt = nginx_conf.tls_vhosts(p)
    assert files[https.path] == [https, mgt] and https.path.endswith("/wso2-tls.conf")
    assert nginx_conf.file_content(files[https.path]) == (https.text() + "\n" + mgt.text()).encode()
    path.write_text(text.replace("  affinity: ip_hash", "  affinity: ip_hash\n  vhost_files: {http: all.conf, "
                                 "mgt: all.conf}", 1))
    with pytest.raises(ParamsError, match="HTTP vhost shares its file"):
        load_params(path)
