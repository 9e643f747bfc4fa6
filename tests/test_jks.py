"""facts/jks.py reads a JKS store's entries as keytool lists them (no lab:
keytool on this machine makes the stores)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from runbook_lib.facts.jks import WrongPassword, read_jks
from runbook_lib.sections.tls.truststore import parse_listing

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


def _der(pem_path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    return x509.load_pem_x509_certificate(pem_path.read_bytes()).public_bytes(serialization.Encoding.DER)


def test_merged_store_is_what_keytool_importcert_makes(tmp_path):
    """merge_trusted writes without a JVM what `keytool -importcert` would:
    keytool lists the same aliases and fingerprints, the key entry survives
    (its password still opens it), and the store keeps its password."""
    from runbook_lib.facts.jks import merge_trusted
    store = _store(tmp_path, "JKS")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "k2.pem"),
                    "-out", str(tmp_path / "c2.pem"), "-subj", "/CN=mgt.esb.wso2.com", "-days", "3"],
                   check=True, capture_output=True)
    ours = tmp_path / "ours.jks"  # WSO2-LB replaced by c2, WSO2-LB-MGT added
    ours.write_bytes(merge_trusted(store.read_bytes(), PW, [("WSO2-LB", _der(tmp_path / "c2.pem")),
                                                             ("WSO2-LB-MGT", _der(tmp_path / "c.pem"))]))
    theirs = tmp_path / "theirs.jks"
    theirs.write_bytes(store.read_bytes())
    _keytool("-delete", "-alias", "WSO2-LB", "-keystore", str(theirs), "-storepass", PW)
    for alias, pem in (("WSO2-LB", "c2.pem"), ("WSO2-LB-MGT", "c.pem")):
        _keytool("-importcert", "-noprompt", "-alias", alias, "-keystore", str(theirs), "-storepass", PW,
                 "-file", str(tmp_path / pem))
    listed = parse_listing(_keytool("-list", "-keystore", str(ours), "-storepass", PW))
    assert listed == parse_listing(_keytool("-list", "-keystore", str(theirs), "-storepass", PW))
    assert set(listed) == {"wso2carbon", "wso2-lb", "wso2-lb-mgt"} and listed["wso2-lb"] != listed["wso2-lb-mgt"]
    assert read_jks(ours.read_bytes(), PW) == listed
    # the key entry is intact: keytool exports its certificate with the key password
    _keytool("-certreq", "-alias", "wso2carbon", "-keystore", str(ours), "-storepass", PW, "-keypass", PW,
             "-file", str(tmp_path / "req.csr"))
    with pytest.raises(subprocess.CalledProcessError):  # the integrity check holds: a wrong password is refused
        _keytool("-list", "-keystore", str(ours), "-storepass", "not-the-password")
    same = merge_trusted(ours.read_bytes(), PW, [("wso2-lb-mgt", _der(tmp_path / "c.pem"))])
    assert read_jks(same, PW) == listed  # replacing an alias with its own certificate changes no entry


def test_merge_leaves_other_formats_and_wrong_passwords_alone(tmp_path):
    from runbook_lib.facts.jks import merge_trusted
    assert merge_trusted(_store(tmp_path, "PKCS12").read_bytes(), PW, []) is None
    with pytest.raises(WrongPassword):
        merge_trusted(_store(tmp_path, "JKS").read_bytes(), "not-the-password", [])


def test_new_passwords_are_what_keytool_accepts(tmp_path):
    """with_passwords (the lab's test sessions give one keytool-made keystore each lab's
    passwords): keytool opens the result with the new store password and recovers the key
    with the new key password (-certreq signs with it), and only with those."""
    import os

    from runbook_lib.facts.jks import key_entry, with_passwords
    store = _store(tmp_path, "JKS")
    before = key_entry(store.read_bytes(), PW, "wso2carbon")
    new = tmp_path / "new.jks"
    new.write_bytes(with_passwords(store.read_bytes(), PW, PW, "store-Pw9", "key-Pw7", os.urandom(20)))
    assert parse_listing(_keytool("-list", "-keystore", str(new), "-storepass", "store-Pw9")) == \
        read_jks(store.read_bytes(), PW)
    csr = _keytool("-certreq", "-alias", "wso2carbon", "-keystore", str(new), "-storepass", "store-Pw9",
                   "-keypass", "key-Pw7")
    assert "BEGIN NEW CERTIFICATE REQUEST" in csr
    wrong = subprocess.run(["keytool", "-certreq", "-alias", "wso2carbon", "-keystore", str(new), "-storepass",
                            "store-Pw9", "-keypass", PW], capture_output=True, text=True)
    assert wrong.returncode != 0 and "Cannot recover key" in wrong.stdout + wrong.stderr
    assert key_entry(new.read_bytes(), "store-Pw9", "wso2carbon", "key-Pw7") == before
    with pytest.raises(WrongPassword):
        read_jks(new.read_bytes(), PW)
