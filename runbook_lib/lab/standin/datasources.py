"""master-datasources.xml: every RDBMS datasource, and the start-up checks a
real node makes on them: the names registry.xml and user-mgt.xml use must be
defined, the JDBC driver jar must be in the lib directory, and a MySQL
datasource must connect with its own URL, user and password (a real
connection to the lab's MariaDB, with pymysql)."""

from __future__ import annotations

import re
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import pymysql
import pymysql.connections

from . import securevault
from .config import _local, find, parse, referenced_datasources, text
from .errors import Stalled, StartupError

NDS = "org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader"
BUNDLED = {"org.h2.Driver"}  # shipped inside the product
_URL = re.compile(r"jdbc:(mysql|mariadb)://([^/:?]+)(?::(\d+))?/([^?]*)(?:\?(.*))?$")


@dataclass
class DataSource:
    name: str
    jndi: str | None
    url: str
    user: str
    password: str
    driver: str
    host: str | None = None
    port: int = 3306
    database: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def read(conf: Path, vault: dict[str, str] | None = None) -> dict[str, DataSource]:
    """Every datasource; a value with svns:secretAlias from the vault (DataSourceUtils.secureLoadElement)."""
    root = parse(conf / "datasources" / "master-datasources.xml", "org.wso2.carbon.ndatasource.core.DataSourceRepository")
    found: dict[str, DataSource] = {}
    dss = next((c for c in root if isinstance(c.tag, str) and _local(c.tag) == "datasources"), None)
    for ds in dss if dss is not None else []:
        if not (isinstance(ds.tag, str) and _local(ds.tag) == "datasource"):
            continue
        name = text(ds, "name", default="") or ""
        cfg = next((e for e in ds.iter() if isinstance(e.tag, str) and _local(e.tag) == "configuration"), None)
        if cfg is None:
            continue
        props = {}
        for e in cfg.iter():
            if isinstance(e.tag, str) and _local(e.tag) == "property" and e.get("name"):
                props[e.get("name")] = (e.text or "").strip()
        url = text(cfg, "url", default=props.get("url", "")) or ""
        d = DataSource(name=name, jndi=text(ds, "jndiConfig", "name"), url=url,
                       user=text(cfg, "username", default=props.get("user", "")) or "",
                       password=securevault.resolve(find(cfg, "password"), vault) or props.get("password", ""),
                       driver=text(cfg, "driverClassName", default="") or "")
        m = _URL.match(url)
        if m:
            d.host, d.port, d.database = m.group(2), int(m.group(3) or 3306), m.group(4)
            d.params = dict(parse_qsl(m.group(5) or "", keep_blank_values=True))
        found[name] = d
    return found


def lookup(sources: dict[str, DataSource], name: str) -> DataSource | None:
    """By datasource name or JNDI name (registry.xml and user-mgt.xml use the JNDI name)."""
    if name in sources:
        return sources[name]
    return next((d for d in sources.values() if d.jndi == name), None)


def check_references(conf: Path, sources: dict[str, DataSource]) -> None:
    for file, jndi in referenced_datasources(conf):
        if lookup(sources, jndi) is None:
            logger = ("org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent" if file == "registry.xml"
                      else "org.wso2.carbon.user.core.internal.Activator")
            raise StartupError(f"Error in looking up data source: {jndi} (named in {conf / file}; "
                               f"no datasource in {conf / 'datasources' / 'master-datasources.xml'} has that JNDI name) "
                               f"javax.naming.NameNotFoundException: Name [{jndi.removeprefix('jdbc/')}] is not bound in this Context",
                               logger)


POOL = "org.apache.tomcat.jdbc.pool.ConnectionPool"
POOL_FAILED = "Unable to create initial connections of pool."


def has_class(lib: Path, cls: str) -> bool:
    """A jar in LIB holds the class: Carbon loads the driver by class name from the
    bundles it makes of every lib jar at start-up, whatever the jar is called
    (carbon-kernel v4.4.16 core/org.wso2.carbon.server/.../extensions/DefaultBundleCreator.java;
    SOURCES.md row D3)."""
    entry = cls.replace(".", "/") + ".class"
    for jar in sorted(lib.glob("*.jar")) if lib.is_dir() else []:
        try:
            with zipfile.ZipFile(jar) as z:
                if entry in z.namelist():
                    return True
        except (OSError, zipfile.BadZipFile):
            continue
    return False


def check_driver(d: DataSource, lib: Path) -> None:
    """The pool is made lazily; a missing driver class surfaces as tomcat-jdbc's
    pool error with the ClassNotFoundException, no datasource named (rows D1, D3)."""
    if not d.url.startswith("jdbc:") or d.driver in BUNDLED or d.url.startswith("jdbc:h2:"):
        return
    if not d.driver or not has_class(lib, d.driver):
        raise Stalled(POOL_FAILED, POOL, f"java.sql.SQLException: {d.driver}\n"
                      f"Caused by: java.lang.ClassNotFoundException: {d.driver}")


class _Connection(pymysql.connections.Connection):
    """pymysql's connection, its default mode's SSL context (TLS when the
    server offers it) made once per process rather than per connection
    (each loads the CA bundle: about 20 ms of CPU). What the server sees is
    unchanged. The runbook's own connections do the same (remote/db.py); the
    stand-in imports nothing from the runbook."""

    _shared: list = []

    def _create_ssl_ctx(self, sslp):  # noqa: ANN001, ANN202
        if sslp != {}:
            return super()._create_ssl_ctx(sslp)
        with _SSL_LOCK:
            if not self._shared:
                self._shared.append(super()._create_ssl_ctx({}))
            return self._shared[0]


_SSL_LOCK = threading.Lock()


def connect(d: DataSource, timeout: float = 5.0):
    if d.host is None:
        raise StartupError(f"Error in creating data source [{d.name}]: unsupported URL {d.url}", NDS)
    return _Connection(host=d.host, port=d.port, user=d.user, password=d.password, database=d.database or None,
                           connect_timeout=timeout, autocommit=True)


def check_connect(d: DataSource) -> None:
    """A datasource that cannot connect: tomcat-jdbc's "Unable to create initial
    connections of pool." with the driver's own message on the next line; the
    datasource is not named and the process stays up without "WSO2 Carbon started"
    (carbon-kernel v4.4.16 core/org.wso2.carbon.ndatasource.rdbms/.../RDBMSDataSource.java,
    utils/RDBMSDataSourceUtils.java; SOURCES.md rows D1-D2)."""
    if d.host is None:
        return  # H2 and other embedded URLs: nothing to connect to
    try:
        connect(d).close()
    except pymysql.err.MySQLError as e:
        code, msg = (e.args + ("",))[:2] if e.args else ("", str(e))
        raise Stalled(POOL_FAILED, POOL, f"java.sql.SQLException: {msg}") from None
