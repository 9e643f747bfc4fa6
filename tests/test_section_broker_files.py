"""07 on the broker profile's files exactly as WSO2 shipped them (no lab):
each edit changes only the lines of the values that differ from the shipped
ones, a second pass changes nothing, and the checks read back what was written."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook_lib.configedit import apply_properties_edits, apply_xml_edits
from runbook_lib.params import load_params
from runbook_lib.params.derive import node_views
from runbook_lib.sections.messaging import broker_files as broker
from runbook_lib.sections.messaging.broker_runtime import CANDIDATE, ELECTED, LOST, _role
from runbook_lib.sections.shared.filestep import read_values

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT.parent / "shared" / "wso2-upstream" / "ei-6.1.1" / "wso2" / "broker" / "conf"
pytestmark = pytest.mark.skipif(not SHIPPED.is_dir(), reason="../shared/wso2-upstream is not beside the repo")


def _apply(kind: str, data: bytes, edits: list):
    step = broker.STEPS[kind]
    if step.kind == "properties":
        return apply_properties_edits(data, edits, kind)
    return apply_xml_edits(data, edits, kind, namespaces=step.namespaces)


def _read(kind: str, data: bytes, where: str) -> list[str]:
    step = broker.STEPS[kind]
    return [x.strip() for x in read_values(step.kind, data, where, step.namespaces, kind)]


def _changed_lines(diff: str) -> tuple[set[str], set[str]]:
    body = [ln for ln in diff.splitlines() if not ln.startswith(("---", "+++", "@@", "\\"))]
    minus = {ln[1:] for ln in body if ln.startswith("-")}
    plus = {ln[1:] for ln in body if ln.startswith("+")}
    return minus - plus, plus - minus  # lines whose content really changed


@pytest.mark.parametrize("params", ["ei-broker-003.yaml", "lab.yaml"])
@pytest.mark.parametrize("kind", sorted(broker.STEPS))
def test_edit_changes_only_the_intended_lines(params, kind):
    p = load_params(ROOT / "params" / params)
    run = SimpleNamespace(params=p)
    v = next(v for v in node_views(p).values() if v.node.role == "broker")
    rel = v.spec.files[kind].rel
    shipped = (SHIPPED / rel).read_bytes()
    edits, wants = broker.STEPS[kind].wanted(run, v, shipped)
    assert len(wants) == broker.intended_values(run, v, kind) == len(edits)
    differing = [w for w in wants if _read(kind, shipped, w.where) != w.values]
    result = _apply(kind, shipped, edits)
    gone, new = _changed_lines(result.diff)
    appended = [w for w in differing if not _read(kind, shipped, w.where)]
    assert len(new) == len(differing), result.diff  # one new line per value the runbook sets
    assert len(gone) == len(differing) - len(appended), result.diff  # one replaced line per changed value
    assert result.changed == bool(differing)
    for what, where, expected in wants:  # read back
        assert _read(kind, result.data, where) == expected, what
    assert not _apply(kind, result.data, edits).changed  # idempotent
    assert result.data.replace(b"\r\n", b"\n").count(b"\n") >= shipped.count(b"\n")


def test_003_broker_xml_diff_is_what_003_asks():
    p = load_params(ROOT / "params" / "ei-broker-003.yaml")
    v = node_views(p)["broker1"]
    edits, _ = broker.broker_wanted(SimpleNamespace(params=p), v)
    diff = apply_xml_edits((SHIPPED / "broker.xml").read_bytes(), edits, "broker.xml").diff
    _, new = _changed_lines(diff)
    assert {ln.strip() for ln in new} == {
        "<thriftServerHost>198.51.100.101</thriftServerHost>", "<thriftSOTimeout>180000</thriftSOTimeout>",
        '<networkPartitionsDetection enabled = "true">', "<minimumClusterSize>2</minimumClusterSize>"}
    # nodeID `default`, thriftServerPort 7611 (E12) and the coordination as shipped: unchanged
    changed = "\n".join(ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---")))
    assert "thriftServerPort" not in changed and "rdbmsBased" not in changed and "nodeID" not in changed


class _FakeHost:
    """A host whose clock runs OFFSET seconds ahead (only `date +%s.%N` is asked)."""

    def __init__(self, offset: float):
        self.offset = offset

    def check(self, cmd: str, *args):
        import time
        assert cmd == "date +%s.%N"
        return SimpleNamespace(stdout=f"{time.time() + self.offset:.9f}\n")


def _clock_run(offsets: dict[str, float]):
    p = load_params(ROOT / "params" / "ei-broker-003.yaml")
    views = [v for v in node_views(p).values() if v.node.role == "broker"]
    hosts = {h: _FakeHost(o) for h, o in offsets.items()}
    return SimpleNamespace(params=p, selected_nodes=lambda roles=None: views, host=hosts.__getitem__)


def test_clock_skew_within_the_threshold_passes():
    checks = broker.verify_clock_skew(_clock_run({"mb101": 0.1, "mb102": 0.3}))
    assert not checks.failed, checks.text()
    assert checks.checks[-1].what == "clock skew across the broker nodes"


def test_clock_skew_above_the_threshold_fails_with_the_fix():
    checks = broker.verify_clock_skew(_clock_run({"mb101": 0.0, "mb102": 2.5}))  # threshold 1000 ms (003 params)
    failed = {c.what for c in checks.failed}
    assert "clock skew across the broker nodes" in failed
    text = checks.text()
    assert "timedatectl set-ntp true" in text and "chrony" in text and "E17" in text
    assert "ntpdate pool" not in text


def test_a_coordinator_that_lost_its_row_is_judged_by_its_next_election_line() -> None:
    """andes v3.2.x: a coordinator whose row another node took logs "Going for
    election since Coordinator state is lost", then its election's outcome."""
    line = "TID: [-1] [] [2026-12-06 08:00:00,000]  INFO {RDBMSCoordinationStrategy} - "
    assert _role(line + ELECTED) == "coordinator"
    assert _role("\n".join([line + ELECTED, line + LOST])) == "electing"
    assert _role("\n".join([line + ELECTED, line + LOST, line + CANDIDATE])) == "candidate"
