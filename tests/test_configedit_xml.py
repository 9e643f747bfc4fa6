"""configedit.xml on the real WSO2 files, read in place as shipped.

Every test checks bytes, not trees: a no-op must leave the file identical, and
a change must touch exactly the lines it means to (asserted as line sets).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from runbook_lib.configedit import (EnsureChild, EnsureProperty, Remove, ReplaceChildren, SetAttr,
                                    SetParameter, SetText, Uncomment, apply_xml_edits, get_values)
from runbook_lib.core.errors import ConfigEditError
from runbook_lib.core.valuemask import mask_value

FIXTURES = Path(__file__).parent / "fixtures" / "configedit"
C = "/axisconfig/clustering"
PROPS = C + "/parameter[@name='properties']"
HTTP = "/axisconfig/transportReceiver[@name='http']"
HTTPS = "/axisconfig/transportReceiver[@name='https']"
NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
S = "/c:Server"


def lines_changed(diff: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines of a unified diff, without the +++/--- headers."""
    body = [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@", "\\"))]
    return [ln[1:] for ln in body if ln.startswith("-")], [ln[1:] for ln in body if ln.startswith("+")]


def read(upstream: Path, rel: str) -> bytes:
    return (upstream / rel).read_bytes()


# ---- the documents' edit sets -------------------------------------------------

def members(*hosts: str) -> list:
    return [("member", [("hostName", h), ("port", "4000")]) for h in hosts]


AXIS2_CLUSTERING = [
    SetAttr(C, "enable", "true"),
    SetParameter(C, "membershipScheme", "wka"),
    SetParameter(C, "domain", "wso2.esb.domain"),
    SetParameter(C, "localMemberHost", "10.0.0.11"),
    SetParameter(C, "localMemberPort", "4100"),
    EnsureProperty(PROPS, "subDomain", "mgt"),
    ReplaceChildren(C + "/members", members("10.0.0.1", "10.0.0.2")),
    Uncomment(HTTP, "parameter", {"name": "WSDLEPRPrefix"}),
    SetText(HTTP + "/parameter[@name='WSDLEPRPrefix']", "http://esb.example.com"),
    Uncomment(HTTPS, "parameter", {"name": "WSDLEPRPrefix"}),
    SetText(HTTPS + "/parameter[@name='WSDLEPRPrefix']", "https://esb.example.com"),
]

CARBON = [
    SetText(S + "/c:Ports/c:Offset", "1"),
    Uncomment(S, "HostName"),
    SetText(S + "/c:HostName", "esb.example.com"),
    Uncomment(S, "MgtHostName"),
    SetText(S + "/c:MgtHostName", "mgt.esb.example.com"),
    SetText(S + "/c:DeploymentSynchronizer/c:Enabled", "true"),
    SetText(S + "/c:DeploymentSynchronizer/c:AutoCommit", "true"),
    SetText(S + "/c:DeploymentSynchronizer/c:AutoCheckout", "true"),
    SetText(S + "/c:DeploymentSynchronizer/c:SvnUrl", "http://10.0.0.5/svn/esb/"),
    SetText(S + "/c:DeploymentSynchronizer/c:SvnUser", "svnuser"),
    SetText(S + "/c:DeploymentSynchronizer/c:SvnPassword", "svnpass"),
]

CATALINA = [
    SetAttr("//Connector[@port='9763']", "proxyPort", "80"),
    SetAttr("//Connector[@port='9443']", "proxyPort", "443"),
]

REG = "/wso2registry"
CACHE_ID = "regadmin@jdbc:mysql://10.0.0.5:3306/regdb"
REGISTRY = [
    EnsureChild(REG, "dbConfig", match_attrs={"name": "sharedregistry"},
                children=[("dataSource", "jdbc/WSO2RegistryDB")]),
    EnsureChild(REG, "remoteInstance", attrs={"url": "https://localhost:9443/registry"},
                match_children={"id": "instanceid"},
                children=[("id", "instanceid"), ("dbConfig", "sharedregistry"), ("readOnly", "false"),
                          ("enableCache", "true"), ("registryRoot", "/"), ("cacheId", CACHE_ID)]),
    EnsureChild(REG, "mount", match_attrs={"path": "/_system/config"}, attrs={"overwrite": "true"},
                children=[("instanceId", "instanceid"), ("targetPath", "/_system/esbnodes")]),
    EnsureChild(REG, "mount", match_attrs={"path": "/_system/governance"}, attrs={"overwrite": "true"},
                children="""
                    <instanceId>instanceid</instanceId>
                    <targetPath>/_system/governance</targetPath>
                """),
]

REG_URL = "jdbc:mysql://10.0.0.5:3306/regdb?autoReconnect=true&useSSL=false"
DATASOURCES = [
    EnsureChild("/datasources-configuration/datasources", "datasource",
                match_children={"name": "WSO2_SHARED_REG"},
                children=[
                    ("name", "WSO2_SHARED_REG"),
                    ("description", "The datasource used for the shared registry"),
                    ("jndiConfig", [("name", "jdbc/WSO2RegistryDB")]),
                    ("definition", {"type": "RDBMS"}, [("configuration", [
                        ("url", REG_URL), ("username", "regadmin"), ("password", "regpass"),
                        ("driverClassName", "com.mysql.jdbc.Driver"), ("maxActive", "50"),
                        ("maxWait", "60000"), ("testOnBorrow", "true"),
                        ("validationQuery", "SELECT 1"), ("validationInterval", "30000")])]),
                ]),
]

USER_MGT = [SetText("/UserManager/Realm/Configuration/Property[@name='dataSource']", "jdbc/WSO2UMDB")]

DOC_SETS = {
    "axis2": ("ei-6.1.1/conf/axis2/axis2.xml", AXIS2_CLUSTERING, None),
    "carbon": ("ei-6.1.1/conf/carbon.xml", CARBON, NS),
    "catalina": ("ei-6.1.1/conf/tomcat/catalina-server.xml", CATALINA, None),
    "registry": ("ei-6.1.1/conf/registry.xml", REGISTRY, None),
    "datasources": ("ei-6.1.1/conf/datasources/master-datasources.xml", DATASOURCES, None),
    "user-mgt": ("ei-6.1.1/conf/user-mgt.xml", USER_MGT, None),
}


@pytest.mark.parametrize("key", DOC_SETS)
def test_doc_edit_set_applies_reparses_and_second_run_is_noop(upstream: Path, key: str) -> None:
    rel, edits, ns = DOC_SETS[key]
    before = read(upstream, rel)
    first = apply_xml_edits(before, edits, Path(rel).name, ns)
    assert first.changed and len(first.notes) >= len(edits)  # each edit says what it did (EnsureChild: per part)
    etree.fromstring(first.data)  # still well-formed
    assert first.data[:first.data.index(b"\n")] == before[:before.index(b"\n")]  # declaration kept
    second = apply_xml_edits(first.data, edits, Path(rel).name, ns)
    assert second.data == first.data and not second.changed and second.diff == ""


def test_axis2_clustering_diff_is_exactly_the_intended_lines(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/axis2/axis2.xml"), AXIS2_CLUSTERING, "axis2.xml")
    removed, added = lines_changed(r.diff)
    assert sorted(removed) == sorted([
        '        <!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
        '        <!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
        '                enable="false">',
        '        <parameter name="domain">wso2.carbon.domain</parameter>',
        '        <parameter name="localMemberHost">127.0.0.1</parameter>',
        '                <hostName>127.0.0.1</hostName>',
    ])
    assert sorted(added) == sorted([
        '        <parameter name="WSDLEPRPrefix" locked="false">http://esb.example.com</parameter>',
        '        <parameter name="WSDLEPRPrefix" locked="false">https://esb.example.com</parameter>',
        '                enable="true">',
        '        <parameter name="domain">wso2.esb.domain</parameter>',
        '        <parameter name="localMemberHost">10.0.0.11</parameter>',
        '            <property name="subDomain" value="mgt"/>',
        '                <hostName>10.0.0.1</hostName>',
        '                <port>4000</port>',
        '            </member>',
        '            <member>',
        '                <hostName>10.0.0.2</hostName>',
    ])
    assert r.diff == (FIXTURES / "ei-axis2-clustering.diff").read_text()  # golden, as reviewed


def test_axis2_clustering_reads_back_and_follows_e11(upstream: Path) -> None:
    before = read(upstream, "ei-6.1.1/conf/axis2/axis2.xml")
    data = apply_xml_edits(before, AXIS2_CLUSTERING, "axis2.xml").data
    assert get_values(data, C + "/@enable") == ["true"]
    assert get_values(data, C + "/parameter[@name='localMemberHost']") == ["10.0.0.11"]  # one, replaced
    assert get_values(data, PROPS + "/property[@name='subDomain']/@value") == ["mgt"]
    assert get_values(data, C + "/members/member/hostName") == ["10.0.0.1", "10.0.0.2"]
    assert get_values(data, "//transportReceiver/parameter[@name='WSDLEPRPrefix']") == [
        "http://esb.example.com", "https://esb.example.com"]
    # the commented-out port-mapping block and the worker example stay exactly as shipped
    for comment in (b'<!--property name="port.mapping.8280" value="9764"/>',
                    b'<property name="subDomain" value="mgt"/-->',
                    b'<!--property name="subDomain" value="worker"/-->'):
        assert comment in data
    assert data.count(b"\r") == before.count(b"\r")


def test_single_change_touches_one_line(upstream: Path) -> None:
    before = read(upstream, "ei-6.1.1/conf/axis2/axis2.xml")
    r = apply_xml_edits(before, [SetAttr(C, "enable", "true")], "axis2.xml")
    assert lines_changed(r.diff) == (['                enable="false">'], ['                enable="true">'])
    assert r.texts == ["/axisconfig/clustering @enable: 'false' -> 'true' (line 493)"]


# The desired state as shipped (a byte-identical no-op per file): tests/fixtures/operations/xml/noop-*.yaml.


def test_every_leaf_and_attribute_set_to_itself_is_a_noop(upstream: Path) -> None:
    for rel in ("ei-6.1.1/conf/axis2/axis2.xml", "ei-6.1.1/conf/registry.xml"):
        before = read(upstream, rel)
        tree = etree.fromstring(before).getroottree()
        edits = []
        for el in tree.iter(etree.Element):
            edits += [SetAttr(tree.getpath(el), k, v) for k, v in el.attrib.items()]
            if not len(el):
                edits.append(SetText(tree.getpath(el), el.text or ""))
        assert apply_xml_edits(before, edits, rel).data == before


def test_carbon_changes_and_reads_back(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/carbon.xml"), CARBON, "carbon.xml", NS)
    removed, added = lines_changed(r.diff)
    assert len(removed) == len(added) == 8  # Offset, HostName, MgtHostName, 5 DeploymentSynchronizer fields
    assert "    <!--HostName>www.wso2.org</HostName-->" in removed
    assert "    <HostName>esb.example.com</HostName>" in added
    assert get_values(r.data, S + "/c:MgtHostName", NS) == ["mgt.esb.example.com"]
    assert get_values(r.data, S + "/c:Ports/c:Offset", NS) == ["1"]


def test_catalina_proxyport_added_on_both_connectors(upstream: Path) -> None:
    before = read(upstream, "ei-6.1.1/conf/tomcat/catalina-server.xml")
    r = apply_xml_edits(before, CATALINA, "catalina-server.xml")
    removed, added = lines_changed(r.diff)
    assert removed == ['                URIEncoding="UTF-8"/>'] * 2
    assert added == ['                URIEncoding="UTF-8" proxyPort="80"/>',
                     '                URIEncoding="UTF-8" proxyPort="443"/>']
    assert get_values(r.data, "//Connector/@proxyPort") == ["80", "443"]


def test_registry_keeps_crlf_and_adds_blocks_next_to_their_examples(upstream: Path) -> None:
    before = read(upstream, "ei-6.1.1/conf/registry.xml")
    r = apply_xml_edits(before, REGISTRY, "registry.xml")
    assert r.data.count(b"\n") == r.data.count(b"\r\n")  # every line ending still CRLF
    removed, added = lines_changed(r.diff)
    assert removed == [] and len(added) == 3 + 8 + 4 + 4
    assert "added after the commented-out example at line 110" in r.texts[1]
    assert get_values(r.data, REG + "/remoteInstance/cacheId") == [CACHE_ID]
    assert get_values(r.data, REG + "/mount/@path") == ["/_system/config", "/_system/governance"]
    assert get_values(r.data, REG + "/dbConfig[@name='sharedregistry']/dataSource") == ["jdbc/WSO2RegistryDB"]
    mount = r.data.index(b'<mount path="/_system/config"')
    assert r.data.rindex(b"</mount-->", 0, mount) > r.data.rindex(b"<!--remoteInstance", 0, mount)


def test_datasource_added_escaped_and_indented(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/datasources/master-datasources.xml"), DATASOURCES, "m.xml")
    removed, added = lines_changed(r.diff)
    assert removed == [] and len(added) == 20
    url = "jdbc:mysql://10.0.0.5:3306/regdb?autoReconnect=true&amp;useSSL=false"  # & escaped (E3)
    assert f"                    <url>{url}</url>" in added
    assert get_values(r.data, "//datasource[name='WSO2_SHARED_REG']//url") == [REG_URL]


def test_user_mgt_datasource_one_line(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/user-mgt.xml"), USER_MGT, "user-mgt.xml")
    assert lines_changed(r.diff) == (['            <Property name="dataSource">jdbc/WSO2CarbonDB</Property>'],
                                     ['            <Property name="dataSource">jdbc/WSO2UMDB</Property>'])


def test_elb_axis2_commented_parameter_gets_an_active_one_after_it(upstream: Path) -> None:
    before = read(upstream, "elb-2.0.5/repository/conf/axis2/axis2.xml")
    edits = [SetParameter(C, "localMemberHost", "10.0.0.20"),
             EnsureChild(C, "members", children=members("10.0.0.21", "10.0.0.22"))]
    r = apply_xml_edits(before, edits, "axis2.xml")
    removed, added = lines_changed(r.diff)
    assert removed == [] and added[0] == '        <parameter name="localMemberHost">10.0.0.20</parameter>'
    assert b'<!--parameter name="localMemberHost">127.0.0.1</parameter-->' in r.data
    assert get_values(r.data, C + "/members/member/hostName") == ["10.0.0.21", "10.0.0.22"]
    assert not apply_xml_edits(r.data, edits, "axis2.xml").changed


def test_uncomment_multiline_comment_and_worker_property(upstream: Path) -> None:
    before = read(upstream, "ei-6.1.1/conf/axis2/axis2.xml")
    edits = [Uncomment(C, "parameter", {"name": "mcastBindAddress"}),
             SetParameter(C, "mcastBindAddress", "10.0.0.11"),
             EnsureProperty(PROPS, "subDomain", "worker")]
    r = apply_xml_edits(before, edits, "axis2.xml")
    assert get_values(r.data, C + "/parameter[@name='mcastBindAddress']") == ["10.0.0.11"]
    removed, added = lines_changed(r.diff)
    assert removed == ["        <!--", '            <parameter name="mcastBindAddress">127.0.0.1</parameter>',
                       "        -->"]
    assert added == ['        <parameter name="mcastBindAddress">10.0.0.11</parameter>',
                     '            <property name="subDomain" value="worker"/>']


def test_remove_takes_its_line(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/axis2/axis2.xml"),
                        [Remove(C + "/parameter[@name='mcastTTL']")], "axis2.xml")
    assert lines_changed(r.diff) == (['        <parameter name="mcastTTL">100</parameter>'], [])


def test_text_is_written_in_the_declared_encoding(upstream: Path) -> None:
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/axis2/axis2.xml"),
                        [SetParameter(C, "domain", "caf\u00e9 & <co>")], "axis2.xml")  # ISO-8859-1 file
    assert b"<parameter name=\"domain\">caf\xe9 &amp; &lt;co&gt;</parameter>" in r.data
    assert get_values(r.data, C + "/parameter[@name='domain']") == ["caf\u00e9 & <co>"]


def test_no_trailing_newline_and_crlf_small_files() -> None:
    lf = b'<?xml version="1.0"?>\n<a>\n  <b>1</b>\n  <c/>\n</a>'
    edits = [SetText("/a/b", "2"), SetText("/a/c", "x"), EnsureChild("/a", "d", text="4")]
    r = apply_xml_edits(lf, edits, "t.xml")
    assert r.data == b'<?xml version="1.0"?>\n<a>\n  <b>2</b>\n  <c>x</c>\n  <d>4</d>\n</a>'
    crlf = lf.replace(b"\n", b"\r\n")
    r = apply_xml_edits(crlf, [EnsureChild("/a", "d", text="4"), ReplaceChildren("/a/c", [("e", "5")])], "t.xml")
    assert r.data == (b'<?xml version="1.0"?>\r\n<a>\r\n  <b>1</b>\r\n  <c>\r\n    <e>5</e>\r\n  </c>\r\n'
                      b'  <d>4</d>\r\n</a>')


# Errors that name the file, the XPath and the cause: tests/fixtures/operations/xml/error-*.yaml.


def test_shared_comment_uncomment_refused_on_shipped_axis2(upstream: Path) -> None:
    """The mgt subDomain shares its comment with the port mappings: never uncomment that block."""
    with pytest.raises(ConfigEditError, match="at line 581 shares its comment"):
        apply_xml_edits(read(upstream, "ei-6.1.1/conf/axis2/axis2.xml"),
                        [Uncomment(PROPS, "property", {"name": "port.mapping.8243"})], "axis2.xml")


def test_get_values_reads_text_attributes_and_scalars(upstream: Path) -> None:
    data = read(upstream, "ei-6.1.1/conf/carbon.xml")
    assert get_values(data, S + "/c:Ports/c:Offset", NS) == ["0"]
    assert get_values(data, "count(//c:Offset)", NS) == ["1.0"]
    assert get_values(data, S + "/c:HostName", NS) == []  # commented out as shipped (E11)


def test_ensure_child_adds_next_to_a_commented_example_and_namespaced_attr(upstream: Path) -> None:
    """EnsureChild is the alternative to Uncomment: the shipped example stays as documentation."""
    r = apply_xml_edits(read(upstream, "ei-6.1.1/conf/carbon.xml"),
                        [EnsureChild(S, "MgtHostName", text="mgt.esb.example.com")], "carbon.xml", NS)
    assert lines_changed(r.diff) == ([], ["    <MgtHostName>mgt.esb.example.com</MgtHostName>"])
    assert r.data.index(b"<!--MgtHostName>") < r.data.index(b"<MgtHostName>mgt.esb")
    assert get_values(r.data, S + "/c:MgtHostName", NS) == ["mgt.esb.example.com"]
    data = read(upstream, "ei-6.1.1/conf/datasources/master-datasources.xml")
    password = "//datasource[name='WSO2_CARBON_DB']//password"
    edit = SetAttr(password, "svns:secretAlias", "WSO2.DB.Password")
    r = apply_xml_edits(data, [edit], "master-datasources.xml")
    assert lines_changed(r.diff)[1] == [
        '                    <password svns:secretAlias="WSO2.DB.Password">' + mask_value("wso2carbon") + "</password>"]
    svns = {"svns": "http://org.wso2.securevault/configuration"}
    assert get_values(r.data, password + "/@svns:secretAlias", svns) == ["WSO2.DB.Password"]
    assert not apply_xml_edits(r.data, [edit], "master-datasources.xml").changed
    # the broker's copy never declares xmlns:svns: the re-parse catches it, nothing half-written
    broker = read(upstream, "ei-6.1.1/wso2/broker/conf/datasources/master-datasources.xml")
    with pytest.raises(ConfigEditError, match="Namespace prefix svns"):
        apply_xml_edits(broker, [SetAttr("//datasource[name='WSO2_MB_STORE_DB']//password", "svns:secretAlias",
                                         "MB.DB.Password")], "master-datasources.xml")


def test_tag_end_skips_a_closing_bracket_inside_quotes_and_refuses_an_open_quote():
    from runbook_lib.configedit._spans import SpanError, tag_end
    data = b"""<a x="1>2" y='b>c'>text</a><b/>"""
    assert data[:tag_end(data, 0)] == b"""<a x="1>2" y='b>c'>"""
    assert data[tag_end(data, 0):].startswith(b"text")
    assert tag_end(data, data.index(b"<b")) == len(data)
    for bad in (b'<a x="1>', b"<a x='1", b"<a"):
        with pytest.raises(SpanError):
            tag_end(bad, 0)


def test_spans_shifted_after_a_patch_equal_the_spans_parsed_again(upstream):
    """After a patch inside one text or attribute value (set, emptied, inserted into), the
    spans are shifted, not parsed again (_spans.shift_index): on every shipped XML file, at
    texts, attribute values and empty contents all through it, they equal a fresh parse;
    a patch that holds a tag or touches a comment is parsed again (None)."""
    import random
    import re

    from runbook_lib.configedit._spans import build_index, shift_index
    rnd = random.Random(23)
    tried = 0
    for path in sorted(upstream.rglob("*.xml")):
        data = path.read_bytes()
        index = build_index(data)
        places = [(m.start(1), m.end(1)) for m in re.finditer(rb">([^<>]*)</", data)]  # element texts
        places += [(m.start(1), m.end(1)) for m in re.finditer(rb"""=\s*"([^"<>]*)\"""", data)]  # attribute values
        places += [(sp.stag_end, sp.stag_end) for sp in index.elements if not sp.empty][:20]  # insert at a start
        root = index.elements[0].start  # not the XML declaration's version="1.0"
        outside = [(a, b) for a, b in places
                   if a > root and not any(c.start < max(b, a + 1) and a < c.end for c in index.comments)]
        for a, b in rnd.sample(outside, min(25, len(outside))):
            new = rnd.choice([b"", b"x", b"a much longer value than before: 10.0.0.1", data[a:b] * 2])
            patched = data[:a] + new + data[b:]
            assert shift_index(index, a, b, data[a:b], new) == build_index(patched), (path.name, a, b, new)
            tried += 1
    assert tried > 300
    data = b"<a><!-- c --><b>t</b></a>"
    index = build_index(data)
    assert shift_index(index, 6, 7, b"c", b"d") is None  # inside a comment
    assert shift_index(index, 16, 17, b"t", b"<x/>") is None  # a tag


def test_nodes_sharing_all_but_the_last_edit_pay_for_that_one_only(upstream, monkeypatch):
    """Ten nodes' axis2.xml take the same edits but their own localMemberHost, last (as
    sections/nodes/clustering.py orders them): the shared edits are done once, and every
    node's result is what the chain gives without the memo, byte for byte."""
    from runbook_lib.configedit import xml as xmlmod
    data = read(upstream, "ei-6.1.1/conf/axis2/axis2.xml")
    shared = [e for e in AXIS2_CLUSTERING if "localMemberHost" not in repr(e)]
    chains = [shared + [SetParameter("/axisconfig/clustering", "localMemberHost", f"10.0.1.{n}")] for n in range(10)]
    done: list[str] = []
    real = xmlmod._step
    monkeypatch.setattr(xmlmod, "_step", lambda d, e, *a: (done.append(repr(e)), real(d, e, *a))[1])
    monkeypatch.setattr(xmlmod, "_STEPS", xmlmod.Memo(1024))
    monkeypatch.setattr(xmlmod, "_RESULTS", xmlmod.Memo(256))
    results = [xmlmod._apply(data, chain, "axis2.xml", None) for chain in chains]
    assert len(done) == len(shared) + 10
    monkeypatch.setattr(xmlmod, "_STEPS", xmlmod.Memo(0))  # nothing kept: every edit done for every node
    for chain, r in zip(chains, results):
        alone = xmlmod._apply(data, chain, "axis2.xml", None)
        assert (alone.data, alone.diff, alone.notes) == (r.data, r.diff, r.notes)
    assert len(done) == len(shared) + 10 + 10 * len(chain)
    assert [f"10.0.1.{n}" in r.diff for n, r in enumerate(results)] == [True] * 10
