"""A keystore whose private key has a password of its own (issue 19), no lab
needed: Carbon's DefaultSecretCallbackHandler uses password-tmp's one line for
the store and the key alike unless the node is started with
-Dkey.password=true, then the second line is the key's (SOURCES.md V2, V7).
The stand-in fails such a start as the product does; the runbook opens the
key with securevault.key_password, writes both lines and adds the flag."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from runbook_lib.core.errors import RunbookError
from runbook_lib.facts.jks import WrongKeyPassword, WrongPassword, key_entry
from runbook_lib.lab.standin import securevault as standin_vault
from runbook_lib.lab.standin.errors import StartupError
from runbook_lib.params.fields import SecretRef
from runbook_lib.params.securevault import SecureVault
from runbook_lib.sections.cluster.startfaults import explain
from runbook_lib.sections.securevault import keystore, startup
from runbook_lib.sections.securevault.crypto import encrypt

from .standin_homes import vault_home

STORE_PW, KEY_PW = "Store-pw-4k", "Key-pw-9z"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ks") / "wso2carbon.jks"
    subprocess.run(["keytool", "-genkeypair", "-noprompt", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize",
                    "2048", "-dname", "CN=localhost", "-validity", "10", "-storetype", "JKS", "-keystore", str(path),
                    "-storepass:env", "KSP", "-keypass:env", "KP"], check=True, capture_output=True,
                   env={**os.environ, "KSP": STORE_PW, "KP": KEY_PW})
    return path


def _home(tmp: Path, store: Path, lines: list[str] | None) -> Path:
    """A vaulted home whose secret-conf names both passwords, one cipher text
    made with the store's certificate, and password-tmp holding LINES."""
    _, cert = key_entry(store.read_bytes(), STORE_PW, "wso2carbon", KEY_PW)
    return vault_home(tmp, store, {"A.Password": encrypt(cert, "db-secret")}, lines,
                      "keystore.identity.store.password=identity.store.password\n"
                      "keystore.identity.key.password=identity.key.password\n")


def test_the_key_opens_with_its_own_password_only(store: Path):
    key, cert = key_entry(store.read_bytes(), STORE_PW, "wso2carbon", KEY_PW)
    assert key[:1] == b"\x30" and cert[:1] == b"\x30"
    with pytest.raises(WrongKeyPassword):  # the store opens, its key does not
        key_entry(store.read_bytes(), STORE_PW, "wso2carbon")
    with pytest.raises(WrongPassword) as e:
        key_entry(store.read_bytes(), KEY_PW, "wso2carbon", KEY_PW)
    assert not isinstance(e.value, WrongKeyPassword)  # the store's integrity check failed first


def test_standin_started_with_key_password_flag_reads_both_lines(store: Path, tmp_path: Path):
    home = _home(tmp_path, store, [STORE_PW, KEY_PW])
    assert standin_vault.load(home / "conf", home, own_key=True) == {"A.Password": "db-secret"}
    assert not (home / "password-tmp").exists()


@pytest.mark.parametrize("case,lines,own_key,words,logger", [
    # without -Dkey.password=true the store's password is tried on the key: KeyStoreWrapper.getKey fails
    ("one line, no flag", [STORE_PW], False, "Error loading key for alias : wso2carbon", standin_vault.WRAPPER),
    ("two lines, no flag", [STORE_PW, KEY_PW], False, "Error loading key for alias : wso2carbon",
     standin_vault.WRAPPER),
    ("flag, wrong key line", [STORE_PW, STORE_PW], True, "Error loading key for alias : wso2carbon",
     standin_vault.WRAPPER),
    # the flag with no second line: no key password, and no trust store: validatePasswords refuses
    ("flag, one line", [STORE_PW], True, "Either Identity or Trust keystore password is mandatory",
     standin_vault.MANAGER),
])
def test_standin_fails_a_wrong_key_password_as_the_product(store: Path, tmp_path: Path, case: str, lines: list[str],
                                                           own_key: bool, words: str, logger: str):
    home = _home(tmp_path, store, lines)
    with pytest.raises(StartupError) as e:
        standin_vault.load(home / "conf", home, own_key=own_key)
    assert words in e.value.message and e.value.logger == logger
    if logger == standin_vault.WRAPPER:
        assert e.value.trace == "java.security.UnrecoverableKeyException: Cannot recover key"
        assert "securevault.key_password" in explain(f"ERROR {{{logger}}} - {e.value.message}")


class _Host:
    def __init__(self, files: dict[str, bytes]):
        self.files, self.calls = files, []

    def read_file(self, path: str) -> bytes | None:
        return self.files.get(path)

    def check(self, cmd: str, *args, stdin: bytes = b""):  # noqa: ANN002
        self.calls.append((cmd % args, stdin))


def _run(store: Path | None, key_password: bool, path: str = "/h/repository/resources/security/wso2carbon.jks"):
    sv = SecureVault(enabled=True, keystore_password=SecretRef(secret="KS"),
                     key_password=SecretRef(secret="KP") if key_password else None)
    host = _Host({path: store.read_bytes()} if store else {})
    secrets = {"KS": STORE_PW, "KP": KEY_PW}
    return SimpleNamespace(params=SimpleNamespace(securevault=sv), secret=secrets.__getitem__,
                           host=lambda name: host), host


def _view(product: str = "esb"):
    spec = SimpleNamespace(product=product, carbon_home=".", security_dir="repository/resources/security")
    return SimpleNamespace(name="worker1", host_name="node1", spec=spec,
                           path=lambda rel: "/h/" + rel.removeprefix("./"))


def test_runbook_opens_the_key_with_key_password_and_names_it_when_missing(store: Path):
    run, _ = _run(store, key_password=True)
    key = keystore.node_key(run, _view())
    assert key.key_der[:1] == b"\x30"
    run, _ = _run(store, key_password=False)
    with pytest.raises(RunbookError) as e:
        keystore.node_key(run, _view())
    assert "the key password is wrong" in e.value.message
    assert "does not open with the keystore password (securevault.key_password is not set)" in e.value.message
    assert "securevault.key_password" in e.value.fix and STORE_PW not in e.value.message + e.value.fix


def test_start_gets_both_lines_on_stdin_and_the_flag(store: Path):
    run, host = _run(store, key_password=True)
    v = _view()
    startup.give_password(run, v)
    (cmd, stdin), = host.calls
    assert cmd == "umask 077 && cat > /h/password-tmp" and stdin == f"{STORE_PW}\n{KEY_PW}\n".encode()
    assert startup.start_args(run, v) == " -Dkey.password=true"
    assert startup.start_args(run, _view("elb")) == ""  # the ELB has no vault: no flag, no password file
    startup.give_password(run, _view("elb"))
    assert len(host.calls) == 1
    run, host = _run(store, key_password=False)
    startup.give_password(run, v)
    assert host.calls[0][1] == f"{STORE_PW}\n".encode() and startup.start_args(run, v) == ""
