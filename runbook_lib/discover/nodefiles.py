"""Reading one node's configuration files into values with their provenance.

The files are those the runbook manages (the product spec's ``files``):
axis2.xml, carbon.xml, catalina-server.xml, master-datasources.xml,
registry.xml, user-mgt.xml and, on a broker, broker.xml and qpid-config.xml.
Each read once over SFTP; nothing is written.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ..products import BROKER_PROFILE, DEFAULT_PROFILE, ProductSpec
from ..core.errors import RunbookError
from ..remote.host import Host
from ..sections.shared.namespaces import CARBON_NS
from .found import Found, Problem, XmlFile
from .homes import Home, profile_in_service

C = "/axisconfig/clustering"
PROPS = C + "/parameter[@name='properties']/property"
S = "/c:Server"
DS = S + "/c:DeploymentSynchronizer"
FILE_KEYS = ("axis2", "carbon", "catalina", "datasources", "registry", "user_mgt")
BROKER_KEYS = ("broker", "qpid")


@dataclass
class Datasource:
    name: Found
    jndi: Found
    url: Found
    user: Found
    password: Found  # the value as written (clear text, or the vault alias)
    vault_alias: str = ""  # svns:secretAlias / secretAlias, when the password is under Secure Vault


@dataclass
class NodeFacts:
    home: Home
    spec: ProductSpec
    files: dict[str, XmlFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw: dict[str, bytes | None] = field(default_factory=dict)  # files that are not XML (the ELB's loadbalancer.conf)

    # -- clustering (axis2.xml) --------------------------------------------
    def param(self, name: str) -> Found | None:
        return self.files["axis2"].one(f"{C}/parameter[@name='{name}']")

    @property
    def clustering_enabled(self) -> Found | None:
        return self.files["axis2"].one(f"{C}/@enable")

    @property
    def agent(self) -> Found | None:
        return self.files["axis2"].one(f"{C}/@class")

    @property
    def sub_domain(self) -> Found | None:
        return self.files["axis2"].one(f"{PROPS}[@name='subDomain']/@value")

    def members(self) -> list[tuple[Found, Found]]:
        ax = self.files["axis2"]
        return [(ax.found(m, "hostName"), ax.found(m, "port")) for m in ax.elements(f"{C}/members/member")
                if ax.found(m, "hostName") and ax.found(m, "port")]

    # -- carbon.xml ----------------------------------------------------------
    def carbon(self, rel: str) -> Found | None:
        return self.files["carbon"].one(f"{S}/{rel}")

    def depsync(self, tag: str) -> Found | None:
        return self.files["carbon"].one(f"{DS}/c:{tag}")

    # -- catalina-server.xml -------------------------------------------------
    def proxy_port(self, connector: str) -> Found | None:
        return self.files["catalina"].one(f"//Connector[@port='{connector}']/@proxyPort")

    # -- datasources, registry, user store ----------------------------------
    def datasources(self) -> list[Datasource]:
        f = self.files["datasources"]
        out = []
        for el in f.elements("/datasources-configuration/datasources/datasource"):
            cfg = "definition/configuration/"
            pw = el.xpath(cfg + "password")
            alias = ""
            if pw:
                alias = next((v for k, v in pw[0].attrib.items() if k.endswith("secretAlias")), "")
            empty = Found("", f.host, f.path, el.sourceline)
            out.append(Datasource(f.found(el, "name") or empty, f.found(el, "jndiConfig/name") or empty,
                                  f.found(el, cfg + "url") or empty, f.found(el, cfg + "username") or empty,
                                  f.found(el, cfg + "password") or empty, alias))
        return out

    def datasource_by_jndi(self, jndi: str) -> Datasource | None:
        return next((d for d in self.datasources() if d.jndi.value == jndi), None)

    @property
    def user_store_jndi(self) -> Found | None:
        return self.files["user_mgt"].one("/UserManager/Realm/Configuration/Property[@name='dataSource']")

    def registry(self, rel: str) -> Found | None:
        return self.files["registry"].one(f"/wso2registry/{rel}")

    def mounts(self) -> list[tuple[str, Found, Found]]:
        """(path, instanceId, targetPath) of every mount."""
        r = self.files["registry"]
        return [(m.get("path", ""), r.found(m, "instanceId"), r.found(m, "targetPath"))
                for m in r.elements("/wso2registry/mount")]

    # -- broker.xml -----------------------------------------------------------
    def broker(self, xpath: str) -> Found | None:
        f = self.files.get("broker")
        return f.one(xpath) if f else None

    def qpid(self, xpath: str) -> Found | None:
        f = self.files.get("qpid")
        return f.one(xpath) if f else None

    def ports_claimed(self) -> set[int]:
        """The ports this home listens on: the spec's + Offset, and its localMemberPort."""
        off = self.carbon("c:Ports/c:Offset")
        try:
            offset = int(off.value) if off else self.spec.default_offset
        except ValueError:
            offset = self.spec.default_offset
        ports = {p + offset for p in self.spec.ports.values()}
        lmp = self.param("localMemberPort")
        if lmp and lmp.value.isdigit() and (self.clustering_enabled or Found("")).value == "true":
            ports.add(int(lmp.value))
        return ports


def _read(h: Host, home: Home, spec: ProductSpec, keys: tuple[str, ...], problems: list[Problem]) -> dict[str, XmlFile]:
    out = {}
    for key in keys:
        path = posixpath.join(home.path, spec.conf(key))
        try:
            data = h.read_file(path)
        except (OSError, RunbookError) as e:  # permission denied: reported, the rest still read
            data = None
            problems.append(Problem(f"{home.host}:{path}", f"cannot be read ({e})",
                                    "make it readable by the SSH user (discover reads, never writes)"))
        ns = CARBON_NS if key == "carbon" else None
        f = XmlFile.parse(home.host, path, data, ns)
        if not f.ok and not any(p.where.endswith(path) for p in problems):
            problems.append(Problem(f"{home.host}:{path}", f.error, "fix or restore the file on the node"))
        out[key] = f
    return out


def read_node(h: Host, home: Home) -> NodeFacts:
    """The node a home runs: the profile in service (EI: integrator or broker) and its files."""
    problems: list[Problem] = []
    profile = DEFAULT_PROFILE
    if BROKER_PROFILE in home.profiles:
        enabled = {}
        for prof in home.profiles:
            sp = home.spec(prof)
            data = _safe(h, posixpath.join(home.path, sp.conf("axis2")))
            f = XmlFile.parse(home.host, "", data)
            enabled[prof] = bool(f.ok and (f.one(f"{C}/@enable") or Found("")).value == "true")
        profile = profile_in_service(enabled)
    spec = home.spec(profile)
    keys = FILE_KEYS + (BROKER_KEYS if profile == BROKER_PROFILE else ())
    files = _read(h, home, spec, keys, problems)
    raw = {}
    if spec.product == "elb":  # an ELB home needs only these two; loadbalancer.conf is read as text
        must = [posixpath.join(home.path, spec.conf(k)) for k in ("axis2", "carbon")]
        problems = [p for p in problems if any(p.where.endswith(m) for m in must)]
        raw["lbconf"] = _safe(h, posixpath.join(home.path, spec.conf("lbconf")))
        raw["passthru"] = _safe(h, posixpath.join(home.path, spec.conf("passthru")))
    return NodeFacts(home, spec, files, problems, raw)


def _safe(h: Host, path: str) -> bytes | None:
    try:
        return h.read_file(path)
    except (OSError, RunbookError):
        return None
