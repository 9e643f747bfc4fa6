"""discover's pure parts, without the lab: version.txt, nginx, /etc/hosts,
the commented YAML (valid, each value with its provenance), the round trip's
matching of plan differences to the report."""

from __future__ import annotations

import yaml

from runbook_lib.discover.consistency import Item
from runbook_lib.discover.found import Found, XmlFile, guess
from runbook_lib.discover.homes import product_of
from runbook_lib.discover.lbread import Nginx, parse, upstream_of
from runbook_lib.discover.reach import own_name, parse_etc_hosts
from runbook_lib.discover.roundtrip import match
from runbook_lib.discover.yamlout import guesses, plain, render

NGINX_004 = """upstream wso2.ei.com {
        server xxx.xxx.xxx.xx1:8280;
        server xxx.xxx.xxx.xx2:8280;
        ip_hash;   # affinity
}
server {
        listen 80;
        server_name ei.wso2.com;
        location / {
            proxy_pass http://wso2.ei.com;
        }
}
server {
        listen 443 ssl;
        server_name ui.ei.wso2.com;
        ssl_certificate /etc/nginx/ssl/server.crt;
        location / { proxy_pass https://ssl.wso2.ei.com/; }
}
"""


def test_version_txt_names_product_and_version():
    assert product_of("WSO2 Enterprise Integrator v6.1.1") == ("ei", "6.1.1")
    assert product_of("WSO2 Elastic Load Balancer v2.0.5\n") == ("elb", "2.0.5")
    assert product_of("WSO2 Application Server v5.2.1") == ("as", "5.2.1")
    assert product_of("Apache Tomcat 9.0") is None


def test_nginx_vhosts_read_with_lines():
    n = Nginx()
    parse("lb", "/etc/nginx/conf.d/ei.conf", NGINX_004, n)
    http, https = n.servers
    assert (http.port, http.tls, http.server_name.value) == (80, False, "ei.wso2.com")
    assert (https.port, https.tls, https.server_name.value) == (443, True, "ui.ei.wso2.com")
    assert https.certificate.value == "/etc/nginx/ssl/server.crt"
    up = upstream_of(n, http)
    assert [s.value for s in up.servers] == ["xxx.xxx.xxx.xx1:8280", "xxx.xxx.xxx.xx2:8280"]
    assert (up.affinity.value, up.affinity.line) == ("ip_hash", 4)


def test_a_host_is_named_by_its_own_etc_hosts():
    etc, lines = parse_etc_hosts("127.0.0.1 localhost\n# x\n10.0.0.5\tEi101.example.com ei101\n")
    assert own_name("10.0.0.5", etc, lines, set()).value == "ei101"
    assert own_name("10.0.0.5", etc, lines, set()).line == 3
    nameless = own_name("10.0.0.9", etc, lines, set())
    assert nameless.guess and nameless.value == "host-9"


def test_xml_values_carry_their_line():
    f = XmlFile.parse("n1", "/x/axis2.xml", b"<a>\n <clustering enable='true'>\n  <p name='domain'>d</p>\n"
                      b" </clustering>\n</a>")
    assert f.one("/a/clustering/p[@name='domain']") == Found("d", "n1", "/x/axis2.xml", 3)
    assert f.one("/a/clustering/@enable").value == "true"
    broken = XmlFile.parse("n1", "/x/carbon.xml", b"<a><b></a>")
    assert not broken.ok and "not well-formed" in broken.error


def test_the_yaml_is_valid_and_says_where_each_value_came_from():
    tree = {"name": "adopted",
            "hosts": {Found("ei101", "10.0.0.5", "/etc/hosts", 3): {"address": Found("10.0.0.5", why="--hosts")}},
            "database": {"app_user_host": Found("10.0.0.%", "10.0.0.3", "mysql:3306"),
                         "app_password": {"secret": Found("DB_APP_PASSWORD", why="datasources")},
                         "port": Found(3306, "n1", "/m.xml", 9), "charset": guess("latin1", "not read")},
            "flags": {"well_known": Found(True, "n2", "/axis2.xml", 12), "no": Found("no", why="a word")}}
    text = render(tree, ["header"])
    assert yaml.safe_load(text) == plain(tree)
    assert "# n1:/m.xml:9" in text and "# guess: not read" in text and "# 10.0.0.5:/etc/hosts:3" in text
    assert "app_password: {secret: DB_APP_PASSWORD}" in text
    assert guesses(tree) == ["database.charset (not read)"]


def test_a_plan_difference_is_accepted_only_when_the_report_names_its_file():
    items = [Item("erratum", "cacheId (E8)", "n1", "/opt/ei/conf/registry.xml", 40, "04 writes user@url")]
    diffs = [("04_registry_mount", "n1  /opt/ei/conf/registry.xml: cacheId: 'a' -> 'b' (line 40)"),
             ("06_workers", "n1  /opt/ei/conf/axis2/axis2.xml: domain: 'x' -> 'y'")]
    named, unnamed = match(diffs, items)
    assert [i.what for _, i in named] == ["cacheId (E8)"]
    assert unnamed == ["06_workers  n1  /opt/ei/conf/axis2/axis2.xml: domain: 'x' -> 'y'"]


def test_an_exact_item_names_its_home_but_not_the_files_under_it():
    items = [Item("fault", "secret files 0644", "n1", "/opt/ei", None, "04 sets 0600", exact=True)]
    diffs = [("04_registry_mount", "n1  /opt/ei: /opt/ei/conf/carbon.xml: mode 0644 -> 0600 (would change)"),
             ("05_manager", "n1  /opt/ei/conf/axis2/axis2.xml: domain: 'x' -> 'y'")]
    named, unnamed = match(diffs, items)
    assert [d for d, _ in named] == ["04_registry_mount  n1  /opt/ei: /opt/ei/conf/carbon.xml: mode 0644 -> 0600 "
                                     "(would change)"]
    assert unnamed == ["05_manager  n1  /opt/ei/conf/axis2/axis2.xml: domain: 'x' -> 'y'"]


def test_the_discover_notebook_is_outside_the_run_order():
    import nbformat

    from runbook_lib.run.runner import NOTEBOOKS, OUTSIDE_RUN_ORDER, sections
    assert (NOTEBOOKS / "09_discover.ipynb").exists() and "09_discover" in OUTSIDE_RUN_ORDER
    assert "09_discover" not in sections() and sections()[-1] == "08_test_cluster"
    nb = nbformat.read(NOTEBOOKS / "09_discover.ipynb", as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and nb.metadata["kernelspec"]["name"] == "wso2-runbook"
    assert "apply" not in params[0].source  # it never changes anything: there is nothing to apply


def _node(host: str, path: str, domain: str, lmh: str, lmp: int, members: list[tuple[str, int]], offset: int = 0):
    from runbook_lib.discover.homes import Home
    from runbook_lib.discover.nodefiles import NodeFacts
    from runbook_lib.products import EI_INTEGRATOR
    from runbook_lib.sections.shared.namespaces import CARBON_NS
    ms = "".join(f"<member><hostName>{h}</hostName><port>{p}</port></member>" for h, p in members)
    axis2 = (f"<axisconfig><clustering class='x' enable='true'><parameter name='domain'>{domain}</parameter>"
             f"<parameter name='localMemberHost'>{lmh}</parameter><parameter name='localMemberPort'>{lmp}</parameter>"
             f"<members>{ms}</members></clustering></axisconfig>").encode()
    carbon = f"<Server xmlns='{CARBON_NS['c']}'><Ports><Offset>{offset}</Offset></Ports></Server>".encode()
    files = {"axis2": XmlFile.parse(host, f"{path}/conf/axis2/axis2.xml", axis2),
             "carbon": XmlFile.parse(host, f"{path}/conf/carbon.xml", carbon, CARBON_NS)}
    for key in ("catalina", "datasources", "registry", "user_mgt"):
        files[key] = XmlFile.parse(host, f"{path}/conf/{key}.xml", None)
    return NodeFacts(Home(host, path, "ei", "6.1.1", "WSO2 Enterprise Integrator v6.1.1"), EI_INTEGRATOR, files)


def test_the_report_names_what_nodes_disagree_on_and_known_faults():
    from runbook_lib.discover.assemble import Facts
    from runbook_lib.discover.consistency import report
    from runbook_lib.discover.reach import Reached
    reached = {"10.0.0.1": Reached("10.0.0.1", None, Found("ei1"), {"ei1": "10.0.0.1", "ei2": "10.0.0.2"}),
               "10.0.0.2": Reached("10.0.0.2", None, Found("ei2"), {"ei2": "10.0.0.2", "ei1": "10.0.0.1"})}
    facts = Facts(reached)
    facts.nodes = {"a": _node("ei1", "/opt/a/wso2ei", "d1", "10.0.0.1", 4100, [("ei2", 4100)]),
                   "b": _node("ei2", "/opt/b/wso2ei", "d1", "127.0.0.1", 4100, [("10.0.0.1", 4100)]),
                   "c": _node("ei2", "/opt/c/wso2ei", "other", "10.0.0.2", 4200, [("10.0.0.1", 4100)])}
    facts.node_host = {"a": "ei1", "b": "ei2", "c": "ei2"}
    items = report(facts)
    what = [i.what for i in items]
    assert any("clustering domain on c is 'other'" in w for w in what)
    assert any("b: localMemberHost 127.0.0.1" in w and "E10" in w for w in what)
    kept = next(i for i in items if "well-known member 10.0.0.2:4100 is listed by the name ei2" in i.what)
    assert kept.kind == "style" and kept.path == ""  # kept as member_name: it excuses no difference
    assert any("b and c on ei2 claim the same ports" in w for w in what)
    member = next(i for i in items if i.what.startswith("c: well-known members"))
    assert member.path == "/opt/c/wso2ei/conf/axis2/axis2.xml" and member.kind == "differs"


def test_a_member_listed_by_name_is_kept_and_what_changes_for_it_is_named():
    """ei1 lists ei2 by name, ei3 lists it by IP; ei3's /etc/hosts does not map ei2."""
    from runbook_lib.discover.assemble import Facts, nodes_section
    from runbook_lib.discover.consistency import report
    from runbook_lib.discover.reach import Reached
    reached = {"10.0.0.1": Reached("10.0.0.1", None, Found("ei1"), {"ei1": "10.0.0.1", "ei2": "10.0.0.2"}),
               "10.0.0.2": Reached("10.0.0.2", None, Found("ei2"), {"ei2": "10.0.0.2", "ei1": "10.0.0.1"}),
               "10.0.0.3": Reached("10.0.0.3", None, Found("ei3"), {"ei3": "10.0.0.3"})}
    facts = Facts(reached)
    facts.nodes = {"a": _node("ei1", "/opt/a/wso2ei", "d", "10.0.0.1", 4100, [("ei2", 4100)]),
                   "b": _node("ei2", "/opt/b/wso2ei", "d", "10.0.0.2", 4100, [("10.0.0.1", 4100)]),
                   "c": _node("ei3", "/opt/c/wso2ei", "d", "10.0.0.3", 4100, [("10.0.0.2", 4100), ("10.0.0.1", 4100)])}
    facts.node_host = {"a": "ei1", "b": "ei2", "c": "ei3"}
    nodes = nodes_section(facts)
    assert nodes["b"]["member_name"].value == "ei2" and nodes["b"]["member_name"].file.endswith("/opt/a/wso2ei/conf/axis2/axis2.xml")
    assert "member_name" not in nodes["a"] and nodes["a"]["well_known"].value is True  # listed by IP only
    items = report(facts)
    by_ip = [i for i in items if i.what.startswith("c lists the well-known member 10.0.0.2:4100 as 10.0.0.2")]
    assert len(by_ip) == 1 and by_ip[0].host == "ei3" and by_ip[0].path.endswith("/opt/c/wso2ei/conf/axis2/axis2.xml")
    hosts = [i for i in items if i.path == "/etc/hosts"]
    assert [(i.host, i.kind) for i in hosts] == [("ei3", "differs")] and "ei2 to 10.0.0.2" in hosts[0].what


def test_secrets_under_secure_vault_are_never_read_from_the_nodes(tmp_path, monkeypatch):
    """An element naming an svns:secretAlias: the params get the vault, the value comes from the
    operator's secrets by name (the node's `password` placeholder is never taken for it)."""
    from runbook_lib.discover.assemble import Facts
    from runbook_lib.discover.reach import Reached
    from runbook_lib.discover.secrets import collect
    from runbook_lib.discover.vault import securevault_section
    from runbook_lib.sections.shared.namespaces import CARBON_NS
    svns = 'xmlns:svns="http://org.wso2.securevault/configuration"'
    f = _node("ei1", "/opt/a/wso2ei", "d", "10.0.0.1", 4100, [])
    f.files["carbon"] = XmlFile.parse("ei1", "/opt/a/wso2ei/conf/carbon.xml", (
        f"<Server xmlns='{CARBON_NS['c']}' {svns}><Security><TrustStore><Password "
        "svns:secretAlias='Carbon.Security.TrustStore.Password'>password</Password></TrustStore></Security>"
        "</Server>").encode(), CARBON_NS)
    f.files["datasources"] = XmlFile.parse("ei1", "/opt/a/wso2ei/conf/datasources/master-datasources.xml", (
        f"<datasources-configuration {svns}><datasources><datasource><name>WSO2_USER_DB</name><jndiConfig><name>"
        "jdbc/WSO2UMDB</name></jndiConfig><definition><configuration><url>jdbc:mysql://db:3306/U</url><username>u"
        "</username><password svns:secretAlias='Datasources.WSO2_USER_DB.Configuration.Password'>password</password>"
        "</configuration></definition></datasource></datasources></datasources-configuration>").encode())
    facts = Facts({"10.0.0.1": Reached("10.0.0.1", None, Found("ei1"), {})})
    facts.nodes, facts.node_host = {"a": f}, {"a": "ei1"}
    sv = securevault_section(facts)
    assert sv["enabled"].value is True and sv["keystore_password"]["secret"].value == "KEYSTORE_PASSWORD"
    secrets_file = tmp_path / "s.env"
    secrets_file.write_text("DB_APP_PASSWORD=given-app\nKEYSTORE_PASSWORD=given-ks\n")
    monkeypatch.delenv("TRUSTSTORE_PASSWORD", raising=False)
    got = {s.name: s for s in collect(facts, "DB_ADMIN_PASSWORD", None, str(secrets_file))}
    assert got["DB_APP_PASSWORD"].value == "given-app" and "under Secure Vault" in got["DB_APP_PASSWORD"].state
    assert got["KEYSTORE_PASSWORD"].value == "given-ks"
    assert got["TRUSTSTORE_PASSWORD"].value is None and "not read: give TRUSTSTORE_PASSWORD" in got["TRUSTSTORE_PASSWORD"].state
    assert "SVN_PASSWORD" not in got  # no synchronizer enabled: no SVN password needed


def test_the_elb_values_come_from_the_clusters_own_domain():
    """loadbalancer.conf as shipped holds sample domains (wso2.as1.domain tenant_range 1-100...): the
    params take the cluster's domain block; the members listing the ELB at its group_mgt_port make it
    well-known without a registration_port (000)."""
    from runbook_lib.discover.assemble import Facts, nodes_section
    from runbook_lib.discover.elbread import elb_section
    from runbook_lib.discover.homes import Home
    from runbook_lib.discover.nodefiles import NodeFacts
    from runbook_lib.discover.reach import Reached
    from runbook_lib.products import ELB
    conf = (b"services {\n  esb {\n    hosts esb.example.com;\n    domains {\n      wso2.as1.domain {\n"
            b"        tenant_range 1-100;\n        group_mgt_port 5999;\n      }\n      d {\n        tenant_range *;\n"
            b"        group_mgt_port 5000;\n      }\n    }\n  }\n}\n")
    axis2 = (b"<axisconfig><transportReceiver name='http'><parameter name='port'>80</parameter></transportReceiver>"
             b"<clustering class='x' enable='true'><parameter name='localMemberPort'>4000</parameter></clustering>"
             b"</axisconfig>")
    elb = NodeFacts(Home("ei1", "/opt/elb/wso2elb-2.1.0", "elb", "2.1.0", "WSO2 Elastic Load Balancer v2.1.0"), ELB,
                    {"axis2": XmlFile.parse("ei1", "/opt/elb/wso2elb-2.1.0/repository/conf/axis2/axis2.xml", axis2),
                     "carbon": XmlFile.parse("ei1", "/opt/elb/wso2elb-2.1.0/repository/conf/carbon.xml", None)},
                    raw={"lbconf": conf, "passthru": b"http.socket.timeout=6000\n"})
    facts = Facts({"10.0.0.1": Reached("10.0.0.1", None, Found("ei1"), {})})
    facts.nodes = {"elb": elb, "a": _node("ei1", "/opt/a/wso2esb", "d", "10.0.0.1", 4001, [("10.0.0.1", 5000)]),
                   "b": _node("ei1", "/opt/b/wso2esb", "d", "10.0.0.1", 4002, [("10.0.0.1", 5000), ("10.0.0.1", 4001)])}
    facts.node_host = {"elb": "ei1", "a": "ei1", "b": "ei1"}
    lb = {k: v.value for k, v in elb_section(facts).items()}
    assert lb == {"kind": "elb", "http_port": 80, "tenant_range": "*", "group_mgt_port": 5000,
                  "socket_timeout_ms": 6000}, lb
    assert nodes_section(facts)["elb"]["well_known"].value is True
