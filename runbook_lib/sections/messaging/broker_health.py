"""07 · The message store's health as each broker reports it (003 "Testing the
cluster": the Node List shows "Message Store Health: Healthy").

What the console's Node List reads: the `StoreHealth` attribute of andes'
`org.wso2.andes:type=ClusterManagementInformation` MBean (carbon-business-messaging
`org.wso2.carbon.andes.cluster.mgt.internal.managementBeans.ClusterManagementBeans.getExceptionStringValue`),
which is andes' `UIStoreHealthListener`: empty while the MB store is operational,
`exception.toString()` of the failure once a store operation failed
(`FailureObservingStoreManager` tells it; `storeOperational` clears it again). The
page prints `Message Store Health : Healthy` for the empty value (CARBON-RUNTIME.md);
anything else is the broker saying its store is broken.

This reads the same page, as an operator would: it logs in to each broker's console
(HTTPS, 9443 + Offset, on the node's address) with the admin user of the node's own
user-mgt.xml (read over SSH; the password is never shown) and reads the line. It
uses only what a real node exposes."""

from __future__ import annotations

import html
import http.client
import re
import urllib.parse

from ...configedit import get_values
from ...core.context import Run
from ...core.step import Check, Checks
from ...params import NodeView
from .broker_files import nodes
from ..securevault.vaultfiles import revealed
from ..shared.filestep import per_node
from ...facts.tls import unverified_context

NODE_LIST = "/carbon/andes-cluster-mgt/nodesList.jsp"
HEALTH = re.compile(r"Message Store Health\s*:\s*([^<\n]*)")
FIX = ("the broker cannot use its MB store (WSO2_MB_STORE_DB in its master-datasources.xml): check that the "
       "database answers and that the datasource's URL, user and password are right (03, 07), then look for "
       "the store's ERROR lines in the broker's wso2carbon.log")


def _admin(run: Run, v: NodeView) -> tuple[str, str] | str:
    """The console's admin user and password from V's user-mgt.xml, or why not."""
    data = run.host(v.host_name).read_file(v.file("user_mgt"))
    if not data:
        return f"cannot read {v.file('user_mgt')}"
    user = get_values(data, "//AdminUser/UserName")
    password = get_values(data, "//AdminUser/Password")
    alias = get_values(data, "//AdminUser/Password/@*[local-name()='secretAlias']")
    if alias:  # in Secure Vault (issue 19): what the node itself decrypts
        password = [p for p in [revealed(run, v, alias[0])] if p]
        if not password:
            return f"the admin password's cipher text ({alias[0]}) does not decrypt with the node's key (07 re-encrypts it)"
    return (user or ["admin"])[0], (password or ["admin"])[0]


def _conn(addr: str, port: int) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(addr, port, timeout=15, context=unverified_context())  # the node's own


def read_health(addr: str, port: int, user: str, password: str) -> str:
    """Log in to the console and read the Node List's store health line (or what went wrong)."""
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    conn = _conn(addr, port)
    try:
        conn.request("POST", "/carbon/admin/login_action.jsp", body=form,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        cookie = (r.getheader("Set-Cookie") or "").split(";", 1)[0]
        if "loginStatus=false" in (r.getheader("Location") or "") or not cookie:
            return "console login refused for the admin user of user-mgt.xml"
        conn.request("GET", NODE_LIST, headers={"Cookie": cookie})
        r = conn.getresponse()
        page = r.read().decode("utf-8", "replace")
    except OSError as e:
        return f"console not reachable: {e}"
    finally:
        conn.close()
    m = HEALTH.search(page)
    return html.unescape(m.group(1)).strip() if m else f"no store health line on the Node List (HTTP {r.status})"


def store_health(run: Run) -> Checks:
    """Every broker's Node List says its message store is Healthy."""
    def one(v: NodeView) -> list[Check]:
        admin = _admin(run, v)
        port = v.ports["https"]
        found = admin if isinstance(admin, str) else read_health(v.address, port, *admin)
        return [Check(v.host_name, f"{v.name}: Message Store Health (console Node List, {v.address}:{port})",
                      "Healthy", found, found == "Healthy", FIX)]
    return Checks("07 message store health, as each broker reports it", per_node(nodes(run), one))
