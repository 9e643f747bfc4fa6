"""Which secrets are secured on a node, under which alias, and their values.

The aliases and places are the product's own: the cipher-tool.properties
that EI 6.1.1 ships for each profile (product-ei v6.1.1
distribution/src/conf/security/cipher-tool.properties for the integrator,
distribution/src/broker/conf/cipher-tool.properties for the broker; Carbon
4.x products ship the same lines under repository/conf in cipher-tool
1.0.0-wso2v3's conf/cipher-tool.properties). The runbook's own datasources
follow the product's pattern `Datasources.<NAME>.Configuration.Password`
(ndatasource resolves an svns:secretAlias on any element of a definition,
carbon-kernel v4.4.16 DataSourceUtils.secureLoadElement); carbon.xml's
SvnPassword is `Carbon.DeploymentSynchronizer.SvnPassword`, the name
ServerConfiguration asks the resolver for ("Carbon." + the element path,
carbon-kernel v4.4.16 ServerConfiguration.isProtectedToken).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.context import Run
from ...params import NodeView
from ..shared.namespaces import CARBON_NS

KEYSTORE, KEY, TRUSTSTORE, APP_DB, SVN, AS_FOUND = "keystore", "key", "truststore", "app_db", "svn", "as found"


@dataclass(frozen=True)
class Secured:
    """One secret: its alias, the spec's file key, the XPath the runbook edits
    (CARBON_NS for carbon.xml), the XPath cipher-tool.properties writes, the
    attribute holding it (else the element's text), where its value comes
    from, and whether this package writes the element (else datasources.py
    or clustering.py do, with the same marks)."""

    alias: str
    key: str
    xpath: str
    tool_xpath: str
    attr: str | None
    source: str
    ours: bool = True

    @property
    def namespaces(self) -> dict[str, str] | None:
        return CARBON_NS if self.key == "carbon" else None


C = "/c:Server/c:Security"
_CARBON = [
    Secured("Carbon.Security.KeyStore.Password", "carbon", f"{C}/c:KeyStore/c:Password",
            "//Server/Security/KeyStore/Password", None, KEYSTORE),
    Secured("Carbon.Security.KeyStore.KeyPassword", "carbon", f"{C}/c:KeyStore/c:KeyPassword",
            "//Server/Security/KeyStore/KeyPassword", None, KEY),
]
_TRUST = Secured("Carbon.Security.TrustStore.Password", "carbon", f"{C}/c:TrustStore/c:Password",
                 "//Server/Security/TrustStore/Password", None, TRUSTSTORE)
_ADMIN = Secured("UserManager.AdminUser.Password", "user_mgt", "/UserManager/Realm/Configuration/AdminUser/Password",
                 "//UserManager/Realm/Configuration/AdminUser/Password", None, AS_FOUND)
_CATALINA = Secured("Server.Service.Connector.keystorePass", "catalina", "/Server/Service/Connector[@keystorePass]",
                    "//Server/Service/Connector[@keystorePass]", "keystorePass", KEYSTORE)
SVN_ALIAS = "Carbon.DeploymentSynchronizer.SvnPassword"


def datasource_alias(name: str) -> str:
    return f"Datasources.{name}.Configuration.Password"


def datasource_secured(name: str) -> Secured:
    return Secured(datasource_alias(name), "datasources", "", "//datasources-configuration/datasources/datasource"
                   f"[name='{name}']/definition[@type='RDBMS']/configuration/password", None, APP_DB, ours=False)


def _broker_ssl() -> list[Secured]:
    out = []
    for transport in ("amqp", "mqtt"):
        for store, source in (("keyStore", KEYSTORE), ("trustStore", TRUSTSTORE)):
            path = f"/broker/transports/{transport}/sslConnection/{store}/password"
            out.append(Secured(f"transports.{transport}.sslConnection.{store}.password", "broker", path,
                               "/" + path, None, source))
    return out


def enabled(run: Run) -> bool:
    return run.params.securevault.enabled


def node_secrets(run: Run, v: NodeView, datasource_names: list[str]) -> list[Secured]:
    """Every secret secured on node V (DATASOURCE_NAMES: the datasources 04/07 write there)."""
    p = run.params
    out = list(_CARBON)
    out += [_TRUST, _ADMIN, _CATALINA]
    ds = p.deployment_sync
    if ds.kind == "svn" and ds.password and v.node.role in ("manager", "worker"):
        out.append(Secured(SVN_ALIAS, "carbon", "", "//Server/DeploymentSynchronizer/SvnPassword", None, SVN,
                           ours=False))
    out += [datasource_secured(n) for n in datasource_names]
    if "broker" in v.spec.files:
        out += _broker_ssl()
    # without a certificates section the params name no truststore password: those stay as shipped
    return [s for s in out if s.source != TRUSTSTORE or p.certificates]


def value(run: Run, s: Secured) -> str | None:
    """The plain value of S from the params' secrets (None: as found on the node)."""
    p, sv = run.params, run.params.securevault
    if s.source == KEYSTORE:
        return run.secret(sv.keystore_password.secret)  # type: ignore[union-attr]
    if s.source == KEY:
        return run.secret((sv.key_password or sv.keystore_password).secret)  # type: ignore[union-attr]
    if s.source == TRUSTSTORE:
        return run.secret(p.certificates.truststore_password.secret)  # type: ignore[union-attr]
    if s.source == APP_DB:
        return run.secret(p.database.app_password.secret)  # type: ignore[union-attr]
    if s.source == SVN:
        return run.secret(p.deployment_sync.password.secret)  # type: ignore[union-attr]
    return None
