"""The broker cluster's params (document 003): derived values and rules."""

from pathlib import Path

from runbook_lib.params import load_params
from runbook_lib.params import brokers as b
from runbook_lib.params.derive import node_views

PARAMS = Path(__file__).resolve().parent.parent / "params"


def test_003_brokers_are_their_own_cluster_with_every_node_a_member():
    p = load_params(PARAMS / "ei-broker-003.yaml")
    assert b.broker_names(p) == ["broker1", "broker2"]
    assert b.domain(p) == "wso2.ei.domain"  # 003's domain: the only cluster in this layout
    assert b.members(p) == [("198.51.100.101", 4100), ("198.51.100.102", 4200)]  # itself included (003)
    assert b.node_id(p, "broker1") == "NODE:198.51.100.101:4100"  # `default` (003)
    assert b.node_id_setting(p, "broker1") == "default"
    assert b.thrift_port(p, "broker1") == 7614  # 7611 + Offset 3 (E12)
    assert node_views(p)["broker1"].ports["thrift"] == 7614
    s = b.settings(p)
    assert (s.network_partitions.enabled, s.network_partitions.minimum_cluster_size) == (True, 2)
    assert (s.amqp_heartbeat.delay_s, s.amqp_heartbeat.timeout_factor) == (30, 2.0)


def test_lab_brokers_have_their_own_domain():
    p = load_params(PARAMS / "lab.yaml")
    assert b.domain(p) == "wso2.mb.domain" != p.cluster.domain
    assert b.node_id(p, "broker2") == "broker2"
    assert b.members(p) == [("198.51.100.21", 4000), ("198.51.100.22", 4000)]
