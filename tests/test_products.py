"""The product specs (products.py) against the shipped layouts: every
supported line's versions are accepted, paths exist in the skeletons and in
WSO2's own files, ports and scripts are those of the documents."""

from __future__ import annotations

import pytest

from runbook_lib.core.errors import RunbookError
from runbook_lib.products import HAZELCAST, SPECS, TRIBES, UnsupportedProduct, spec_for, spec_for_role

from .conftest import ROOT

SKELETONS = ROOT / "runbook_lib" / "lab" / "skeletons"
UPSTREAM = ROOT.parent / "shared" / "wso2-upstream"
SKELETON_OF = {"ei": "ei-6.1.1", "esb": "esb-4.8.1", "as": "as-5.2.1", "elb": "elb-2.0.5"}


@pytest.mark.parametrize("name,versions", [("ei", ["6.0.0", "6.1.1", "6.4.0", "6.6.0"]),
                                           ("esb", ["4.8.1", "4.9.0"]), ("as", ["5.2.1", "5.3.0"]),
                                           ("elb", ["2.0.5", "2.1.0"])])
def test_every_version_of_a_line_is_accepted(name, versions):
    assert {spec_for(name, v).product for v in versions} == {name}


def test_other_lines_are_refused_with_the_fix():
    with pytest.raises(UnsupportedProduct) as e:
        spec_for("ei", "7.0.0")
    assert e.value.message == "EI 7.0.0 is not a supported version" and "EI 6.x" in e.value.fix
    assert isinstance(e.value, RunbookError) and "Fix: use EI 6.x" in str(e.value)
    with pytest.raises(UnsupportedProduct):
        spec_for("esb", "4.8.1", "broker")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_config_files_exist_in_the_skeleton(spec):
    home = SKELETONS / SKELETON_OF[spec.product]
    missing = [k for k in spec.files if not (home / spec.conf(k)).is_file()]
    if spec.product == "elb":  # ELB 2.0.5 ships no catalina/datasources/registry (Carbon 4.1, SOURCES.md)
        missing = [k for k in missing if k not in ("catalina", "datasources", "registry", "carbon")]
    assert not missing
    assert (home / spec.start_script).is_file()
    assert (home / spec.version_file).read_text().startswith(spec.version_line("").rsplit(" v", 1)[0])


def test_ei_layouts_match_the_shipped_files():
    ei, broker = spec_for("ei", "6.1.1"), spec_for_role("ei", "6.1.1", "broker")
    for spec in (ei, broker):
        for key in ("axis2", "carbon", "user_mgt", "registry", "datasources"):
            assert (UPSTREAM / "ei-6.1.1" / spec.conf(key)).is_file(), (spec.key, key)
    assert (UPSTREAM / "ei-6.1.1" / broker.conf("broker")).is_file()
    assert (UPSTREAM / "ei-6.1.1" / broker.mb_store_script).is_file()
    assert (ei.conf_dir, broker.conf_dir) == ("conf", "wso2/broker/conf")
    assert spec_for("esb", "4.9.0").conf_dir == "repository/conf"


def test_ports_scripts_logs_and_agents():
    ei, broker = spec_for("ei", "6.1.1"), spec_for("ei", "6.1.1", "broker")
    assert dict(ei.ports) == {"https": 9443, "http": 9763, "pt_http": 8280, "pt_https": 8243}
    assert dict(broker.ports) == {"https": 9443, "http": 9763, "thrift": 7611, "amqp": 5672, "mqtt": 1883}
    assert broker.default_offset == 3 and ei.default_offset == 0
    assert ei.start_command("/opt/x", worker=True) == "sh /opt/x/bin/integrator.sh -DworkerNode=true"
    assert broker.start_command("/opt/x", worker=False) == "sh /opt/x/bin/broker.sh"
    assert spec_for("as", "5.2.1").start_command("/h", False) == "sh /h/bin/wso2server.sh"
    assert broker.log_file == "wso2/broker/repository/logs/wso2carbon.log"
    assert spec_for("esb", "4.8.1").log_file == "repository/logs/wso2carbon.log"
    assert not spec_for("as", "5.2.1").has_passthrough
    assert spec_for("elb", "2.0.5").clustering_agent("2.0.5") == TRIBES
    assert spec_for("elb", "2.1.0").clustering_agent("2.1.0") == HAZELCAST
    assert spec_for("esb", "4.8.1").clustering_agent("4.8.1") == HAZELCAST
    assert spec_for("as", "5.2.1").clustering_agent("5.2.1") == TRIBES


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_the_agent_the_spec_names_is_the_skeletons(spec):
    """The spec's agent for the skeleton's version is the class its axis2.xml ships."""
    skel = SKELETON_OF[spec.product]
    axis2 = (SKELETONS / skel / spec.conf("axis2")).read_text()
    assert f'class="{spec.clustering_agent(skel.split("-", 1)[1])}"' in axis2
