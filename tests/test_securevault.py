"""Secure Vault without a JVM (issue 19), no lab needed: the key read from a
keytool-made JKS store, cipher text that openssl decrypts independently (both
paddings), idempotent XML marks on WSO2's shipped files, and the stand-in
resolving aliases and failing with the library's own words."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from runbook_lib.configedit import apply_xml_edits
from runbook_lib.facts.jks import WrongPassword, key_entry
from runbook_lib.lab.standin import securevault as standin_vault
from runbook_lib.lab.standin.errors import StartupError
from runbook_lib.sections.securevault.crypto import decrypt, encrypt, holds
from runbook_lib.sections.securevault.xmlns import DeclareSvns, secured
from runbook_lib.sections.shared.namespaces import CARBON_NS

from .standin_homes import vault_home

UPSTREAM = Path(__file__).resolve().parent.parent.parent / "shared" / "wso2-upstream" / "ei-6.1.1"
PASSWORD = "Ks-pass-7q"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ks") / "wso2carbon.jks"
    subprocess.run(["keytool", "-genkeypair", "-noprompt", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize",
                    "2048", "-dname", "CN=localhost", "-validity", "10", "-storetype", "JKS", "-keystore", str(path),
                    "-storepass:env", "KSP", "-keypass:env", "KSP"], check=True, capture_output=True,
                   env={**os.environ, "KSP": PASSWORD})
    return path


def _openssl_decrypt(store: Path, text: str, padding: str, tmp: Path) -> str:
    """Independent decryption: keytool exports the key to PKCS#12, openssl decrypts."""
    p12, key = tmp / "k.p12", tmp / "k.pem"
    env = {**os.environ, "KSP": PASSWORD}
    if not key.exists():
        subprocess.run(["keytool", "-importkeystore", "-noprompt", "-srckeystore", str(store), "-srcstorepass:env",
                        "KSP", "-destkeystore", str(p12), "-deststoretype", "PKCS12", "-deststorepass:env", "KSP"],
                       check=True, capture_output=True, env=env)
        subprocess.run(["openssl", "pkcs12", "-in", str(p12), "-nocerts", "-nodes", "-passin", "env:KSP", "-out",
                        str(key)], check=True, capture_output=True, env=env)
    opts = ["-pkeyopt", "rsa_padding_mode:oaep"] if padding == "oaep" else []
    res = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(key), *opts],
                         input=base64.b64decode(text), capture_output=True, check=True)
    return res.stdout.decode()


def test_key_entry_reads_keytools_store(store: Path):
    key, cert = key_entry(store.read_bytes(), PASSWORD, "WSO2CARBON")
    assert key[:1] == b"\x30" and cert[:1] == b"\x30"
    with pytest.raises(WrongPassword):
        key_entry(store.read_bytes(), "wso2carbon", "wso2carbon")
    assert key_entry(store.read_bytes(), PASSWORD, "other") is None


@pytest.mark.parametrize("padding", ["pkcs1", "oaep"])
def test_cipher_text_decrypts_independently(store: Path, padding: str, tmp_path: Path):
    key, cert = key_entry(store.read_bytes(), PASSWORD, "wso2carbon")
    one, two = encrypt(cert, "s3cr3t-Ü", padding), encrypt(cert, "s3cr3t-Ü", padding)
    assert one != two  # randomised padding: only decryption can say a cipher text is current
    assert holds(key, one, "s3cr3t-Ü", padding) and holds(key, two, "s3cr3t-Ü", padding)
    assert not holds(key, one, "other", padding)
    assert _openssl_decrypt(store, one, padding, tmp_path) == "s3cr3t-Ü"
    assert decrypt(key, "not base64!!", padding) is None


@pytest.mark.parametrize("rel,xpath,attr,ns", [
    ("conf/carbon.xml", "/c:Server/c:Security/c:KeyStore/c:Password", None, CARBON_NS),
    ("conf/user-mgt.xml", "/UserManager/Realm/Configuration/AdminUser/Password", None, None),
    ("conf/tomcat/catalina-server.xml", "/Server/Service/Connector[@keystorePass]", "keystorePass", None),
    ("wso2/broker/conf/broker.xml", "/broker/transports/amqp/sslConnection/keyStore/password", None, None),
])
def test_marks_as_ciphertool_leaves_them(rel: str, xpath: str, attr: str | None, ns):
    data = (UPSTREAM / rel).read_bytes()
    edits = [DeclareSvns(), *secured(xpath, "Some.Alias", attr)]
    first = apply_xml_edits(data, edits, rel, ns)
    assert first.changed
    text = first.data.decode()
    assert 'xmlns:svns="http://org.wso2.securevault/configuration"' in text
    assert 'svns:secretAlias="Some.Alias"' in text
    assert not apply_xml_edits(first.data, edits, rel, ns).changed  # a second apply changes nothing
    assert len(first.data.splitlines()) == len(data.splitlines())  # only those bytes changed


def test_standin_resolves_and_deletes_password_tmp(store: Path, tmp_path: Path):
    _, cert = key_entry(store.read_bytes(), PASSWORD, "wso2carbon")
    home = vault_home(tmp_path, store, {"A.Password": encrypt(cert, "db-secret")}, [PASSWORD])
    secrets = standin_vault.load(home / "conf", home)
    assert secrets == {"A.Password": "db-secret"}
    assert not (home / "password-tmp").exists()  # DefaultSecretCallbackHandler deletes it once read


@pytest.mark.parametrize("case,words", [
    ("no password file", "Either Identity or Trust keystore password is mandatory"),
    ("wrong password", "IOError loading keyStore from ' repository/resources/security/wso2carbon.jks '"),
    ("corrupt cipher text", "IOError when decoding the input stream for cipher"),
    ("another key's cipher text", "IOError when reading the input stream for cipher"),
])
def test_standin_fails_as_the_product(store: Path, tmp_path: Path, case: str, words: str):
    _, cert = key_entry(store.read_bytes(), PASSWORD, "wso2carbon")
    text = {"corrupt cipher text": "@@@not-base64", "another key's cipher text": base64.b64encode(b"x" * 256).decode()
            }.get(case, encrypt(cert, "db-secret"))
    password = {"no password file": None, "wrong password": "wso2carbon"}.get(case, PASSWORD)
    home = vault_home(tmp_path, store, {"A.Password": text}, None if password is None else [password])
    with pytest.raises(StartupError) as e:
        standin_vault.load(home / "conf", home)
    assert words in e.value.message


@pytest.mark.parametrize("example,trust", [("ei-broker-003.yaml", False), ("lab.yaml", True),
                                           ("ei-integrator-004.yaml", True)])
def test_aliases_are_the_products_per_profile(example: str, trust: bool):
    """The shipped cipher-tool.properties' aliases of each profile (SOURCES.md V6); the truststore's
    only where the params name its password (003 has no certificates section)."""
    from types import SimpleNamespace
    from runbook_lib.params import load_params, node_views
    from runbook_lib.sections.securevault.aliases import node_secrets
    p = load_params(Path(__file__).resolve().parent.parent / "params" / example)
    for v in node_views(p).values():
        aliases = [s.alias for s in node_secrets(SimpleNamespace(params=p), v, ["WSO2_USER_DB"])]
        assert {"Carbon.Security.KeyStore.Password", "Carbon.Security.KeyStore.KeyPassword",
                "UserManager.AdminUser.Password", "Server.Service.Connector.keystorePass",
                "Datasources.WSO2_USER_DB.Configuration.Password"} <= set(aliases)
        assert ("Carbon.Security.TrustStore.Password" in aliases) == trust
        assert ("transports.amqp.sslConnection.keyStore.password" in aliases) == (v.node.role == "broker")
        assert len(aliases) == len(set(aliases))


def test_only_a_cipher_text_of_the_key_decrypts(store: Path):
    """OpenSSL 3.2+ answers bad PKCS#1 v1.5 padding with a made-up message instead of an error
    (facts/pkcs1.py); Java's Cipher throws. Random bytes and another key's cipher texts are
    refused every time, by the runbook's decrypt and the stand-in's alike; real ones decrypt."""
    import random

    from cryptography.hazmat.primitives.asymmetric import padding as pad, rsa

    from runbook_lib.facts import pkcs1
    from runbook_lib.lab.standin.securevault import _decrypt
    from runbook_lib.sections.securevault import crypto

    key_der, cert = key_entry(store.read_bytes(), PASSWORD, "wso2carbon")
    key = crypto._private_key(key_der)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rnd = random.Random(3)
    n = key.private_numbers().public_numbers.n
    wrong = [rnd.randrange(n).to_bytes(256, "big") for _ in range(20)] + \
        [other.encrypt(b"db-secret", pad.PKCS1v15()) for _ in range(5)] + [b"x" * 256]
    for raw in wrong:
        with pytest.raises(ValueError):
            pkcs1.decrypt(key, raw, pad.PKCS1v15())
        assert crypto.decrypt(key_der, base64.b64encode(raw).decode()) is None
        with pytest.raises(StartupError, match="IOError when reading the input stream for cipher"):
            _decrypt(key, base64.b64encode(raw).decode(), "RSA")
    for secret in ("db-secret", "", "ü-pass"):
        text = encrypt(cert, secret)
        assert crypto.decrypt(key_der, text) == secret == _decrypt(key, text, "RSA")
