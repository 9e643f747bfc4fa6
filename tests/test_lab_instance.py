"""Lab instances without a lab: names, the params translation, the errors."""

from __future__ import annotations

import ipaddress

import pytest

from runbook_lib.core.errors import ParamsError
from runbook_lib.lab import instance as lab_instance
from runbook_lib.lab.net import IFNAMSIZ, Names
from runbook_lib.params import instance as pin
from runbook_lib.params import load_params
from runbook_lib.params.load import read_raw

from .conftest import ROOT

LAB = ROOT / "params" / "lab.yaml"


@pytest.fixture
def records(tmp_path, monkeypatch):
    """Instance records in a folder of the test's own (never /tmp/rblab-instances)."""
    monkeypatch.setattr(pin, "RECORDS", tmp_path / "records")
    monkeypatch.setattr(lab_instance, "RECORDS", tmp_path / "records")
    monkeypatch.setattr(lab_instance, "ALLOC_LOCK", tmp_path / "alloc.lock")
    return tmp_path / "records"


def _record(records, name: str, subnet: str) -> None:
    records.mkdir(exist_ok=True)
    (records / f"{name}.json").write_text(f'{{"subnet": "{subnet}", "lab_dir": "/tmp/wso2-runbook-lab-{name}"}}')


@pytest.mark.parametrize("name", ["b", "gw0", "abcdefg", "x1y2"])
def test_good_instance_names(name):
    assert pin.check_name(name) == name


@pytest.mark.parametrize("name", ["B", "0a", "a-b", "abcdefgh", "a.b", "a b", "rb/x", "é"])
def test_bad_instance_names_get_a_clear_error(name, monkeypatch):
    monkeypatch.setenv(pin.ENV, name)
    with pytest.raises(ParamsError) as e:
        pin.current()
    assert "not valid" in str(e.value) and "Fix: use 1 to 7 characters" in str(e.value)


def test_default_instance_keeps_the_names_it_always_had():
    n = Names("")
    assert (n.prefix, n.bridge, n.veth(3), str(n.lock)) == ("rblab-", "rblab0", "rblv3", "/tmp/rblab.lock")
    assert pin.lab_dir_for("/tmp/wso2-runbook-lab", "") == "/tmp/wso2-runbook-lab"


def test_instance_names_fit_linux_and_never_match_another_instance():
    longest = Names("abcdefg")
    assert len(longest.bridge) <= IFNAMSIZ and len(longest.veth(999)) <= IFNAMSIZ
    default, b, bb = Names(""), Names("b"), Names("bb")
    # the default's prefix and veth pattern match none of a named instance's names, and b's none of bb's
    for other in (b, bb):
        assert not (other.prefix + "db").startswith(default.prefix)
        assert not default.is_veth(other.veth(1)) and other.bridge != default.bridge
    assert not (bb.prefix + "db").startswith(b.prefix) and not b.is_veth(bb.veth(1))
    assert not b.is_veth(b.bridge) and b.is_veth(b.veth(12)) and default.is_veth("rblv7")
    assert not default.is_veth("rblvx1")


def test_translation_moves_every_lab_address_and_path(records, monkeypatch):
    _record(records, "b", "198.18.7.0/24")
    monkeypatch.setenv(pin.ENV, "b")
    p = load_params(LAB)
    assert p.lab.subnet == ipaddress.IPv4Network("198.18.7.0/24") and str(p.lab.gateway) == "198.18.7.1"
    assert {str(h.address) for h in p.hosts.values()} == {
        "198.18.7.10", "198.18.7.11", "198.18.7.12", "198.18.7.206", "198.18.7.132", "198.18.7.21", "198.18.7.22"}
    assert p.database.app_user_host == "198.18.7.%"  # a pattern keeps its wildcard
    assert p.deployment_sync.url == "svn://198.18.7.12/wso2"
    assert p.lab.dir == "/tmp/wso2-runbook-lab-b"
    assert p.secrets_file == "/tmp/wso2-runbook-lab-b/secrets.env"
    assert (p.ssh.key, p.ssh.known_hosts) == ("/tmp/wso2-runbook-lab-b/ssh/id_ed25519",
                                              "/tmp/wso2-runbook-lab-b/ssh/known_hosts")
    monkeypatch.delenv(pin.ENV)
    default = load_params(LAB)  # the default instance: the file as written
    assert str(default.hosts["db"].address) == "198.51.100.10" and default.lab.dir == "/tmp/wso2-runbook-lab"


def test_translation_leaves_lookalikes_alone():
    raw = {"lab": {"subnet": "198.51.100.0/24", "gateway": "198.51.100.1", "dir": "/tmp/lab"},
           "x": ["1198.51.100.5", "10.198.51.100.5", "198.51.1000", "a 198.51.100.7 b", "/tmp/labx/y", "/tmp/lab/y"]}
    out = pin.translate(raw, "f.yaml", "q", {"subnet": "198.19.1.0/24"})
    assert out["x"] == ["1198.51.100.5", "10.198.51.100.5", "198.51.1000", "a 198.19.1.7 b", "/tmp/labx/y",
                        "/tmp/lab-q/y"]
    assert raw["x"][3] == "a 198.51.100.7 b"  # the raw data is not changed


def test_instance_not_up_is_a_clear_error(records, monkeypatch):
    monkeypatch.setenv(pin.ENV, "nope")
    with pytest.raises(ParamsError) as e:
        load_params(LAB)
    text = str(e.value)
    assert "lab instance nope" in text and "is not up" in text and str(LAB) in text
    assert "runbook lab up --instance nope" in text


def test_subnet_not_octet_aligned_is_a_clear_error(records, monkeypatch, tmp_path):
    _record(records, "b", "198.18.7.0/24")
    monkeypatch.setenv(pin.ENV, "b")
    f = tmp_path / "p.yaml"
    f.write_text(LAB.read_text().replace("198.51.100.0/24", "198.51.100.0/25"))
    with pytest.raises(ParamsError) as e:
        load_params(f)
    assert "lab.subnet" in str(e.value) and "not octet-aligned" in str(e.value)


def test_params_without_a_lab_section_are_not_translated(records, monkeypatch, tmp_path):
    monkeypatch.setenv(pin.ENV, "b")  # not up, yet a real cluster's params load as written
    raw = {"name": "x", "hosts": {"a": {"address": "198.51.100.5"}}}
    assert pin.for_instance(raw, "f.yaml") is raw


def test_allocation_takes_the_first_free_subnet_not_used_by_another_instance(records, monkeypatch):
    monkeypatch.setattr(lab_instance.net, "machine_networks", lambda own_bridge=None: [
        (ipaddress.IPv4Network("198.18.100.0/25"), "route 198.18.100.0/25 dev eth9")])
    raw = read_raw(LAB)
    a = lab_instance.allocate("a", raw, str(LAB))
    b = lab_instance.allocate("b", raw, str(LAB))
    # as wide as 198.51.100.x, past the machine's route and the other instance
    assert (a["subnet"], b["subnet"]) == ("198.18.101.0/24", "198.18.102.0/24")
    assert lab_instance.allocate("a", raw, str(LAB)) == a  # again: the same record
    with pytest.raises(Exception) as e:
        lab_instance.allocate("c", raw, str(LAB), requested="198.18.102.0/24")
    assert "overlaps lab instance b" in str(e.value)
    assert lab_instance.allocate("c", raw, str(LAB), requested="198.18.9.0/24")["subnet"] == "198.18.9.0/24"
    lab_instance.release("a")
    lab_instance.release("b")
    lab_instance.release("c")
    assert not records.exists()
