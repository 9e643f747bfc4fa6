"""Document 004 built by hand (EI integration profile, two well-known
members behind nginx), in two people's styles, on a lab brought up from
params/ei-integrator-004.yaml (fresh homes, MariaDB, nginx):

- ``sed``: sed one-liners on the shipped files (their comments kept), the
  datasources pasted whole from the document, members by IP, 004's three
  vhost files (ei.http.conf, ei.https.conf, ui.ei.https.conf), one
  certificate `server.crt` for both names, imported with alias `server`;
- ``python``: python3 string edits over SSH, members by host name (each node's
  /etc/hosts names the other), vhost files of its own naming (wso2-ei-http.conf,
  wso2-ei-https.conf, wso2-ui-https.conf), a certificate per name without a
  subjectAltName (the CN only, as 004 shows), only the cluster's imported, with alias `ei-lb`.

Both follow 004's values where they are right, and ERRATA where it is not
(`listen 443 ssl`, E14; the driver class of the jar they copy; a 2048-bit key,
E13), as a careful person would."""

from __future__ import annotations

import secrets as _secrets

from runbook_lib.params import Params
from runbook_lib.remote.host import Host

from .person import put, py_edit, scratch, sed, sh

STYLES = ("sed", "python")
HOME = "/opt/wso2/wso2ei-6.1.1"
CONF = f"{HOME}/conf"
DBS = ("WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2")
DB_ALIAS, CLUSTER, MGT = "carbondb.mysql-wso2.com", "ei.wso2.com", "ui.ei.wso2.com"
JAR = "/usr/share/java/mariadb-java-client.jar"
OPTS = "autoReconnect=true&amp;useSSL=false"


def datasource(name: str, jndi: str, db: str, user: str, password: str, what: str) -> str:
    return f"""        <datasource>
            <name>{name}</name>
            <description>{what}</description>
            <jndiConfig>
                <name>{jndi}</name>
            </jndiConfig>
            <definition type="RDBMS">
                <configuration>
                    <url>jdbc:mysql://{DB_ALIAS}:3306/{db}?{OPTS}</url>
                    <username>{user}</username>
                    <password>{password}</password>
                    <driverClassName>org.mariadb.jdbc.Driver</driverClassName>
                    <maxActive>50</maxActive>
                    <maxWait>60000</maxWait>
                    <testOnBorrow>true</testOnBorrow>
                    <validationQuery>SELECT 1</validationQuery>
                    <validationInterval>30000</validationInterval>
                </configuration>
            </definition>
        </datasource>"""


def datasources_file(local: str, user: str, password: str) -> str:
    """004's master-datasources.xml for one node, pasted whole (its datasource names)."""
    body = "\n".join([datasource(local, "jdbc/WSO2CarbonDB", local, user, password,
                                 "The datasource used for registry- local"),
                      datasource("REGISTRY_DB", "jdbc/WSO2RegistryDB", "REGISTRY_DB", user, password,
                                 "The datasource used for registry- config/governance"),
                      datasource("WSO2_USER_DB", "jdbc/WSO2UMDB", "WSO2_USER_DB", user, password,
                                 "The datasource used for registry and user manager")])
    return f"""<datasources-configuration xmlns:svns="http://org.wso2.securevault/configuration">
    <providers>
        <provider>org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader</provider>
    </providers>
    <datasources>
{body}
    </datasources>
</datasources-configuration>"""


def registry_block(user: str, read_only: bool = False, doc: str = "document 004") -> str:
    """The shared registry's dbConfig, remoteInstance and mounts, as 002 and 004 print them alike."""
    return f"""    <!-- shared registry ({doc}) -->
    <dbConfig name="sharedregistry">
        <dataSource>jdbc/WSO2RegistryDB</dataSource>
    </dbConfig>
    <remoteInstance url="https://localhost:9443/registry">
        <id>instanceid</id>
        <dbConfig>sharedregistry</dbConfig>
        <readOnly>{str(read_only).lower()}</readOnly>
        <enableCache>true</enableCache>
        <registryRoot>/</registryRoot>
        <cacheId>{user}@jdbc:mysql://{DB_ALIAS}:3306/REGISTRY_DB?{OPTS}</cacheId>
    </remoteInstance>
    <mount path="/_system/config" overwrite="true">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/eiconfig</targetPath>
    </mount>
    <mount path="/_system/governance" overwrite="true">
        <instanceId>instanceid</instanceId>
        <targetPath>/_system/governance</targetPath>
    </mount>"""


PROXY = """            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Server $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Host $http_host;
            proxy_read_timeout 5m;
            proxy_send_timeout 5m;"""
UPGRADE = """            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";"""


def vhosts(n1: str, n2: str, cert: dict[str, str]) -> dict[str, str]:
    """004's three vhosts (with `listen 443 ssl`, E14), by 004's file names."""
    http = f"""upstream wso2.ei.com {{
        server {n1}:8280;
        server {n2}:8280;
        ip_hash;
}}
server {{
        listen 80;
        server_name {CLUSTER};
        location / {{
{PROXY}
            proxy_pass http://wso2.ei.com;
{UPGRADE}
        }}
}}"""
    https = f"""upstream ssl.wso2.ei.com {{
    server {n1}:8243;
    server {n2}:8243;
    ip_hash;
}}
server {{
    listen 443 ssl;
    server_name {CLUSTER};
    ssl_certificate {cert[CLUSTER]}.crt;
    ssl_certificate_key {cert[CLUSTER]}.key;
    location / {{
{PROXY}
            proxy_pass https://ssl.wso2.ei.com;
{UPGRADE}
    }}
}}"""
    ui = f"""server {{
    listen 443 ssl;
    server_name {MGT};
    ssl_certificate {cert[MGT]}.crt;
    ssl_certificate_key {cert[MGT]}.key;
    location / {{
{PROXY}
            proxy_pass https://{n1}:9443/;
{UPGRADE}
    }}
    error_log  /var/log/nginx/ui-error.log ;
    access_log  /var/log/nginx/ui-access.log;
}}"""
    return {"ei.http.conf": http, "ei.https.conf": https, "ui.ei.https.conf": ui}


def build(p: Params, hosts: dict[str, Host], style: str, admin_password: str) -> dict[str, str]:
    """Configure the lab's 004 cluster by hand in STYLE; returns the secrets the person chose."""
    assert style in STYLES
    node_hosts = [n.host for n in p.nodes.values()]
    addr = {h: str(p.hosts[h].address) for h in p.hosts}
    n1, n2 = (addr[h] for h in node_hosts)
    db, lb = addr[p.database.host], addr[p.load_balancer.host]
    user, password = "regadmin", "Hand-" + _secrets.token_hex(8)
    subnet = n1.rsplit(".", 1)[0] + ".%"
    first = hosts[node_hosts[0]]
    # 1. databases, the user and its grants, the tables (from a node, with the mysql client)
    mysql = f"mysql -h {db} -u {p.database.admin_user} -p'{admin_password}'"
    sql = "; ".join([f"CREATE DATABASE {d}" for d in DBS] + [f"CREATE USER '{user}'@'{subnet}' IDENTIFIED BY "
                                                             f"'{password}'"]
                    + [f"GRANT ALL ON {d}.* TO '{user}'@'{subnet}'" for d in DBS])
    sh(first, f"{mysql} -e \"{sql}\"")
    for d in DBS:
        sh(first, f"{mysql} {d} < {HOME}/dbscripts/mysql.sql 2>/dev/null || {mysql} {d} < {HOME}/dbscripts/mysql5.7.sql")
    # 2. the certificate(s) on the load balancer, then each node's truststore
    lbh = hosts[p.load_balancer.host]
    names = {CLUSTER: "/etc/nginx/ssl/server", MGT: "/etc/nginx/ssl/server"} if style == "sed" else \
        {CLUSTER: f"/etc/nginx/ssl/{CLUSTER}", MGT: f"/etc/nginx/ssl/{MGT}"}
    for cn, base in dict.fromkeys(names.items()):
        if names[cn] != base or not sh(lbh, f"test -f {base}.crt && echo yes || true", sudo=True).strip():
            sh(lbh, f"mkdir -p /etc/nginx/ssl && openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj '/CN={cn}' "
                    f"-keyout {base}.key -out {base}.crt 2>/dev/null && chmod 600 {base}.key", sudo=True)
    alias = "server" if style == "sed" else "ei-lb"
    crt = sh(lbh, f"cat {names[CLUSTER]}.crt", sudo=True)
    # 3. each node
    for i, h in enumerate(node_hosts, 1):
        node, me, other = hosts[h], addr[h], (n2 if i == 1 else n1)
        other_name = node_hosts[1] if i == 1 else node_hosts[0]
        lb_crt = scratch(node, "lb.crt")
        put(node, lb_crt, crt)
        sh(node, f"keytool -import -noprompt -trustcacerts -alias {alias} -file {lb_crt} -keystore "
                 f"{HOME}/repository/resources/security/client-truststore.jks -storepass wso2carbon >/dev/null 2>&1; "
                 f"rm -f {lb_crt}")
        sh(node, f"cp {JAR} {HOME}/lib/")
        put(node, f"{CONF}/datasources/master-datasources.xml", datasources_file(f"REGISTRY_LOCAL{i}", user, password))
        lines = [f"{db}\t{DB_ALIAS}", f"{lb}\t{CLUSTER} {MGT}"] + ([f"{other}\t{other_name}"] if style == "python" else [])
        sh(node, "printf '%s\\n' " + " ".join(f"'{x}'" for x in lines) + " | sudo tee -a /etc/hosts >/dev/null")
        member = other if style == "sed" else other_name
        if style == "sed":
            _sed_node(node, me, member, user)
        else:
            _python_node(node, me, member, user)
    # 4. nginx
    files = vhosts(n1, n2, names)
    if style == "sed":
        for name, text in files.items():
            put(lbh, f"/etc/nginx/conf.d/{name}", text, sudo=True)
    else:
        own = {"ei.http.conf": "wso2-ei-http.conf", "ei.https.conf": "wso2-ei-https.conf",
               "ui.ei.https.conf": "wso2-ui-https.conf"}
        for name, text in files.items():
            put(lbh, f"/etc/nginx/conf.d/{own[name]}", text, sudo=True)
    sh(lbh, "nginx -t 2>&1 && nginx -s reload", sudo=True)
    return {"DB_APP_PASSWORD": password}


def _sed_node(node: Host, me: str, member: str, user: str) -> None:
    ax = f"{CONF}/axis2/axis2.xml"
    sed(node, ax,
        's|enable="false">|enable="true">|',
        's|<parameter name="domain">wso2.carbon.domain</parameter>|<parameter name="domain">wso2.ei.domain</parameter>|',
        f's|<parameter name="localMemberHost">127.0.0.1</parameter>|<parameter name="localMemberHost">{me}</parameter>|',
        f's|<hostName>127.0.0.1</hostName>|<hostName>{member}</hostName>|',
        's|<port>4000</port>|<port>4100</port>|',
        r's|<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->|'
        r'<parameter name="WSDLEPRPrefix" locked="false">PREFIX</parameter>|')
    sed(node, ax, f'0,/>PREFIX</s|>PREFIX<|>http://{CLUSTER}:80<|', f's|>PREFIX<|>https://{CLUSTER}:443<|')
    sed(node, f"{CONF}/carbon.xml", f's|<!--HostName>www.wso2.org</HostName-->|<HostName>{CLUSTER}</HostName>|')
    sed(node, f"{CONF}/user-mgt.xml",
        's|<Property name="dataSource">jdbc/WSO2CarbonDB</Property>|<Property name="dataSource">jdbc/WSO2UMDB</Property>|')
    sed(node, f"{CONF}/tomcat/catalina-server.xml", 's|port="9763"|port="9763" proxyPort="80"|',
        's|port="9443"|port="9443" proxyPort="443"|')
    reg = scratch(node, "registry-block.xml")
    put(node, reg, registry_block(user))
    sed(node, f"{CONF}/registry.xml", rf"/<\/wso2registry>/e cat {reg}")  # GNU sed: before the line
    sh(node, f"rm -f {reg}")


def _python_node(node: Host, me: str, member: str, user: str) -> None:
    ax = f"{CONF}/axis2/axis2.xml"
    py_edit(node, ax, [
        ('enable="false">', 'enable="true">'),
        ('<parameter name="domain">wso2.carbon.domain</parameter>', '<parameter name="domain">wso2.ei.domain</parameter>'),
        ('<parameter name="localMemberHost">127.0.0.1</parameter>', f'<parameter name="localMemberHost">{me}</parameter>'),
        ("<hostName>127.0.0.1</hostName>\n                <port>4000</port>",
         f"<hostName>{member}</hostName>\n                <port>4100</port>"),
        ('<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
         f'<parameter name="WSDLEPRPrefix" locked="false">http://{CLUSTER}:80</parameter>'),
        ('<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
         f'<parameter name="WSDLEPRPrefix" locked="false">https://{CLUSTER}:443</parameter>'),
    ])
    py_edit(node, f"{CONF}/carbon.xml", [("<!--HostName>www.wso2.org</HostName-->", f"<HostName>{CLUSTER}</HostName>")])
    py_edit(node, f"{CONF}/user-mgt.xml", [('<Property name="dataSource">jdbc/WSO2CarbonDB</Property>',
                                            '<Property name="dataSource">jdbc/WSO2UMDB</Property>')])
    py_edit(node, f"{CONF}/tomcat/catalina-server.xml", [('port="9763"', 'port="9763"\n                proxyPort="80"'),
                                                          ('port="9443"', 'port="9443"\n                proxyPort="443"')])
    py_edit(node, f"{CONF}/registry.xml", [("</wso2registry>", registry_block(user) + "\n</wso2registry>")])
