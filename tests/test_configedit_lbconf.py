"""configedit.lbconf on the ELB 2.0.5 loadbalancer.conf as shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.configedit.lbconf import (RemoveLbBlock, ReplaceLbBlock, SetLbValue, apply_lbconf_edits,
                                           lbconf_problems, read_lbconf)
from runbook_lib.core.errors import ConfigEditError

FIXTURES = Path(__file__).parent / "fixtures" / "configedit"
LB = "elb-2.0.5/repository/conf/loadbalancer.conf"
ESB = ("services", "esb", "domains", "wso2.esb.domain")

# The document's ESB section: tenant_range, group_mgt_port, members, mgt/worker host blocks.
DOC_EDITS = [
    SetLbValue(ESB + ("tenant_range",), "*"),
    SetLbValue(ESB + ("group_mgt_port",), "5000"),
    SetLbValue(ESB + ("members",), "127.0.0.1:6000"),
    SetLbValue(ESB + ("mgt", "hosts"), "mgt.esb.wso2.com"),
    SetLbValue(ESB + ("worker", "hosts"), "esb.wso2.com"),
]


def lines_changed(diff: str) -> tuple[list[str], list[str]]:
    body = [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@", "\\"))]
    return [ln[1:] for ln in body if ln.startswith("-")], [ln[1:] for ln in body if ln.startswith("+")]


@pytest.fixture()
def shipped(upstream: Path) -> bytes:
    return (upstream / LB).read_bytes()


def test_doc_edit_set_adds_only_the_new_lines(shipped: bytes) -> None:
    r = apply_lbconf_edits(shipped, DOC_EDITS, "loadbalancer.conf")
    removed, added = lines_changed(r.diff)
    assert removed == []
    assert added == [
        "                group_mgt_port  5000;",  # padded to the sibling's value column
        "                members         127.0.0.1:6000;",
        "                mgt {",
        "                    hosts mgt.esb.wso2.com;",
        "                }",
        "                worker {",
        "                    hosts esb.wso2.com;",
        "                }",
    ]
    assert r.diff == (FIXTURES / "elb-loadbalancer-esb.diff").read_text()  # golden, as reviewed
    assert r.texts[0] == "services/esb/domains/wso2.esb.domain/tenant_range: already '*'"
    domain = read_lbconf(r.data)["services"]["esb"]["domains"]["wso2.esb.domain"]
    assert domain == {"tenant_range": "*", "group_mgt_port": "5000", "members": "127.0.0.1:6000",
                      "mgt": {"hosts": "mgt.esb.wso2.com"}, "worker": {"hosts": "esb.wso2.com"}}
    second = apply_lbconf_edits(r.data, DOC_EDITS, "loadbalancer.conf")
    assert second.data == r.data and not second.changed


def test_shipped_values_are_noops(shipped: bytes) -> None:
    edits = [SetLbValue(("loadbalancer", "instances"), "1"),
             SetLbValue(("loadbalancer", "server_startup_delay"), "600000"),  # has a trailing comment
             SetLbValue(("services", "defaults", "max_app_instances"), "5"),
             SetLbValue(("services", "appserver", "domains", "wso2.as1.domain", "tenant_range"), "1-100"),
             ReplaceLbBlock(ESB, {"tenant_range": "*"}),
             ReplaceLbBlock(("services", "governance", "domains", "wso2.governance1.domain"),
                            "tenant_range 1-100;"),
             RemoveLbBlock(("services", "nosuch")), RemoveLbBlock(("loadbalancer", "nosuch_key"))]
    r = apply_lbconf_edits(shipped, edits, "loadbalancer.conf")
    assert r.data == shipped and not r.changed and r.diff == ""


def test_value_change_is_one_line_and_keeps_comments(shipped: bytes) -> None:
    r = apply_lbconf_edits(shipped, [SetLbValue(("loadbalancer", "server_startup_delay"), "300000"),
                                     SetLbValue(ESB + ("tenant_range",), "1-100")], "lb")
    assert lines_changed(r.diff) == (
        ["    server_startup_delay 600000; #default will be 60000ms", "                tenant_range    *;"],
        ["    server_startup_delay 300000; #default will be 60000ms", "                tenant_range    1-100;"])


def test_replace_and_remove_blocks(shipped: bytes) -> None:
    edits = [ReplaceLbBlock(("services", "esb"), {
                 "hosts": "esb.example.com",
                 "domains": {"wso2.esb.domain": {"tenant_range": "*", "group_mgt_port": 5000}}}),
             RemoveLbBlock(("services", "governance")),
             ReplaceLbBlock(("services", "dss"), """
                 hosts dss.example.com;
                 domains {
                     wso2.dss.domain {
                         tenant_range *;
                     }
                 }
             """)]
    r = apply_lbconf_edits(shipped, edits, "lb")
    conf = read_lbconf(r.data)["services"]
    assert "governance" not in conf
    assert conf["esb"] == {"hosts": "esb.example.com",
                           "domains": {"wso2.esb.domain": {"tenant_range": "*", "group_mgt_port": "5000"}}}
    assert conf["dss"]["domains"]["wso2.dss.domain"] == {"tenant_range": "*"}
    assert b"    dss {\n        hosts dss.example.com;\n        domains {\n" in r.data
    assert b"# services' details which are fronted by this WSO2 Elastic Load Balancer" in r.data
    assert not apply_lbconf_edits(r.data, edits, "lb").changed


def test_shipped_file_has_an_unclosed_services_block(shipped: bytes) -> None:
    """21 '{' but 20 '}': the ELB's line-based parser closes it at end of file, and so do we."""
    assert lbconf_problems(shipped) == ["line 45: block 'services' is not closed before end of file"]
    assert set(read_lbconf(shipped)["services"]) == {"defaults", "appserver", "esb", "governance", "identity"}


def test_one_line_blocks_are_read_but_not_edited_in_place() -> None:
    """The page's one-line example is unreadable for the ELB (one item per line): say so."""
    data = b"esb { domains{ wso2.esb.domain { tenant_range *; } } }\n"
    assert read_lbconf(data) == {"esb": {"domains": {"wso2.esb.domain": {"tenant_range": "*"}}}}
    assert lbconf_problems(data) == ["line 1: 7 of '{' '}' ';' on one line; the ELB reads only the first"]
    with pytest.raises(ConfigEditError, match="written on one line"):
        apply_lbconf_edits(data, [SetLbValue(("esb", "domains", "wso2.esb.domain", "port"), "5000")], "lb")
    r = apply_lbconf_edits(data, [ReplaceLbBlock(("esb",), {"domains": {"wso2.esb.domain": {
        "tenant_range": "*", "group_mgt_port": "5000"}}})], "lb")
    assert r.data == (b"esb {\n    domains {\n        wso2.esb.domain {\n            tenant_range *;\n"
                      b"            group_mgt_port 5000;\n        }\n    }\n}\n")
    assert lbconf_problems(r.data) == []


def test_new_top_level_block_and_crlf_no_final_newline() -> None:
    data = b"# lb\r\nloadbalancer {\r\n\tinstances 1;\r\n}"
    r = apply_lbconf_edits(data, [SetLbValue(("loadbalancer", "fail_over"), "true"),
                                  SetLbValue(("services", "esb", "hosts"), "esb.example.com")], "lb")
    assert r.data == (b"# lb\r\nloadbalancer {\r\n\tinstances 1;\r\n\tfail_over true;\r\n}\r\n\r\n"
                      b"services {\r\n\tesb {\r\n\t\thosts esb.example.com;\r\n\t}\r\n}\r\n")


# Malformed files (naming the line) and values that would break the structure:
# tests/fixtures/operations/lbconf/error-*.yaml.
