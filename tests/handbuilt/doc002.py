"""Document 002 built by hand (EI 6.1.1 ESB profile: one manager and two
workers behind nginx, SVN deployment synchronizer), on a lab brought up from
params/ei-nginx-002.yaml (fresh homes, MariaDB, nginx, svnserve), in two
people's styles:

- ``sed``: sed one-liners on the shipped files (their comments kept), the two
  shared datasources appended to the shipped master-datasources.xml (the local
  registry stays in H2, as 002 allows), members by IP (the manager and worker
  1, as 002's "at least two well-known members"), 002's three vhost files
  (esb.http.conf, esb.https.conf, mgt.esb.https.conf) with their own
  certificates wrk.crt and mgt.crt; the SVN repository made with svnadmin;
- ``python``: python3 string edits over SSH, members by host name (each
  node's /etc/hosts names the other nodes), master-datasources.xml pasted
  whole (the shipped H2 datasource kept in it), vhost files of its own naming
  (wso2-esb-http.conf, and wso2-esb-https.conf holding both HTTPS server blocks,
  the services' and the console's, pasted one after the other) and the
  truststore alias `esb-lb` for the cluster's certificate.

It follows 002's values where they are right, and ERRATA where not (`listen
443 ssl`, E14; ip_hash, not NGINX Plus `sticky learn`, E15; localMemberHost
each node's own IP, E10; a 2048-bit key, E13; svn:// as the lab serves it)."""

from __future__ import annotations

import secrets as _secrets

from runbook_lib.params import Params
from runbook_lib.remote.host import Host

from . import doc004
from .doc004 import PROXY, datasource
from .person import put, py_edit, scratch, sed, sh

STYLES = ("sed", "python")
HOME = "/opt/wso2/wso2ei-6.1.1"
CONF = f"{HOME}/conf"
DBS = ("WSO2_USER_DB", "REGISTRY_DB")
DB_ALIAS, CLUSTER, MGT, DOMAIN = "carbondb.mysql-wso2.com", "esb.wso2.com", "mgt.esb.wso2.com", "wso2.esb.domain"
JAR = "/usr/share/java/mariadb-java-client.jar"
OPTS = "autoReconnect=true&amp;useSSL=false"


def shared_datasources(user: str, password: str) -> str:
    """The two shared datasources (names of "Setting up the Database"), to paste before </datasources>."""
    return "\n".join([datasource("WSO2_USER_DB", "jdbc/WSO2UMDB", "WSO2_USER_DB", user, password,
                                 "The datasource used for registry and user manager"),
                      datasource("REGISTRY_DB", "jdbc/WSO2RegistryDB", "REGISTRY_DB", user, password,
                                 "The datasource used for the shared config/governance registry")])


def registry_block(user: str, read_only: bool) -> str:
    return doc004.registry_block(user, read_only, doc='document 002, "Setting up the Database"')


def vhosts(mgr: str, w1: str, w2: str) -> dict[str, str]:
    """002's three vhosts, by 002's file names (E14, E15 applied)."""
    http = f"""upstream wso2.esb.com {{
        server {w1}:8280;
        server {w2}:8280;
        ip_hash;
}}

server {{
        listen 80;
        server_name {CLUSTER};
        location / {{
{PROXY}
               proxy_pass http://wso2.esb.com;
        }}
}}"""
    https = f"""upstream ssl.wso2.esb.com {{
    server {w1}:8243;
    server {w2}:8243;
    ip_hash;
}}

server {{
    listen 443 ssl;
    server_name {CLUSTER};
    ssl_certificate /etc/nginx/ssl/wrk.crt;
    ssl_certificate_key /etc/nginx/ssl/wrk.key;
    location / {{
{PROXY}
        proxy_pass https://ssl.wso2.esb.com;
        }}
}}"""
    mgt = f"""server {{
    listen 443 ssl;
    server_name {MGT};
    ssl_certificate /etc/nginx/ssl/mgt.crt;
    ssl_certificate_key /etc/nginx/ssl/mgt.key;
    location / {{
{PROXY}
        proxy_pass https://{mgr}:9443/;
    }}
    error_log  /var/log/nginx/mgt-error.log ;
           access_log  /var/log/nginx/mgt-access.log;
}}"""
    return {"esb.http.conf": http, "esb.https.conf": https, "mgt.esb.https.conf": mgt}


def build(p: Params, hosts: dict[str, Host], style: str, admin_password: str, svn_password: str) -> dict[str, str]:
    """Configure the lab's 002 cluster by hand in STYLE; returns the secrets the person chose."""
    assert style in STYLES
    addr = {h: str(p.hosts[h].address) for h in p.hosts}
    names = {v.role if v.role == "manager" else n: n for n, v in p.nodes.items()}
    mgr_h, w1_h, w2_h = (p.nodes[names[k]].host for k in ("manager", "worker1", "worker2"))
    mgr, w1, w2 = addr[mgr_h], addr[w1_h], addr[w2_h]
    db, lb = addr[p.database.host], addr[p.load_balancer.host]
    ds = p.deployment_sync
    user, password = "wso2carbon", "Hand-" + _secrets.token_hex(8)
    subnet = mgr.rsplit(".", 1)[0] + ".%"
    first = hosts[mgr_h]
    # 1. the databases, the user and its grants, the tables (from the manager, with the mysql client)
    mysql = f"mysql -h {db} -u {p.database.admin_user} -p'{admin_password}'"
    sql = "; ".join([f"CREATE DATABASE {d}" for d in DBS]
                    + [f"CREATE USER '{user}'@'{subnet}' IDENTIFIED BY '{password}'"]
                    + [f"GRANT ALL ON {d}.* TO '{user}'@'{subnet}'" for d in DBS])
    sh(first, f"{mysql} -e \"{sql}\"")
    for d in DBS:
        sh(first, f"{mysql} {d} < {HOME}/dbscripts/mysql.sql 2>/dev/null || {mysql} {d} < {HOME}/dbscripts/mysql5.7.sql")
    # 2. the SVN repository the synchronizer commits to (owned like /opt/svn: svnserve's account)
    svn = hosts[ds.host]
    sh(svn, "svnadmin create /opt/svn/esb && chown -R --reference=/opt/svn /opt/svn/esb", sudo=True)
    # 3. a certificate per name on the load balancer (002: "enter the host name as the common name"), each
    #    imported into every node's truststore
    lbh = hosts[p.load_balancer.host]
    for base, cn in (("wrk", CLUSTER), ("mgt", MGT)):
        sh(lbh, f"mkdir -p /etc/nginx/ssl && openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj '/CN={cn}' "
                f"-addext 'subjectAltName=DNS:{cn}' -keyout /etc/nginx/ssl/{base}.key -out /etc/nginx/ssl/{base}.crt "
                f"2>/dev/null && chmod 600 /etc/nginx/ssl/{base}.key", sudo=True)
    alias = {"wrk": "wrk" if style == "sed" else "esb-lb", "mgt": "mgt"}
    crts = {base: sh(lbh, f"cat /etc/nginx/ssl/{base}.crt", sudo=True) for base in ("wrk", "mgt")}
    # 4. each node: the manager first, then worker 1, then worker 2 (a copy of worker 1, its port changed)
    members = {mgr_h: [(w1, 4200)], w1_h: [(mgr, 4100)], w2_h: [(mgr, 4100), (w1, 4200)]}
    by_name = {mgr: mgr_h, w1: w1_h, w2: w2_h}
    ports = {mgr_h: 4100, w1_h: 4200, w2_h: 4300}
    for h in (mgr_h, w1_h, w2_h):
        node, me, manager = hosts[h], addr[h], h == mgr_h
        for base, crt in crts.items():
            path = scratch(node, f"{base}.crt")
            put(node, path, crt)
            sh(node, f"keytool -import -noprompt -trustcacerts -alias {alias[base]} -file {path} -keystore "
                     f"{HOME}/repository/resources/security/client-truststore.jks -storepass wso2carbon >/dev/null 2>&1; "
                     f"rm -f {path}")
        sh(node, f"cp {JAR} {HOME}/lib/")
        lines = [f"{db}\t{DB_ALIAS}", f"{lb}\t{CLUSTER} {MGT}"]
        if style == "python":  # the other nodes by name: the members are written by host name
            lines += [f"{addr[o]}\t{o}" for o in (mgr_h, w1_h, w2_h) if o != h]
            members[h] = [(by_name[a], pt) for a, pt in members[h]]
        sh(node, "printf '%s\\n' " + " ".join(f"'{x}'" for x in lines) + " | sudo tee -a /etc/hosts >/dev/null")
        if not manager:  # 002's tip: an empty deployment/server on a worker, to avoid SVN conflicts
            sh(node, f"rm -rf {HOME}/repository/deployment/server && mkdir {HOME}/repository/deployment/server")
        edit = _sed_node if style == "sed" else _python_node
        edit(node, me, ports[h], members[h], manager, user, password, f"svn://{addr[ds.host]}/esb", ds.user, svn_password)
    # 5. nginx
    files = vhosts(mgr, w1, w2)
    if style == "python":  # both HTTPS server blocks in one file of this person's naming
        files = {"wso2-esb-http.conf": files["esb.http.conf"],
                 "wso2-esb-https.conf": files["esb.https.conf"] + "\n\n" + files["mgt.esb.https.conf"]}
    for name, text in files.items():
        put(lbh, f"/etc/nginx/conf.d/{name}", text, sudo=True)
    sh(lbh, "nginx -t 2>&1 && nginx -s reload", sudo=True)
    return {"DB_APP_PASSWORD": password}


def _sed_node(node: Host, me: str, port: int, members: list[tuple[str, int]], manager: bool, user: str,
              password: str, svn_url: str, svn_user: str, svn_password: str) -> None:
    ax = f"{CONF}/axis2/axis2.xml"
    sub = "mgt" if manager else "worker"
    member_lines = [x for h, pt in members for x in ("            <member>", f"                <hostName>{h}</hostName>",
                                                     f"                <port>{pt}</port>", "            </member>")]
    sed(node, ax,
        '/<clustering class=/,/enable=/s|enable="false">|enable="true">|',
        f's|<parameter name="domain">wso2.carbon.domain</parameter>|<parameter name="domain">{DOMAIN}</parameter>|',
        f's|<parameter name="localMemberHost">127.0.0.1</parameter>|<parameter name="localMemberHost">{me}</parameter>|',
        f's|<parameter name="localMemberPort">4100</parameter>|<parameter name="localMemberPort">{port}</parameter>|',
        f's|<!--property name="subDomain" value="{sub}"/-->|<property name="subDomain" value="{sub}"/>|',
        r's|<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->|'
        r'<parameter name="WSDLEPRPrefix" locked="false">PREFIX</parameter>|')
    if manager:  # 002's mgt subDomain sits in the shipped port-mapping comment: close the comment before it
        sed(node, ax, 's|<property name="subDomain" value="mgt"/-->|-->\\n            <property name="subDomain" value="mgt"/>|')
    sed(node, ax, f'0,/>PREFIX</s|>PREFIX<|>http://{CLUSTER}:80<|', f's|>PREFIX<|>https://{CLUSTER}:443<|')
    sed(node, ax, r'/^ *<members>/,/^ *<\/members>/{/^ *<members>/!{/^ *<\/members>/!d}}',
        '/^ *<members>/a\\\n' + '\\\n'.join(member_lines))
    cx = f"{CONF}/carbon.xml"
    sed(node, cx, f's|<!--HostName>www.wso2.org</HostName-->|<HostName>{CLUSTER}</HostName>|')
    if manager:
        sed(node, cx, f's|<!--MgtHostName>mgt.wso2.org</MgtHostName-->|<MgtHostName>{MGT}</MgtHostName>|')
    sed(node, cx, '/^    <DeploymentSynchronizer>/,/<\\/DeploymentSynchronizer>/{'
                  's|<Enabled>false</Enabled>|<Enabled>true</Enabled>|;'
                  f's|<AutoCommit>false</AutoCommit>|<AutoCommit>{str(manager).lower()}</AutoCommit>|;'
                  f's|<SvnUrl>.*</SvnUrl>|<SvnUrl>{svn_url}</SvnUrl>|;'
                  f's|<SvnUser>.*</SvnUser>|<SvnUser>{svn_user}</SvnUser>|;'
                  f's|<SvnPassword>.*</SvnPassword>|<SvnPassword>{svn_password}</SvnPassword>|}}')
    sed(node, f"{CONF}/user-mgt.xml",
        's|<Property name="dataSource">jdbc/WSO2CarbonDB</Property>|<Property name="dataSource">jdbc/WSO2UMDB</Property>|')
    sed(node, f"{CONF}/tomcat/catalina-server.xml", 's|port="9763"|port="9763" proxyPort="80"|',
        's|port="9443"|port="9443" proxyPort="443"|')
    ds, reg = scratch(node, "ds-block.xml"), scratch(node, "registry-block.xml")
    put(node, ds, shared_datasources(user, password))
    sed(node, f"{CONF}/datasources/master-datasources.xml", rf"/<\/datasources>/e cat {ds}")
    put(node, reg, registry_block(user, read_only=not manager))
    sed(node, f"{CONF}/registry.xml", rf"/<\/wso2registry>/e cat {reg}")
    sh(node, f"rm -f {ds} {reg}")


def _python_node(node: Host, me: str, port: int, members: list[tuple[str, int]], manager: bool, user: str,
                 password: str, svn_url: str, svn_user: str, svn_password: str) -> None:
    ax = f"{CONF}/axis2/axis2.xml"
    member_xml = "".join(f"""
            <member>
                <hostName>{h}</hostName>
                <port>{pt}</port>
            </member>""" for h, pt in members)
    edits = [('enable="false">', 'enable="true">'),
             ('<parameter name="domain">wso2.carbon.domain</parameter>', f'<parameter name="domain">{DOMAIN}</parameter>'),
             ('<parameter name="localMemberHost">127.0.0.1</parameter>', f'<parameter name="localMemberHost">{me}</parameter>'),
             ('<parameter name="localMemberPort">4100</parameter>', f'<parameter name="localMemberPort">{port}</parameter>'),
             ("<members>\n            <member>\n                <hostName>127.0.0.1</hostName>\n"
              "                <port>4000</port>\n            </member>", "<members>" + member_xml),
             ('<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
              f'<parameter name="WSDLEPRPrefix" locked="false">http://{CLUSTER}:80</parameter>'),
             ('<!--parameter name="WSDLEPRPrefix" locked="false">https://apachehost:port/somepath</parameter-->',
              f'<parameter name="WSDLEPRPrefix" locked="false">https://{CLUSTER}:443</parameter>')]
    edits.append(('<property name="subDomain" value="mgt"/-->', '-->\n            <property name="subDomain" value="mgt"/>')
                 if manager else ('<!--property name="subDomain" value="worker"/-->', '<property name="subDomain" value="worker"/>'))
    py_edit(node, ax, edits)
    cx = [("<!--HostName>www.wso2.org</HostName-->", f"<HostName>{CLUSTER}</HostName>"),
          ("<DeploymentSynchronizer>\n        <Enabled>false</Enabled>\n        <AutoCommit>false</AutoCommit>",
           f"<DeploymentSynchronizer>\n        <Enabled>true</Enabled>\n        <AutoCommit>{str(manager).lower()}</AutoCommit>"),
          ("<SvnUrl>http://svnrepo.example.com/repos/</SvnUrl>", f"<SvnUrl>{svn_url}</SvnUrl>"),
          ("<SvnUser>username</SvnUser>", f"<SvnUser>{svn_user}</SvnUser>"),
          ("<SvnPassword>password</SvnPassword>", f"<SvnPassword>{svn_password}</SvnPassword>")]
    if manager:
        cx.append(("<!--MgtHostName>mgt.wso2.org</MgtHostName-->", f"<MgtHostName>{MGT}</MgtHostName>"))
    py_edit(node, f"{CONF}/carbon.xml", cx)
    py_edit(node, f"{CONF}/user-mgt.xml", [('<Property name="dataSource">jdbc/WSO2CarbonDB</Property>',
                                            '<Property name="dataSource">jdbc/WSO2UMDB</Property>')])
    py_edit(node, f"{CONF}/tomcat/catalina-server.xml", [('port="9763"', 'port="9763"\n                proxyPort="80"'),
                                                          ('port="9443"', 'port="9443"\n                proxyPort="443"')])
    put(node, f"{CONF}/datasources/master-datasources.xml", DATASOURCES_HEAD + shared_datasources(user, password)
        + "\n    </datasources>\n</datasources-configuration>")
    py_edit(node, f"{CONF}/registry.xml", [("</wso2registry>", registry_block(user, read_only=not manager)
                                            + "\n</wso2registry>")])


# master-datasources.xml as this person pastes it: the shipped H2 datasource (the local registry), then the two
DATASOURCES_HEAD = """<datasources-configuration xmlns:svns="http://org.wso2.securevault/configuration">
    <providers>
        <provider>org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader</provider>
    </providers>
    <datasources>
        <datasource>
            <name>WSO2_CARBON_DB</name>
            <description>The datasource used for registry and user manager</description>
            <jndiConfig>
                <name>jdbc/WSO2CarbonDB</name>
            </jndiConfig>
            <definition type="RDBMS">
                <configuration>
                    <url>jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000</url>
                    <username>wso2carbon</username>
                    <password>wso2carbon</password>
                    <driverClassName>org.h2.Driver</driverClassName>
                    <maxActive>50</maxActive>
                    <maxWait>60000</maxWait>
                    <testOnBorrow>true</testOnBorrow>
                    <validationQuery>SELECT 1</validationQuery>
                    <validationInterval>30000</validationInterval>
                    <defaultAutoCommit>false</defaultAutoCommit>
                </configuration>
            </definition>
        </datasource>
"""
