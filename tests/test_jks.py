"""facts/jks.py reads a JKS store's entries as keytool lists them (no lab:
keytool on this machine makes the stores)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from runbook_lib.facts.jks import WrongPassword, read_jks
from runbook_lib.sections.truststore import parse_listing

pytestmark = pytest.mark.skipif(shutil.which("keytool") is None or shutil.which("openssl") is None,
                                reason="needs keytool and openssl")
PW = "wso2carbon"


def _keytool(*args: str) -> str:
    return subprocess.run(["keytool", *args], check=True, capture_output=True, text=True).stdout


def _store(tmp_path, storetype: str):
    store = tmp_path / f"s.{storetype}"
    _keytool("-genkeypair", "-noprompt", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize", "2048",
             "-dname", "CN=localhost", "-validity", "10", "-storetype", storetype, "-keystore", str(store),
             "-storepass", PW, "-keypass", PW)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(tmp_path / "c.pem"), "-subj", "/CN=esb.wso2.com", "-days", "3"],
                   check=True, capture_output=True)
    _keytool("-importcert", "-noprompt", "-alias", "WSO2-LB", "-keystore", str(store), "-storepass", PW,
             "-file", str(tmp_path / "c.pem"))
    return store


def test_jks_entries_match_keytool_list(tmp_path):
    store = _store(tmp_path, "JKS")
    listed = parse_listing(_keytool("-list", "-keystore", str(store), "-storepass", PW))
    assert set(listed) == {"wso2carbon", "wso2-lb"}
    assert read_jks(store.read_bytes(), PW) == listed
    with pytest.raises(WrongPassword):
        read_jks(store.read_bytes(), "not-the-password")


def test_other_formats_are_left_to_keytool(tmp_path):
    assert read_jks(_store(tmp_path, "PKCS12").read_bytes(), PW) is None
    assert read_jks(b"\xfe\xed\xfe\xed" + b"\x00" * 10, PW) is None  # truncated


def test_trusted_store_merges_with_one_keytool_call(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from runbook_lib.facts.jks import trusted_store
    store = _store(tmp_path, "JKS")
    der = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes()).public_bytes(serialization.Encoding.DER)
    src = tmp_path / "src.jks"
    src.write_bytes(trusted_store([("wso2-lb-mgt", der)], PW))
    assert read_jks(src.read_bytes(), PW) == parse_listing(_keytool("-list", "-keystore", str(src), "-storepass", PW))
    _keytool("-importkeystore", "-noprompt", "-srckeystore", str(src), "-srcstoretype", "JKS", "-srcstorepass", PW,
             "-destkeystore", str(store), "-deststorepass", PW)
    entries = read_jks(store.read_bytes(), PW)  # still JKS, integrity intact, the shipped entry kept
    assert entries is not None and set(entries) == {"wso2carbon", "wso2-lb", "wso2-lb-mgt"}
    assert entries["wso2-lb-mgt"] == entries["wso2-lb"]
