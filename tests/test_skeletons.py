"""The lab's product-home skeletons have the shape of the real WSO2 files.

The runbook edits the skeletons exactly as it edits real product homes, so
every path, element, namespace, declaration and "shipped commented out"
setting it touches must match the upstream files in ../shared/wso2-upstream
(read in place through the ``upstream`` fixture; never copied). The skeletons
are our own text: none may be byte-identical to an upstream file.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from lxml import etree

SKELETONS = Path(__file__).resolve().parent.parent / "runbook_lib" / "lab" / "skeletons"
PAIRED = ("ei-6.1.1", "elb-2.0.5")  # skeletons that have upstream files to compare with
PRODUCTS = ("ei-6.1.1", "esb-4.8.1", "as-5.2.1", "elb-2.0.5")
NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
BROKER = "ei-6.1.1/wso2/broker"

# ---------------------------------------------------------------- helpers


def parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(remove_comments=False, resolve_entities=False))


def values(tree: etree._ElementTree, xpath: str) -> list[str]:
    """Element text (stripped), attribute values, or, for an xpath ending in
    ``/*``, the local names of the matched elements."""
    found = tree.xpath(xpath, namespaces=NS)
    if xpath.endswith("/*"):
        return [etree.QName(e).localname for e in found]
    out = []
    for item in found:
        if isinstance(item, etree._Element):
            out.append((item.text or "").strip())
        else:
            out.append(str(item).strip())
    return out


def comment_texts(tree: etree._ElementTree) -> list[str]:
    return [c.text or "" for c in tree.xpath("//comment()")]


def where(node: etree._Element) -> str:
    """Position-free path of an element: local names, with @name where there is one."""
    parts = []
    while node is not None:
        step = etree.QName(node).localname
        if node.get("name"):
            step += f"[@name='{node.get('name')}']"
        parts.append(step)
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


def comments_with(tree: etree._ElementTree, text: str) -> list[tuple[str, str]]:
    """(parent element path, comment text) of every comment containing TEXT."""
    return [(where(c.getparent()) if c.getparent() is not None else "/", c.text)
            for c in tree.xpath("//comment()") if text in (c.text or "")]


def skeleton_files(product: str | None = None) -> list[Path]:
    base = SKELETONS / product if product else SKELETONS
    return sorted(p for p in base.rglob("*") if p.is_file())


def upstream_files(upstream: Path, product: str) -> list[Path]:
    return sorted(p for p in (upstream / product).rglob("*") if p.is_file())


def xml_pairs(upstream: Path) -> list[tuple[str, Path, Path]]:
    pairs = []
    for product in PAIRED:
        for up in upstream_files(upstream, product):
            if up.suffix == ".xml":
                rel = up.relative_to(upstream)
                pairs.append((str(rel), up, SKELETONS / rel))
    return pairs


def properties_keys(path: Path) -> dict[str, str]:
    """key -> value of a Java .properties file (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="latin-1").splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        m = re.match(r"([^=:\s]+)\s*[=:]\s*(.*)$", line)
        assert m, f"{path}: cannot parse {raw!r}"
        out[m.group(1)] = m.group(2).strip()
    return out


def parse_lb_conf(text: str) -> tuple[dict[tuple[str, ...], str | None], int]:
    """ELB loadbalancer.conf: ``name {`` opens a block, ``key value;`` sets a key,
    ``#`` starts a comment. Returns {path: value (None for a block)} and the
    number of blocks still open at the end of the file."""
    entries: dict[tuple[str, ...], str | None] = {}
    stack: list[str] = []
    buf = ""
    for line in text.splitlines():
        for ch in line.split("#", 1)[0]:
            if ch == "{":
                stack.append(buf.strip())
                entries[tuple(stack)] = None
                buf = ""
            elif ch == "}":
                assert not buf.strip(), f"text before '}}': {buf!r}"
                stack.pop()
            elif ch == ";":
                key, _, value = buf.strip().partition(" ")
                entries[tuple(stack) + (key,)] = value.strip()
                buf = ""
            else:
                buf += ch
        buf += " "
    assert not buf.strip(), f"dangling text at end: {buf!r}"
    return entries, len(stack)


def line_style(data: bytes) -> tuple[bool, bool]:
    """(every line ends in CRLF, file ends with a newline)."""
    lines = data.split(b"\n")[:-1]
    return (bool(lines) and all(line.endswith(b"\r") for line in lines), data.endswith(b"\n"))


# ------------------------------------------- what must match, file by file

CLUSTERING = [
    "/axisconfig/clustering/@class",
    "/axisconfig/clustering/@enable",
    "/axisconfig/clustering/parameter/@name",
    "/axisconfig/clustering/parameter[@name='AvoidInitiation']",
    "/axisconfig/clustering/parameter[@name='membershipScheme']",
    "/axisconfig/clustering/parameter[@name='domain']",
    "/axisconfig/clustering/parameter[@name='localMemberPort']",
    "/axisconfig/clustering/parameter[@name='mcastPort']",
    "/axisconfig/transportReceiver/@name",
    "/axisconfig/transportReceiver[@name='http']/@class",
    "/axisconfig/transportReceiver[@name='http']/parameter[@name='port']",
    "/axisconfig/transportReceiver[@name='https']/@class",
    "/axisconfig/transportReceiver[@name='https']/parameter[@name='port']",
]
CARBON_MEMBERS = [
    "/axisconfig/clustering/parameter[@name='localMemberHost']",
    "/axisconfig/clustering/parameter[@name='properties']/property/@name",
    "/axisconfig/clustering/parameter[@name='properties']/property/@value",
    "/axisconfig/clustering/members/member/hostName",
    "/axisconfig/clustering/members/member/port",
    "/axisconfig/clustering/groupManagement/@enable",
    "/axisconfig/clustering/groupManagement/applicationDomain/@subDomain",
]
CARBON_XML = [
    "/c:Server/c:Name",
    "/c:Server/c:ServerKey",
    "/c:Server/c:Ports/*",
    "/c:Server/c:Ports/c:Offset",
    "/c:Server/c:DeploymentSynchronizer/*",
    "/c:Server/c:DeploymentSynchronizer/c:Enabled",
    "/c:Server/c:DeploymentSynchronizer/c:AutoCommit",
    "/c:Server/c:DeploymentSynchronizer/c:AutoCheckout",
    "/c:Server/c:DeploymentSynchronizer/c:RepositoryType",
    "/c:Server/c:DeploymentSynchronizer/c:SvnUrl",
    "/c:Server/c:DeploymentSynchronizer/c:SvnUser",
    "/c:Server/c:DeploymentSynchronizer/c:SvnPassword",
    "/c:Server/c:DeploymentSynchronizer/c:SvnUrlAppendTenantId",
    "/c:Server/c:Axis2Config/c:RepositoryLocation",
    "/c:Server/c:Axis2Config/c:ConfigurationFile",
    "/c:Server/c:Security/c:KeyStore/c:Location",
    "/c:Server/c:Security/c:TrustStore/c:Location",
    "/c:Server/c:Security/c:TrustStore/c:Password",
]
REGISTRY_XML = [
    "/wso2registry/currentDBConfig",
    "/wso2registry/readOnly",
    "/wso2registry/enableCache",
    "/wso2registry/registryRoot",
    "/wso2registry/dbConfig/@name",
    "/wso2registry/dbConfig[@name='wso2registry']/dataSource",
]
USER_MGT = [
    "/UserManager/Realm/Configuration/AdminRole",
    "/UserManager/Realm/Configuration/AdminUser/UserName",
    "/UserManager/Realm/Configuration/AdminUser/Password",
    "/UserManager/Realm/Configuration/EveryOneRoleName",
    "/UserManager/Realm/Configuration/Property[@name='dataSource']",
    "/UserManager/Realm/UserStoreManager/@class",
    "/UserManager/Realm/AuthorizationManager/@class",
]
DATASOURCES = [
    "/datasources-configuration/providers/provider",
    "/datasources-configuration/datasources/datasource/name",
    "/datasources-configuration/datasources/datasource/jndiConfig/name",
    "/datasources-configuration/datasources/datasource/definition/@type",
    "/datasources-configuration/datasources/datasource/definition/configuration/url",
    "/datasources-configuration/datasources/datasource/definition/configuration/username",
    "/datasources-configuration/datasources/datasource/definition/configuration/driverClassName",
]
CATALINA = [
    "/Server/@port",
    "/Server/Service/@className",
    "/Server/Service/Connector/@protocol",
    "/Server/Service/Connector/@port",
    "/Server/Service/Connector[@port='9763']/@redirectPort",
    "/Server/Service/Connector[@port='9443']/@SSLEnabled",
    "/Server/Service/Connector[@port='9443']/@keystoreFile",
    "/Server/Service/Engine/Host/@appBase",
]

KEY_XPATHS: dict[str, list[str]] = {
    "ei-6.1.1/conf/axis2/axis2.xml": CLUSTERING + CARBON_MEMBERS + [
        "/axisconfig/clustering/parameter[@name='clusteringPattern']",
        "/axisconfig/transportReceiver[@name='https']/parameter[@name='keystore']/KeyStore/Location",
        "/axisconfig/transportReceiver[@name='https']/parameter[@name='truststore']/TrustStore/Location",
        "/axisconfig/transportReceiver[@name='https']/parameter[@name='truststore']/TrustStore/Password",
    ],
    f"{BROKER}/conf/axis2/axis2.xml": CLUSTERING + CARBON_MEMBERS,
    "elb-2.0.5/repository/conf/axis2/axis2.xml": CLUSTERING + [
        "/axisconfig/clustering/stateManager/@enable",
    ],
    # <Version> of the integrator profile is "@product.version@" in the source
    # tree and 6.1.1 in the shipped zip (Maven filtering): checked separately.
    "ei-6.1.1/conf/carbon.xml": CARBON_XML,
    f"{BROKER}/conf/carbon.xml": CARBON_XML + ["/c:Server/c:Version"],
    "ei-6.1.1/conf/registry.xml": REGISTRY_XML,
    f"{BROKER}/conf/registry.xml": REGISTRY_XML,
    "ei-6.1.1/conf/user-mgt.xml": USER_MGT + ["/UserManager/Realm/Configuration/AddAdmin"],
    f"{BROKER}/conf/user-mgt.xml": USER_MGT + ["/UserManager/Realm/Configuration/AddAdmin"],
    "elb-2.0.5/repository/conf/user-mgt.xml": USER_MGT,
    "ei-6.1.1/conf/datasources/master-datasources.xml": DATASOURCES,
    f"{BROKER}/conf/datasources/master-datasources.xml": DATASOURCES,
    f"{BROKER}/conf/datasources/metrics-datasources.xml": DATASOURCES,
    "ei-6.1.1/conf/tomcat/catalina-server.xml": CATALINA,
    f"{BROKER}/conf/tomcat/catalina-server.xml": CATALINA + ["/Server/Service/Engine/Host/@workDir"],
    f"{BROKER}/conf/broker.xml": [
        "/broker/*",
        "/broker/coordination/*",
        "/broker/coordination/nodeID",
        "/broker/coordination/thriftServerHost",
        "/broker/coordination/thriftServerPort",
        "/broker/coordination/thriftSOTimeout",
        "/broker/coordination/thriftServerReconnectTimeout",
        "/broker/coordination/rdbmsBasedCoordination/@enabled",
        "/broker/coordination/rdbmsBasedCoordination/*",
        "/broker/coordination/rdbmsBasedCoordination/heartbeatInterval",
        "/broker/coordination/rdbmsBasedCoordination/coordinatorEntryCreationWaitTime",
        "/broker/coordination/rdbmsBasedCoordination/eventPollingInterval",
        "/broker/coordination/rdbmsBasedClusterEventSynchronization/@enabled",
        "/broker/coordination/rdbmsBasedClusterEventSynchronization/eventSyncInterval",
        "/broker/transports/amqp/defaultConnection/@port",
        "/broker/transports/amqp/sslConnection/@port",
        "/broker/transports/mqtt/defaultConnection/@port",
        "/broker/persistence/messageStore/@class",
        "/broker/persistence/messageStore/property[@name='dataSource']",
        "/broker/persistence/contextStore/property[@name='dataSource']",
        "/broker/recovery/networkPartitionsDetection/@enabled",
        "/broker/recovery/networkPartitionsDetection/minimumClusterSize",
        "/broker/deployment/mode",
    ],
    f"{BROKER}/conf/advanced/qpid-config.xml": [
        "/broker/*",
        "/broker/heartbeat/*",
        "/broker/heartbeat/delay",
        "/broker/heartbeat/timeoutFactor",
        "/broker/virtualhosts",
        "/broker/management/jmxport",
    ],
    f"{BROKER}/conf/advanced/qpid-virtualhosts.xml": [
        "/virtualhosts/default",
        "/virtualhosts/virtualhost/name",
        "/virtualhosts/virtualhost/carbon/queues/*",
    ],
}

# Settings WSO2 ships commented out: (xpath that must find nothing, text of the
# comment). The comment text must be the same in both files, since the runbook
# uncomments it (or at least finds it) by that text.
COMMENTED: dict[str, list[tuple[str, str]]] = {
    "ei-6.1.1/conf/axis2/axis2.xml": [
        ("//property[@name='subDomain']", 'property name="subDomain" value="mgt"/'),
        ("//property[@name='subDomain']", 'property name="subDomain" value="worker"/'),
        ("//transportReceiver/parameter[@name='WSDLEPRPrefix']", 'parameter name="WSDLEPRPrefix"'),
        ("//clustering/parameter[@name='localMemberBindAddress']", 'parameter name="localMemberBindAddress"'),
        ("//clustering/parameter[@name='mcastAddress']", 'parameter name="mcastAddress"'),
    ],
    f"{BROKER}/conf/axis2/axis2.xml": [
        ("//transportReceiver/parameter[@name='proxyPort']", 'parameter name="proxyPort"'),
        ("//clustering/parameter[@name='localMemberBindAddress']", 'parameter name="localMemberBindAddress"'),
    ],
    "elb-2.0.5/repository/conf/axis2/axis2.xml": [
        ("//clustering/parameter[@name='localMemberHost']", 'parameter name="localMemberHost"'),
        ("//transportReceiver/parameter[@name='WSDLEPRPrefix']", 'parameter name="WSDLEPRPrefix"'),
    ],
    "ei-6.1.1/conf/carbon.xml": [
        ("/c:Server/c:HostName", "HostName>www.wso2.org</HostName"),
        ("/c:Server/c:MgtHostName", "MgtHostName>mgt.wso2.org</MgtHostName"),
    ],
    f"{BROKER}/conf/carbon.xml": [
        ("/c:Server/c:HostName", "HostName>www.wso2.org</HostName"),
        ("/c:Server/c:MgtHostName", "MgtHostName>mgt.wso2.org</MgtHostName"),
    ],
    "ei-6.1.1/conf/registry.xml": [
        ("/wso2registry/remoteInstance", 'remoteInstance url="https://localhost:9443/registry"'),
        ("/wso2registry/mount", 'mount path="/_system/config"'),
    ],
    f"{BROKER}/conf/registry.xml": [
        ("/wso2registry/remoteInstance", 'remoteInstance url="https://localhost:9443/registry"'),
        ("/wso2registry/mount", 'mount path="/_system/config"'),
    ],
}

# Settings WSO2 ships only as a hint inside a comment (not as an uncommentable
# element), so the runbook has to add them: the attribute/element must be
# absent and the hint present in both files; the comment wording may differ.
HINT_ONLY: dict[str, list[tuple[str, str]]] = {
    "ei-6.1.1/conf/tomcat/catalina-server.xml": [
        ("//@proxyPort", 'proxyPort="80"'),
        ("//@proxyPort", 'proxyPort="443"'),
    ],
    f"{BROKER}/conf/tomcat/catalina-server.xml": [
        ("//@proxyPort", 'proxyPort="80"'),
        ("//@proxyPort", 'proxyPort="443"'),
    ],
}


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("product", PAIRED)
def test_every_upstream_file_has_a_skeleton(upstream: Path, product: str) -> None:
    missing = [str(p.relative_to(upstream)) for p in upstream_files(upstream, product)
               if not (SKELETONS / p.relative_to(upstream)).is_file()]
    assert not missing, f"no skeleton for: {missing}"


def test_every_upstream_xml_file_is_checked(upstream: Path) -> None:
    """KEY_XPATHS covers each upstream XML file, so a new fixture cannot slip by."""
    assert sorted(rel for rel, _, _ in xml_pairs(upstream)) == sorted(KEY_XPATHS)


@pytest.mark.parametrize("rel", sorted(KEY_XPATHS))
def test_key_xpaths_match_upstream(upstream: Path, rel: str) -> None:
    up, sk = parse(upstream / rel), parse(SKELETONS / rel)
    assert etree.QName(sk.getroot()).text == etree.QName(up.getroot()).text
    assert sk.getroot().nsmap == up.getroot().nsmap
    for xpath in KEY_XPATHS[rel]:
        want = values(up, xpath)
        assert want, f"{rel}: {xpath} finds nothing upstream (fix the test)"
        assert values(sk, xpath) == want, f"{rel}: {xpath}"


@pytest.mark.parametrize("rel", sorted(COMMENTED))
def test_commented_out_as_shipped(upstream: Path, rel: str) -> None:
    for which, tree in (("upstream", parse(upstream / rel)), ("skeleton", parse(SKELETONS / rel))):
        for xpath, text in COMMENTED[rel]:
            assert not tree.xpath(xpath, namespaces=NS), f"{which} {rel}: {xpath} is active"
            assert any(text in c for c in comment_texts(tree)), f"{which} {rel}: no comment with {text!r}"
    up, sk = parse(upstream / rel), parse(SKELETONS / rel)
    for _, text in COMMENTED[rel]:
        assert comments_with(sk, text) == comments_with(up, text), \
            f"{rel}: the comments holding {text!r} (or where they sit) differ from upstream"


@pytest.mark.parametrize("rel", sorted(HINT_ONLY))
def test_hint_only_settings(upstream: Path, rel: str) -> None:
    for which, tree in (("upstream", parse(upstream / rel)), ("skeleton", parse(SKELETONS / rel))):
        for xpath, text in HINT_ONLY[rel]:
            assert not tree.xpath(xpath, namespaces=NS), f"{which} {rel}: {xpath} is set"
            assert any(text in c for c in comment_texts(tree)), f"{which} {rel}: no comment with {text!r}"


def test_shipped_values_that_differ_from_the_source_tree() -> None:
    """Maven filtering fills these in the shipped zip; the skeleton has the shipped values."""
    carbon = parse(SKELETONS / "ei-6.1.1/conf/carbon.xml")
    assert values(carbon, "/c:Server/c:Version") == ["6.1.1"]
    axis2 = parse(SKELETONS / "ei-6.1.1/conf/axis2/axis2.xml")
    assert values(axis2, "/axisconfig/parameter[@name='userAgent']") == ["WSO2 EI 6.1.1"]


def test_e11_e12_defaults() -> None:
    """The shipped defaults the runbook's ERRATA entries rely on."""
    ei = parse(SKELETONS / "ei-6.1.1/conf/axis2/axis2.xml")
    assert values(ei, "//clustering/parameter[@name='localMemberHost']") == ["127.0.0.1"]
    assert values(ei, "//clustering/@enable") == ["false"]
    broker_carbon = parse(SKELETONS / BROKER / "conf/carbon.xml")
    assert values(broker_carbon, "/c:Server/c:Ports/c:Offset") == ["3"]
    broker = parse(SKELETONS / BROKER / "conf/broker.xml")
    assert values(broker, "/broker/coordination/thriftServerPort") == ["7611"]


@pytest.mark.parametrize("rel", sorted(KEY_XPATHS))  # = every upstream XML file (checked above)
def test_xml_declaration_matches(upstream: Path, rel: str) -> None:
    up_first = (upstream / rel).read_bytes().split(b"\n", 1)[0].rstrip(b"\r")
    sk_first = (SKELETONS / rel).read_bytes().split(b"\n", 1)[0].rstrip(b"\r")
    if up_first.startswith(b"<?xml"):
        assert sk_first == up_first
    else:
        assert not sk_first.startswith(b"<?xml"), f"{rel}: upstream has no XML declaration"


@pytest.mark.parametrize("product", PAIRED)
def test_line_endings_and_final_newline_match(upstream: Path, product: str) -> None:
    for up in upstream_files(upstream, product):
        rel = up.relative_to(upstream)
        assert line_style((SKELETONS / rel).read_bytes()) == line_style(up.read_bytes()), str(rel)


@pytest.mark.parametrize("rel", [
    "ei-6.1.1/conf/log4j.properties",
    f"{BROKER}/conf/log4j.properties",
    f"{BROKER}/conf/hazelcast.properties",
    "elb-2.0.5/repository/conf/log4j.properties",
])
def test_properties_have_the_same_keys(upstream: Path, rel: str) -> None:
    up, sk = properties_keys(upstream / rel), properties_keys(SKELETONS / rel)
    assert sorted(sk) == sorted(up)
    assert sk == up  # same shipped values too


def test_loadbalancer_conf_has_the_same_blocks_and_keys(upstream: Path) -> None:
    rel = "elb-2.0.5/repository/conf/loadbalancer.conf"
    up, up_open = parse_lb_conf((upstream / rel).read_text())
    sk, sk_open = parse_lb_conf((SKELETONS / rel).read_text())
    assert sorted(sk) == sorted(up)
    assert sk == up
    for block in [("loadbalancer",), ("services",), ("services", "defaults"), ("services", "esb"),
                  ("services", "appserver"), ("services", "esb", "domains", "wso2.esb.domain")]:
        assert block in sk and sk[block] is None
    # As shipped, the "services" block is never closed.
    assert sk_open == up_open == 1


def test_no_skeleton_file_is_a_copy(upstream: Path) -> None:
    digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in upstream.rglob("*") if p.is_file()}
    copies = [str(p.relative_to(SKELETONS)) for p in skeleton_files()
              if p.stat().st_size and hashlib.sha256(p.read_bytes()).hexdigest() in digests]
    assert not copies, f"byte-identical to an upstream file: {copies}"


def test_all_skeleton_xml_parses() -> None:
    xml = [p for p in skeleton_files() if p.suffix == ".xml"]
    assert len(xml) > 30
    for path in xml:
        parse(path)
        # Declared ISO-8859-1 files hold ASCII only, so any reading agrees.
        path.read_bytes().decode("ascii")


# ------------------------------------- skeletons without upstream fixtures


def test_esb_and_as_follow_the_carbon4_shape() -> None:
    for product in ("esb-4.8.1", "as-5.2.1"):
        conf = SKELETONS / product / "repository/conf"
        axis2 = parse(conf / "axis2/axis2.xml")
        assert values(axis2, "//clustering/@enable") == ["false"]
        assert values(axis2, "//clustering/parameter[@name='localMemberHost']") == ["127.0.0.1"]
        assert values(axis2, "//clustering/parameter[@name='properties']/property/@name") == \
            ["backendServerURL", "mgtConsoleURL"]
        assert any('property name="subDomain" value="worker"/' in c for c in comment_texts(axis2))
        assert values(axis2, "//clustering/members/member/hostName") == ["127.0.0.1"]
        carbon = parse(conf / "carbon.xml")
        assert values(carbon, "/c:Server/c:Ports/c:Offset") == ["0"]
        assert not carbon.xpath("/c:Server/c:HostName | /c:Server/c:MgtHostName", namespaces=NS)
        assert values(carbon, "/c:Server/c:Axis2Config/c:ConfigurationFile") == \
            ["${carbon.home}/repository/conf/axis2/axis2.xml"]
        cat = parse(conf / "tomcat/catalina-server.xml")
        assert values(cat, "/Server/Service/Connector/@port") == ["9763", "9443"]
        assert not cat.xpath("//@proxyPort")
        assert any('proxyPort="443"' in c for c in comment_texts(cat))
        ds = parse(conf / "datasources/master-datasources.xml")
        assert values(ds, "//datasource/name") == ["WSO2_CARBON_DB"]
        assert values(ds, "//datasource/jndiConfig/name") == ["jdbc/WSO2CarbonDB"]
        um = parse(conf / "user-mgt.xml")
        assert values(um, "//Configuration/Property[@name='dataSource']") == ["jdbc/WSO2CarbonDB"]
        reg = parse(conf / "registry.xml")
        assert values(reg, "/wso2registry/dbConfig[@name='wso2registry']/dataSource") == ["jdbc/WSO2CarbonDB"]

    esb = parse(SKELETONS / "esb-4.8.1/repository/conf/axis2/axis2.xml")
    assert values(esb, "//clustering/@class") == ["org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"]
    assert values(esb, "/axisconfig/transportReceiver[@name='http']/parameter[@name='port']") == ["8280"]
    assert values(esb, "/axisconfig/transportReceiver[@name='https']/parameter[@name='port']") == ["8243"]
    assert not esb.xpath("//transportReceiver/parameter[@name='WSDLEPRPrefix']")
    assert sum('parameter name="WSDLEPRPrefix"' in c for c in comment_texts(esb)) == 2
    esb_carbon = parse(SKELETONS / "esb-4.8.1/repository/conf/carbon.xml")
    assert values(esb_carbon, "/c:Server/c:DeploymentSynchronizer/*") == [
        "Enabled", "AutoCommit", "AutoCheckout", "RepositoryType", "SvnUrl", "SvnUser", "SvnPassword",
        "SvnUrlAppendTenantId"]
    assert values(esb_carbon, "/c:Server/c:DeploymentSynchronizer/c:Enabled") == ["false"]

    as_ = parse(SKELETONS / "as-5.2.1/repository/conf/axis2/axis2.xml")
    # Guide 001's clustering agent; servlet transports only (no PassThrough).
    assert values(as_, "//clustering/@class") == ["org.apache.axis2.clustering.tribes.TribesClusteringAgent"]
    assert values(as_, "/axisconfig/transportReceiver/@class") == [
        "org.wso2.carbon.core.transports.http.HttpTransportListener",
        "org.wso2.carbon.core.transports.http.HttpsTransportListener",
        "org.wso2.carbon.core.transports.local.CarbonLocalTransportReceiver"]
    assert "passthru" not in (SKELETONS / "as-5.2.1/repository/conf/axis2/axis2.xml").read_text().lower()
    as_carbon = parse(SKELETONS / "as-5.2.1/repository/conf/carbon.xml")
    assert not as_carbon.xpath("//c:DeploymentSynchronizer", namespaces=NS)
    assert any("<SvnUrl>" in c and "<AutoCommit>" in c for c in comment_texts(as_carbon))


def test_elb_carbon_xml() -> None:
    carbon = parse(SKELETONS / "elb-2.0.5/repository/conf/carbon.xml")
    assert values(carbon, "/c:Server/c:Name") == ["WSO2 Elastic Load Balancer"]
    assert values(carbon, "/c:Server/c:Ports/c:Offset") == ["0"]


# ----------------------------------------------------- layout, bin, README

LAYOUT = {  # product/profile -> carbon home, conf, lib, dbscripts, security (README table)
    ("ei-6.1.1", "integrator"): (".", "conf", "lib", "dbscripts", "repository/resources/security"),
    ("ei-6.1.1", "broker"): ("wso2/broker", "wso2/broker/conf", "lib", "wso2/broker/dbscripts",
                             "wso2/broker/repository/resources/security"),
    ("esb-4.8.1", "esb"): (".", "repository/conf", "repository/components/lib", "dbscripts",
                           "repository/resources/security"),
    ("as-5.2.1", "as"): (".", "repository/conf", "repository/components/lib", "dbscripts",
                         "repository/resources/security"),
    ("elb-2.0.5", "elb"): (".", "repository/conf", "repository/components/lib", None,
                           "repository/resources/security"),
}


@pytest.mark.parametrize("key", sorted(LAYOUT), ids=lambda k: "-".join(k))
def test_layout_directories_exist(key: tuple[str, str]) -> None:
    product = SKELETONS / key[0]
    home, conf, lib, dbscripts, security = LAYOUT[key]
    for d in (home, conf, lib, security) + ((dbscripts,) if dbscripts else ()):
        assert (product / d).is_dir(), f"{key}: {d}"
    assert (product / conf / "carbon.xml").is_file()
    assert (product / conf / "axis2/axis2.xml").is_file()
    if dbscripts:
        assert (product / dbscripts / "mysql.sql").is_file()


def test_readme_layout_table() -> None:
    readme = (SKELETONS / "README.md").read_text()
    rows = {
        "ei integrator": LAYOUT[("ei-6.1.1", "integrator")],
        "ei broker": LAYOUT[("ei-6.1.1", "broker")],
        "esb": LAYOUT[("esb-4.8.1", "esb")],
        "as": LAYOUT[("as-5.2.1", "as")],
        "elb": LAYOUT[("elb-2.0.5", "elb")][:3] + ("dbscripts",) + LAYOUT[("elb-2.0.5", "elb")][4:],
    }
    for name, cells in rows.items():
        line = "| " + name + " | " + " | ".join(f"`{c}`" for c in cells) + " |"
        assert line in readme, line


@pytest.mark.parametrize("product", PRODUCTS)
def test_bin_scripts_are_honest(product: str) -> None:
    scripts = sorted((SKELETONS / product / "bin").glob("*.sh"))
    assert scripts
    for script in scripts:
        assert os.stat(script).st_mode & 0o777 == 0o755, script
        res = subprocess.run([str(script)], capture_output=True, text=True, timeout=10)
        assert res.returncode == 1
        assert "lab skeleton" in res.stderr and res.stdout == ""
    version = (SKELETONS / product / "bin/version.txt").read_text()
    assert re.fullmatch(r"WSO2 [A-Za-z ]+ v\d+\.\d+\.\d+\n", version), version


def test_ei_scripts_and_version() -> None:
    bin_ = SKELETONS / "ei-6.1.1/bin"
    assert sorted(p.name for p in bin_.glob("*.sh")) == ["broker.sh", "integrator.sh"]
    assert (bin_ / "version.txt").read_text() == "WSO2 Enterprise Integrator v6.1.1\n"


# --------------------------------------------------------------- dbscripts

DBSCRIPTS = SKELETONS / "ei-6.1.1"
CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I | re.M)


def tables(sql: str) -> list[str]:
    return CREATE_TABLE.findall(sql)


def test_mysql_scripts_keep_the_kernel_quirks() -> None:
    mysql = (DBSCRIPTS / "dbscripts/mysql.sql").read_text()
    mysql57 = (DBSCRIPTS / "dbscripts/mysql5.7.sql").read_text()
    want = {"UM_TENANT", "UM_USER", "UM_ROLE", "UM_USER_ROLE", "REG_PATH", "REG_CONTENT", "REG_RESOURCE",
            "REG_PROPERTY", "REG_LOG", "REG_CLUSTER_LOCK"}
    for sql in (mysql, mysql57):
        assert want <= set(tables(sql)) and len(tables(sql)) >= 10
        assert re.search(r"^CREATE INDEX ", sql, re.M)
        assert not re.search(r"CREATE\s+(UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS", sql, re.I)
        assert re.search(r"^CREATE TABLE UM_\w+", sql, re.M)  # not re-runnable
    assert re.search(r"TIMESTAMP\s+NOT\s+NULL\s+DEFAULT\s+0\b", mysql)
    assert not re.search(r"TIMESTAMP[^,\n]*DEFAULT\s+0\b", mysql57)
    assert tables(mysql) == tables(mysql57)
    for product in ("esb-4.8.1", "as-5.2.1"):
        assert (SKELETONS / product / "dbscripts/mysql.sql").read_text() == mysql
    assert (SKELETONS / BROKER / "dbscripts/mysql.sql").read_text() == mysql


def test_mb_script_keeps_its_quirks() -> None:
    sql = (SKELETONS / BROKER / "dbscripts/mb-store/mysql-mb.sql").read_text()
    names = tables(sql)
    assert len(names) >= 5 and all(n.startswith("MB_") for n in names)
    assert {"MB_METADATA", "MB_CONTENT", "MB_QUEUE_MAPPING", "MB_COORDINATOR_HEARTBEAT"} <= set(names)
    assert len(re.findall(r"^\) ENGINE=InnoDB DEFAULT CHARSET=latin1;$", sql, re.M)) == len(names)
    assert re.search(r"^CREATE INDEX \w+ ON \w+ \([^)]*\) USING HASH;", sql, re.M)


def split_sql(sql: str) -> list[str]:
    """Our scripts only: statements end with ';' at the end of a line, '--' comments are whole lines."""
    statements, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(buf).rstrip().rstrip(";"))
            buf = []
    assert not buf
    return statements


# Runs against RUNBOOK_TEST_MYSQL when set, else against the lab's MariaDB
# (the lab_mysql fixture brings the lab up), hence the "lab" mark.
@pytest.mark.lab
@pytest.mark.parametrize("script,sql_mode", [
    ("ei-6.1.1/dbscripts/mysql.sql", ""),  # the kernel script needs non-strict mode
    ("ei-6.1.1/dbscripts/mysql5.7.sql", None),
    (f"{BROKER}/dbscripts/mb-store/mysql-mb.sql", None),
])
def test_dbscripts_run_once_on_mariadb(lab_mysql: dict, script: str, sql_mode: str | None) -> None:
    pymysql = pytest.importorskip("pymysql")
    statements = split_sql((SKELETONS / script).read_text())
    db = "skeleton_" + uuid.uuid4().hex[:12]
    conn = pymysql.connect(host=lab_mysql["host"], port=lab_mysql["port"], user=lab_mysql["user"],
                           password=lab_mysql["password"], autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{db}`")
            if sql_mode is not None:
                cur.execute("SET SESSION sql_mode = %s", (sql_mode,))
            for stmt in statements:
                cur.execute(stmt)
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (db,))
            assert sorted(r[0].upper() for r in cur.fetchall()) == sorted(tables((SKELETONS / script).read_text()))
            # Not re-runnable, as shipped: the first CREATE INDEX fails the second time.
            first_index = next(s for s in statements if s.lstrip().upper().startswith("CREATE INDEX"))
            with pytest.raises(pymysql.err.MySQLError):
                cur.execute(first_index)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
