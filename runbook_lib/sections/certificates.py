"""02 certificates: what notebooks/02_certificates.ipynb calls. A key and
certificate per host name on the load balancer host, the HTTPS vhosts that
use them, and the load balancer's certificates in every node's
client-truststore.jks. Its parts: tls/ (and lb/ for the vhosts)."""
from __future__ import annotations

from ..core.context import Run
from ..core.step import Checks, Plan
from .lb.balancer import Backends
from .tls import certs, truststore


def plan_certificates(run: Run) -> Plan:
    """A key and certificate per host name; a valid certificate is never remade."""
    return certs.plan_certificates(run)


def plan_tls_vhosts(run: Run) -> Plan:
    """The HTTPS vhosts (workers with affinity; the management name to the manager)."""
    return certs.plan_tls_vhosts(run)


def verify_tls(run: Run) -> Checks:
    """Each name served with its own certificate, through nginx."""
    return certs.verify_tls(run)


def https_backends(run: Run) -> Backends:
    """Information: whether the HTTPS vhosts' backends accept connections."""
    return certs.https_backends(run)


def plan_truststores(run: Run) -> Plan:
    """The load balancer's certificates imported into each node's truststore."""
    return truststore.plan_truststores(run)


def verify_truststores(run: Run) -> Checks:
    """Each node's truststore holds each certificate under its alias."""
    return truststore.verify_truststores(run)
