"""Section 02: keys and certificates made on the lab's load balancer host,
the HTTPS vhosts, TLS handshakes through nginx, and keytool on the nodes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import runbook_lib as rb
from runbook_lib.sections.tls import certs as certificates, truststore
from runbook_lib.sections.lb import balancer as loadbalancer
from runbook_lib.sections.lb import nginx_conf
from runbook_lib.sections.lb.nginx_site import served_vhost
from runbook_lib.facts.tls import fingerprint, served_fingerprint, split_pem

from .conftest import ROOT
from .nbrun import papermill
from .test_section_load_balancer import conf_d_state, echo_listeners, open_lab_run, sha

pytestmark = pytest.mark.lab
SCRATCH = "/tmp/rbtest-ssl"  # on the LB host: certificates made here never touch nginx


@pytest.fixture()
def run(lab):
    r = open_lab_run()
    loadbalancer.plan_load_balancer(r).apply()
    certificates.plan_certificates(r).apply()
    certificates.plan_tls_vhosts(r).apply()
    truststore.plan_truststores(r).apply()
    yield r
    r.close()


def scratch_run(tmp_path: Path, **certs) -> rb.Run:
    """The lab params with ssl_dir in a scratch directory of the LB host."""
    raw = yaml.safe_load((ROOT / "params/lab.yaml").read_text())
    raw["load_balancer"]["ssl_dir"] = SCRATCH
    raw["certificates"].update(certs)
    f = tmp_path / f"scratch-{len(list(tmp_path.iterdir()))}.yaml"
    f.write_text(yaml.safe_dump(raw))
    return rb.open_run(f, apply=True)


def test_preview_apply_idempotent_and_renewal_in_a_scratch_dir(lab, lab_hosts, tmp_path) -> None:
    lb = lab_hosts["lb"]
    lb.run("rm -rf %s", SCRATCH, sudo=True)
    r = scratch_run(tmp_path)
    try:
        report = certificates.plan_certificates(r).preview()
        assert [c.changed for c in report.changes] == [True, True]
        assert "no private key; no certificate" in report.changes[0].summary
        assert any("rsa_keygen_bits:2048" in cmd for cmd in report.changes[0].commands)
        assert not lb.run("test -e %s", SCRATCH, sudo=True).ok  # the preview made nothing

        assert len(certificates.plan_certificates(r).apply().changed) == 2
        key, crt = f"{SCRATCH}/esb.wso2.com.key", f"{SCRATCH}/esb.wso2.com.crt"
        assert lb.file(key, sudo=True).stat() == {"owner": "root", "group": "root", "mode": "600"}
        text = lb.check("openssl x509 -in %s -noout -text", crt, sudo=True).stdout
        assert "DNS:esb.wso2.com" in text and "Public-Key: (2048 bit)" in text and "CA:FALSE" in text
        assert lb.check("openssl req -in %s -noout -verify 2>&1", f"{SCRATCH}/esb.wso2.com.csr", sudo=True).ok

        before = {p: sha(lb, p) for p in (key, crt)}
        again = certificates.plan_certificates(r).apply()
        assert not again.changed and "valid: RSA 2048, SAN esb.wso2.com, self-signed" in again.changes[0].summary
        assert {p: sha(lb, p) for p in (key, crt)} == before  # a valid certificate is kept

        # a loose key mode is repaired without a new key or certificate
        lb.check("chmod 644 %s", key, sudo=True)
        fix = certificates.plan_certificates(r).apply().changes[0]
        assert fix.changed and "key is owner/mode root 644" in fix.summary
        assert {p: sha(lb, p) for p in (key, crt)} == before
        assert lb.file(key, sudo=True).stat()["mode"] == "600"

        # a certificate about to expire is renewed with the same key
        lb.check("openssl req -x509 -key %s -subj /CN=esb.wso2.com -addext subjectAltName=DNS:esb.wso2.com "
                 "-days 10 -out %s", key, crt, sudo=True)
        renew = certificates.plan_certificates(r).apply().changes[0]
        assert "expires within 30 days" in renew.summary and "made CSR and certificate" in renew.summary
        assert sha(lb, key) == before[key] and sha(lb, crt) != before[crt]
    finally:
        r.close()

    r = scratch_run(tmp_path, key_type="ec-p256")  # another key type: a new key
    try:
        change = certificates.plan_certificates(r).apply().changes[0]
        assert "key is RSA 2048, not EC P-256" in change.summary
        out = lb.check("openssl pkey -in %s -pubout | openssl pkey -pubin -noout -text", key, sudo=True).stdout
        assert "prime256v1" in out
        assert not certificates.plan_certificates(r).apply().changed
    finally:
        r.close()
        lb.run("rm -rf %s", SCRATCH, sudo=True)


def _make_ca(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "runbook test CA")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "ca.key"


def test_signed_by_a_ca_from_the_params(lab, lab_hosts, tmp_path) -> None:
    lb = lab_hosts["lb"]
    lb.run("rm -rf %s", SCRATCH, sudo=True)
    ca_pem, ca_key = _make_ca(tmp_path)
    r = scratch_run(tmp_path)
    try:
        certificates.plan_certificates(r).apply()  # self-signed first
    finally:
        r.close()
    r = scratch_run(tmp_path, ca_cert=str(ca_pem), ca_key=str(ca_key))
    try:
        report = certificates.plan_certificates(r).apply()
        assert all("not signed by the CA in certificates.ca_cert" in c.summary for c in report.changes)
        assert all("signed by the params' CA" in c.summary for c in report.changes)
        chain = split_pem(lb.read_file(f"{SCRATCH}/mgt.esb.wso2.com.crt", sudo=True))
        assert [c.subject.rfc4514_string() for c in chain] == ["CN=mgt.esb.wso2.com", "CN=runbook test CA"]
        lb.write_file("/tmp/rbtest-ca.pem", ca_pem.read_bytes(), backup=False)  # public: to check on the host
        assert lb.run("openssl verify -CAfile /tmp/rbtest-ca.pem %s", f"{SCRATCH}/mgt.esb.wso2.com.crt").ok
        assert not certificates.plan_certificates(r).apply().changed
        anchors = truststore.anchors(r)
        assert [(a.alias, a.label) for a in anchors] == [("wso2-lb", "the CA CN=runbook test CA")]
    finally:
        r.close()
        lb.run("rm -rf %s /tmp/rbtest-ca.pem", SCRATCH, sudo=True)


def test_tls_vhosts_preview_apply_idempotent(run, lab_hosts, lab_params) -> None:
    lb = lab_hosts["lb"]
    mgt = nginx_conf.mgt_vhost(lab_params)
    lb.check("rm -f %s && nginx -s reload && sleep 1", mgt.path, sudo=True)
    before = conf_d_state(lb, lab_params.load_balancer.conf_dir)
    report = certificates.plan_tls_vhosts(run).preview()
    assert [c.changed for c in report.changes] == [False, False, True, True]
    assert report.changes[0].summary == "nginx 1.22.1: affinity ip_hash is supported"
    assert conf_d_state(lb, lab_params.load_balancer.conf_dir) == before
    assert served_vhost(lb, mgt) == "esb.wso2.com"  # the first 443 server answers for unknown names
    assert len(certificates.plan_tls_vhosts(run).apply().changed) == 2
    assert served_vhost(lb, mgt) == "mgt.esb.wso2.com"
    state = conf_d_state(lb, lab_params.load_balancer.conf_dir)
    assert certificates.plan_tls_vhosts(run).apply().headline().endswith("no changes - everything already as "
                                                                         "intended (4 checked)")
    assert conf_d_state(lb, lab_params.load_balancer.conf_dir) == state
    checks = certificates.verify_tls(run)
    assert not checks.failed, checks.text()
    found = {c.what: c.found for c in checks.checks}
    assert found["esb.wso2.com: TLS handshake through nginx"].startswith("TLSv1.")
    assert "CN=esb.wso2.com, SAN esb.wso2.com, self-signed, until 20" in found["esb.wso2.com: TLS handshake through nginx"]
    assert found["esb.wso2.com-https affinity (E15)"] == "ip_hash"


def test_verify_fails_on_a_loose_key_and_the_plan_repairs_it(run, lab_hosts) -> None:
    key = "/etc/nginx/ssl/esb.wso2.com.key"
    lab_hosts["lb"].check("chmod 640 %s", key, sudo=True)
    failed = certificates.verify_tls(run).failed
    assert [c.what for c in failed] == ["esb.wso2.com: key and certificate"]
    assert "root 640, not root 600" in failed[0].found and "apply=True" in failed[0].fix
    certificates.plan_certificates(run).apply()
    assert not certificates.verify_tls(run).failed


def test_renewal_reaches_nginx_and_the_truststores(run, lab_hosts, lab_params) -> None:
    """A certificate replaced on disk: nginx reloads to serve it, and every
    node's alias is replaced by the new one."""
    lb = lab_hosts["lb"]
    crt = "/etc/nginx/ssl/mgt.esb.wso2.com.crt"
    old = sha(lb, crt)
    lb.check("rm -f %s", crt, sudo=True)
    assert len(certificates.plan_certificates(run).apply().changed) == 1
    new = split_pem(lb.read_file(crt, sudo=True))[0]
    assert sha(lb, crt) != old and served_fingerprint(lb, 443, "mgt.esb.wso2.com") != fingerprint(new)
    failed = certificates.verify_tls(run).failed
    assert [c.what for c in failed] == ["mgt.esb.wso2.com: TLS handshake through nginx",  # nginx serves the old one
                                        "HTTPS mgt.esb.wso2.com:443 answered by its vhost"]
    assert failed[0].found.startswith("certificate refused")

    reload = certificates.plan_tls_vhosts(run).apply()
    assert "nginx still serves an older certificate for mgt.esb.wso2.com" in reload.changes[-1].summary
    assert served_fingerprint(lb, 443, "mgt.esb.wso2.com") == fingerprint(new)
    assert not certificates.verify_tls(run).failed

    stale = truststore.verify_truststores(run).failed
    assert {c.what.split(":")[0] for c in stale} == {"manager", "worker1", "worker2", "worker3"}
    assert {c.found for c in stale} == {"another certificate"}
    report = truststore.plan_truststores(run).apply()
    assert all("wso2-lb-mgt (the certificate of mgt.esb.wso2.com, replacing another certificate)" in c.summary
               for c in report.changes)
    assert not truststore.verify_truststores(run).failed


def test_truststore_import_keytool_listing_and_repair(run, lab_hosts, lab_params, lab_secrets) -> None:
    views = {v.name: v for v in nginx_conf.node_views(lab_params).values()}
    store = truststore.store_path(views["worker3"])
    node = lab_hosts["node132"]
    password = lab_secrets[lab_params.certificates.truststore_password.secret]
    listing = node.check("IFS= read -r P && export P && keytool -list -keystore %s -storepass:env P", store,
                         stdin=f"{password}\n".encode()).stdout
    cert = split_pem(lab_hosts["lb"].read_file("/etc/nginx/ssl/esb.wso2.com.crt", sudo=True))[0]
    assert "wso2-lb, " in listing and "wso2-lb-mgt, " in listing and "trustedCertEntry" in listing
    assert fingerprint(cert) in listing
    assert "wso2carbon, " in listing  # the shipped entries stay
    assert password not in truststore.plan_truststores(run).preview().text()

    node.check("IFS= read -r P && export P && keytool -delete -alias wso2-lb -keystore %s -storepass:env P", store,
               stdin=f"{password}\n".encode())
    failed = truststore.verify_truststores(run).failed
    assert [(c.what, c.found) for c in failed] == [("worker3: wso2-lb in client-truststore.jks", "(alias absent)")]
    assert "apply=True" in failed[0].fix
    before = {v: sha(lab_hosts[views[v].host_name], truststore.store_path(views[v])) for v in views
              if views[v].node.role in truststore.NODE_ROLES}
    report = truststore.plan_truststores(run).apply()
    assert [c.target.split("/")[3] for c in report.changed] == ["worker3"]
    assert "imported wso2-lb (the certificate of esb.wso2.com) (backup " in report.changed[0].summary
    after = {v: sha(lab_hosts[views[v].host_name], truststore.store_path(views[v])) for v in before}
    assert [v for v in before if before[v] != after[v]] == ["worker3"]
    assert not truststore.verify_truststores(run).failed
    assert not truststore.plan_truststores(run).apply().changed


def test_https_routing_affinity_and_management(run, lab_hosts, lab_params) -> None:
    cadata = "".join(a.pem.decode() for a in truststore.anchors(run))
    https_v, mgt_v = nginx_conf.tls_vhosts(lab_params)
    with echo_listeners(lab_hosts, lab_params):
        workers = [loadbalancer.ask(run, https_v, cadata)[2].decode().split("|")[0] for _ in range(9)]
        status, headers, body = loadbalancer.ask(run, mgt_v, cadata, "/carbon/")
        reach = loadbalancer.backend_reachability(run, ("https", "mgt"))
    assert len(set(workers)) == 1 and workers[0] in ("worker1", "worker2", "worker3")  # ip_hash: one client, one worker
    assert status == 200 and body.decode().split("|")[0] == "manager"
    assert headers["x-runbook-vhost"] == "mgt.esb.wso2.com"
    assert not reach.failed and len(reach.checks) == 4


def test_notebook_headless(lab, tmp_path) -> None:
    t0 = time.time()
    res, text = papermill("02_certificates.ipynb", tmp_path / "a.ipynb", "-p", "apply", "True")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "02 certificates and HTTPS vhosts: 15 passed, 0 failed" in text
    assert "02 client-truststore.jks on the nodes: 8 passed, 0 failed" in text
    assert "backends behind nginx (information: down until the WSO2 servers are started): 0 up, 4 down" in text
    for title, n in (("02 certificates on the load balancer", 2), ("02 nginx HTTPS vhosts", 4),
                     ("02 client-truststore.jks on the nodes", 4)):
        assert f"{title}: no changes - everything already as intended ({n} checked)" in text
    res, text = papermill("02_certificates.ipynb", tmp_path / "b.ipynb")  # plan only, on a converged lab
    assert res.returncode == 0 and "02 nginx HTTPS vhosts: nothing to apply." in text  # no changes, no Apply (issue 25)
    assert "not applied (apply=False)" not in text
    print(f"two notebook runs: {time.time() - t0:.1f}s")


def test_host_filter(lab) -> None:
    r = rb.open_run(ROOT / "params/lab.yaml", apply=True, hosts="worker2")
    try:
        assert certificates.plan_certificates(r).operations == []
        assert certificates.plan_tls_vhosts(r).operations == []
        assert [op.target.split("/")[3] for op in truststore.plan_truststores(r).operations] == ["worker2"]
        assert [c.what.split(":")[0] for c in truststore.verify_truststores(r).checks] == ["worker2", "worker2"]
    finally:
        r.close()
