"""The floor for issue 10: the least work that makes the same kind of edits.

One paramiko connection per host, each file read once and written once, all
hosts in parallel: 13 XPath edits in 4 EI 6.1.1 files per node, about what
sections 04-06 do. It does none of what makes the runbook trustworthy
(byte-preserving edits, backups, diffs, verification), which is why it is a
floor and not a competitor. Used by bench_scale.py; never by the runbook.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import paramiko
from lxml import etree

CARBON = "http://wso2.org/projects/carbon/carbon.xml"


@dataclass(frozen=True)
class FloorNode:
    address: str
    home: str
    offset: int
    member_port: int


def _set(tree: etree._ElementTree, xpath: str, value: str, ns: dict | None = None) -> None:
    for el in tree.xpath(xpath, namespaces=ns or {}):
        if isinstance(el, etree._Element):
            el.text = value


def _edits(node: FloorNode, domain: str, db_url: str) -> dict[str, list[tuple[str, str, dict | None]]]:
    c = {"c": CARBON}
    return {
        "conf/carbon.xml": [
            ("//c:HostName", "esb.wso2.com", c),
            ("//c:Ports/c:Offset", str(node.offset), c),
            ("//c:ServerKey", "EI", c),
        ],
        "conf/axis2/axis2.xml": [
            ("//clustering/parameter[@name='membershipScheme']", "wka", None),
            ("//clustering/parameter[@name='domain']", domain, None),
            ("//clustering/parameter[@name='localMemberHost']", node.address, None),
            ("//clustering/parameter[@name='localMemberPort']", str(node.member_port), None),
        ],
        "conf/datasources/master-datasources.xml": [
            ("//datasource[name='WSO2_CARBON_DB']//url", db_url, None),
            ("//datasource[name='WSO2_CARBON_DB']//username", "wso2carbon", None),
            ("//datasource[name='WSO2_CARBON_DB']//driverClassName", "com.mysql.jdbc.Driver", None),
            ("//datasource[name='WSO2_CARBON_DB']//validationQuery", "SELECT 1", None),
        ],
        "conf/registry.xml": [
            ("//dbConfig[@name='wso2registry']/dataSource", "jdbc/WSO2CarbonDB", None),
            ("//currentDBConfig", "wso2registry", None),
        ],
    }


def edit_node(client: paramiko.SSHClient, node: FloorNode, domain: str, db_url: str) -> int:
    """Read, edit and write the node's 4 files over one SFTP session; returns edits made."""
    sftp = client.open_sftp()
    count = 0
    try:
        for rel, edits in _edits(node, domain, db_url).items():
            path = f"{node.home}/{rel}"
            with sftp.open(path, "rb") as f:
                data = f.read()
            tree = etree.parse(io.BytesIO(data))
            # axis2.xml has no namespace; the XPaths above are written for that.
            for xpath, value, ns in edits:
                _set(tree, xpath, value, ns)
                count += 1
            out = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
            tmp = path + ".floor.tmp"
            with sftp.open(tmp, "wb") as f:
                f.write(out)
            sftp.posix_rename(tmp, path)
    finally:
        sftp.close()
    return count


def run_floor(hosts: dict[str, tuple[str, list[FloorNode]]], user: str, key: str, known_hosts: str,
              domain: str, db_url: str) -> tuple[float, int]:
    """All hosts in parallel, one connection each. Returns (seconds, edits).
    known_hosts is read once (paramiko's load_host_keys in each connection checks every
    line against all before it: at 129 hosts that alone is more than the floor's work)."""
    known = paramiko.HostKeys(known_hosts)

    def one(item: tuple[str, list[FloorNode]]) -> int:
        address, nodes = item
        client = paramiko.SSHClient()
        for keytype, host_key in (known.lookup(address) or {}).items():
            client.get_host_keys().add(address, keytype, host_key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(address, username=user, key_filename=key, allow_agent=False, look_for_keys=False,
                       timeout=10)
        try:
            return sum(edit_node(client, n, domain, db_url) for n in nodes)
        finally:
            client.close()

    t0 = time.perf_counter()  # the file was read above: the clock covers the connections and the edits
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        edits = sum(pool.map(one, hosts.values()))
    return time.perf_counter() - t0, edits
