"""E16: the WSO2 ELB's PassThrough socket timeout (001 step 4), at the file
level. `http.socket.timeout` is in milliseconds (001 calls 6000 "60
seconds"); the params say the unit in the field's name. Only the edited line
of passthru-http.properties may change: every other byte stays as shipped.

The shipped file of ELB 2.0.5 is not among ../shared/wso2-upstream (SOURCES.md
lists loadbalancer.conf, axis2.xml, user-mgt.xml and log4j.properties only),
so the shapes below are the skeleton's and the ones Java's Properties format
allows (CRLF, `key = value`, the key commented out, the key absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runbook_lib.configedit import apply_properties_edits, read_properties
from runbook_lib.params import load_params
from runbook_lib.params.load import ParamsError
from runbook_lib.sections.lb import elb

from .conftest import ROOT

SKEL = ROOT / "runbook_lib/lab/skeletons/elb-2.0.5/repository/conf/passthru-http.properties"
P001 = ROOT / "params/as-elb-001.yaml"


def _apply(p, data: bytes):
    edits, _ = elb.passthru_wanted(p)
    return apply_properties_edits(data, edits, "passthru-http.properties")


def _only_line_changed(before: bytes, after: bytes, key: bytes) -> None:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    diff = [(a, b) for a, b in zip(old, new) if a != b]
    assert len(diff) == 1 and key in diff[0][1], diff


def test_001_example_sets_60_seconds_in_milliseconds() -> None:
    p = load_params(P001)
    assert p.load_balancer.socket_timeout_ms == 60000  # 001 means 60 s; its "6000" is 6 s (E16)
    shipped = SKEL.read_bytes()
    assert read_properties(shipped)["http.socket.timeout"] == "6000"
    res = _apply(p, shipped)
    assert res.changed and read_properties(res.data)["http.socket.timeout"] == "60000"
    _only_line_changed(shipped, res.data, b"http.socket.timeout=60000")
    assert not _apply(p, res.data).changed  # idempotent
    v = elb.elb_nodes(p)[0]
    assert all(ch.ok for ch in elb.passthru_checks(p, v, res.data, "as1"))
    bad = [ch for ch in elb.passthru_checks(p, v, shipped, "as1") if not ch.ok]
    assert [(ch.expected, ch.found) for ch in bad] == [("60000", "6000")]
    assert "E16" in bad[0].what and "milliseconds" in bad[0].fix


@pytest.mark.parametrize("shape,key_line", [
    (b"# ours\r\nworker_pool_size_core=400\r\nhttp.socket.timeout = 6000\r\nio_buffer_size=16384", b"= 60000\r\n"),
    (b"a=1\n#http.socket.timeout=6000\nb=2\n", b"http.socket.timeout=60000\n"),
])
def test_other_shapes_keep_every_other_byte(shape: bytes, key_line: bytes) -> None:
    res = _apply(load_params(P001), shape)
    _only_line_changed(shape, res.data, key_line)


def test_absent_key_is_appended_and_nothing_else_moves() -> None:
    shape = b"a=1\nb=2\n"
    res = _apply(load_params(P001), shape)
    assert res.data.startswith(shape) and read_properties(res.data)["http.socket.timeout"] == "60000"


def test_unset_leaves_the_file_alone_and_is_not_planned(tmp_path: Path) -> None:
    raw = yaml.safe_load(P001.read_text())
    del raw["load_balancer"]["socket_timeout_ms"]
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(raw))
    assert elb.passthru_wanted(load_params(f)) == ([], [])


@pytest.mark.parametrize("value", [-1, "60s", 1.5])
def test_bad_values_are_refused_with_the_field(tmp_path: Path, value) -> None:
    raw = yaml.safe_load(P001.read_text())
    raw["load_balancer"]["socket_timeout_ms"] = value
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamsError) as e:
        load_params(f)
    assert "socket_timeout_ms" in str(e.value)
