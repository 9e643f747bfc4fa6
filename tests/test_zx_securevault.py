"""Issue 19 on a fresh lab (params/lab.yaml, Secure Vault on): after `--apply`
no secret's value is in any file under any product home nor in any process's
command line; every cipher text decrypts, independently (keytool + openssl),
to the right value; the secret files are 0600 and the product user's; the
nodes start and 08 passes; a second apply changes nothing; a wrong keystore
password stops the run at preflight, before anything is written."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook_lib.configedit import read_properties
from runbook_lib.lab import api as labmod
from runbook_lib.lab.paths import lab_paths
from runbook_lib.params import node_views
from runbook_lib.params.secrets import read_secrets_file

from .conftest import PARAMS_LAB, ROOT, skip_if_shared

pytestmark = pytest.mark.lab
quiet = {"log": lambda *_: None}
STANDIN_LINE = "WSO2 Cluster Runbook lab stand-in of a Carbon node"  # the first line of each start (main.py)
SCANNED = ("DB_APP_PASSWORD", "SVN_PASSWORD", "KEYSTORE_PASSWORD", "DB_ADMIN_PASSWORD")
# TRUSTSTORE_PASSWORD stays WSO2's published `wso2carbon` in the lab (the shipped client-truststore.jks):
# the same word names the key alias, the keystore file and the lab's database user, so it cannot be scanned for.


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "runbook"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800, env=env)


@pytest.fixture(scope="module")
def applied(lab_params, tmp_path_factory):
    skip_if_shared()
    labmod.down(lab_params, **quiet)
    labmod.up(lab_params, PARAMS_LAB, **quiet)
    out = tmp_path_factory.mktemp("runs")
    first = _cli("run", str(PARAMS_LAB), "--apply", "--out", str(out / "first"))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    yield out, first
    labmod.down(lab_params, **quiet)


def _opt(lab_params) -> list[Path]:
    paths = lab_paths(lab_params)
    return [paths.host(h) / "opt" for h in lab_params.hosts]


def test_no_secret_in_any_file_or_command_line(applied, lab_params):
    secrets = read_secrets_file(lab_params.secrets_file)
    values = {k: secrets[k].encode() for k in SCANNED}
    bad = [f"{f}: {k}" for root in _opt(lab_params) for f in root.rglob("*") if f.is_file()
           for k, v in values.items() if v in f.read_bytes()]
    assert bad == []
    seen: list[bytes] = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:  # not a process, or one that ended while we looked
            continue
        seen.append(cmdline)
        assert not [k for k, v in values.items() if v in cmdline], cmdline
    assert len(seen) > 20
    assert b"standin" in b"".join(seen)  # the nodes are running


def _openssl_key(store: Path, password: str, tmp: Path) -> Path:
    env = {**os.environ, "KSP": password}
    p12, pem = tmp / f"{hashlib.sha1(str(store).encode()).hexdigest()}.p12", tmp / "key.pem"
    subprocess.run(["keytool", "-importkeystore", "-noprompt", "-srckeystore", str(store), "-srcstoretype", "JKS",
                    "-srcstorepass:env", "KSP", "-destkeystore", str(p12), "-deststoretype", "PKCS12",
                    "-deststorepass:env", "KSP"], check=True, capture_output=True, env=env)
    pem = p12.with_suffix(".pem")
    subprocess.run(["openssl", "pkcs12", "-in", str(p12), "-nocerts", "-nodes", "-passin", "env:KSP", "-out",
                    str(pem)], check=True, capture_output=True, env=env)
    return pem


def test_cipher_texts_decrypt_independently(applied, lab_params, tmp_path):
    secrets = read_secrets_file(lab_params.secrets_file)
    want = {"Carbon.Security.KeyStore.Password": secrets["KEYSTORE_PASSWORD"],
            "Carbon.Security.KeyStore.KeyPassword": secrets["KEYSTORE_PASSWORD"],
            "Server.Service.Connector.keystorePass": secrets["KEYSTORE_PASSWORD"],
            "Carbon.Security.TrustStore.Password": secrets["TRUSTSTORE_PASSWORD"],
            "Carbon.DeploymentSynchronizer.SvnPassword": secrets["SVN_PASSWORD"],
            "UserManager.AdminUser.Password": "admin"}  # as shipped: the runbook keeps the admin's password
    paths, checked = lab_paths(lab_params), 0
    for v in node_views(lab_params).values():
        base = paths.host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/")
        conf = base / v.spec.conf_dir
        texts = read_properties((conf / "security" / "cipher-text.properties").read_bytes())
        pem = _openssl_key(base / v.spec.security_dir / "wso2carbon.jks", secrets["KEYSTORE_PASSWORD"], tmp_path)
        assert any(a.startswith("Datasources.") for a in texts)
        for alias, text in texts.items():
            res = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(pem)],
                                 input=base64.b64decode(text), capture_output=True, check=True)
            expected = secrets["DB_APP_PASSWORD"] if alias.startswith("Datasources.") else \
                want.get(alias, secrets["KEYSTORE_PASSWORD"] if ".keyStore." in alias else secrets["TRUSTSTORE_PASSWORD"])
            assert res.stdout.decode() == expected, (v.name, alias)
            checked += 1
        carbon = (conf / "carbon.xml").read_text()
        assert 'xmlns:svns="http://org.wso2.securevault/configuration"' in carbon
        assert 'svns:secretAlias="Carbon.Security.KeyStore.Password">password</Password>' in carbon
        secret_conf = read_properties((conf / "security" / "secret-conf.properties").read_bytes())
        assert secret_conf["keystore.identity.location"] == "repository/resources/security/wso2carbon.jks"
        assert not (base / v.spec.carbon_home / "password-tmp").exists()  # gone after the start
    assert checked > 40


def test_modes_and_owner(applied, lab_params):
    paths = lab_paths(lab_params)
    for v in node_views(lab_params).values():
        base = paths.host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/")
        owner = base.stat().st_uid
        files = [base / v.spec.conf(k) for k in ("carbon", "user_mgt", "datasources", "catalina")]
        files += [base / v.spec.conf_dir / "security" / "cipher-text.properties",
                  base / v.spec.security_dir / "wso2carbon.jks", base / v.spec.security_dir / "client-truststore.jks"]
        # and every backup the run took of them (cp -p: the old mode), those its secrets step took too
        backups = [b for f in files for b in f.parent.glob(f.name + ".bak.*")]
        assert any(b.name.startswith("user-mgt.xml.bak.") for b in backups), v.name
        files += backups
        for f in files:
            st = f.stat()
            assert (oct(st.st_mode & 0o777), st.st_uid) == ("0o600", owner), f


def test_second_apply_changes_nothing_and_check_sees_mode_drift(applied, lab_params):
    out, _ = applied
    second = _cli("run", str(PARAMS_LAB), "--apply", "--out", str(out / "second"))
    assert second.returncode == 0, second.stdout[-3000:]
    summary = json.loads((out / "second" / "summary.json").read_text())
    assert "0 changes" in second.stdout, second.stdout[-2000:]
    assert summary  # the run record exists
    v = next(x for x in node_views(lab_params).values() if x.name == "worker3")
    f = lab_paths(lab_params).host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/") / v.spec.conf("datasources")
    f.chmod(0o644)
    check = _cli("check", str(PARAMS_LAB), "--sections", "registry_mount")
    assert check.returncode == 2, check.stdout[-2000:]
    assert "master-datasources.xml: mode 0644 -> 0600" in check.stdout


def test_a_cipher_text_that_does_not_decrypt_stops_the_node(applied, lab_params):
    """SOURCES.md V5: the stand-in fails start-up with the library's words; 08 says what to do;
    04 encrypts it again and the node starts."""
    import runbook_lib as rb
    from runbook_lib.sections.cluster import lifecycle as ct
    from runbook_lib.sections.nodes import secrets_at_rest
    run = rb.open_run(PARAMS_LAB, apply=True, hosts="worker3")
    v = next(x for x in run.selected_nodes() if x.name == "worker3")
    h, path = run.host(v.host_name), f"{v.conf_dir}/security/cipher-text.properties"
    assert ct.stop_node(run, v, 60).ok
    data = h.read_file(path).decode()
    alias = "Datasources.WSO2_USER_DB.Configuration.Password"
    lines = [ln if not ln.startswith(alias + "=") else f"{alias}={base64.b64encode(b'x' * 256).decode()}"
             for ln in data.splitlines()]
    h.write_file(path, ("\n".join(lines) + "\n").encode(), backup=False)
    check = ct.start_node(run, v, 60)
    assert not check.ok and "input stream for cipher" in check.found and "04" in check.fix, check
    assert h.run("test -e %s && echo left || echo gone", v.path("password-tmp")).stdout.strip() == "gone"
    secrets_at_rest.plan(run).apply()
    assert secrets_at_rest.verify(run).failed == []
    assert ct.start_node(run, v, 60).ok


def test_wrong_keystore_password_stops_before_anything_is_written(applied, lab_params):
    out, _ = applied
    roots = _opt(lab_params)
    def files() -> dict[str, bytes]:  # the configuration and the keystores (the running nodes write logs, SVN)
        return {str(f): f.read_bytes() for r in roots for f in r.rglob("*")
                if f.is_file() and ("conf" in f.parts or "security" in f.parts)}
    before = files()
    env = {**os.environ, "KEYSTORE_PASSWORD": "Not-The-Password-1"}
    res = _cli("run", str(PARAMS_LAB), "--apply", "--out", str(out / "wrong"), env=env)
    assert res.returncode == 1 and "6 failed" in res.stdout  # one keystore row per node
    shown = "".join(p.read_text(errors="replace") for p in (out / "wrong").rglob("*") if p.is_file())
    assert "keystore password is wrong" in shown and "Not-The-Password-1" not in shown
    assert "FAIL 00_preflight" in res.stdout and "01_load_balancer" not in res.stdout.split("FAIL 00_preflight")[1]
    assert files() == before


def _broker_file(lab_params, v, rel: str) -> Path:
    """A broker node's file (relative to its home) as the lab host holds it."""
    return lab_paths(lab_params).host(v.host_name) / v.path(rel).lstrip("/")


def test_a_home_without_conf_security_gets_the_folder_0700(applied, lab_params, upstream, tmp_path):
    """conf/security is made (0700) where a home lacks it, before its files are written;
    where the files are there no command makes it (vaultfiles._folder). The node's
    user-mgt.xml is put back as shipped (the admin password in plain text): with its
    cipher texts gone, a secured one could not be encrypted again (no params value). Before
    the tests that change the lab's database password and key password: it runs 04 with the
    lab's params as they are."""
    v = next(x for x in node_views(lab_params).values() if x.name == "worker2")
    base = lab_paths(lab_params).host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/")
    folder, user_mgt = base / v.spec.conf_dir / "security", base / v.spec.conf("user_mgt")
    kept, kept_um = folder.with_name("security.kept-by-test"), user_mgt.read_bytes()
    folder.rename(kept)
    user_mgt.write_bytes((upstream / "ei-6.1.1" / "conf" / "user-mgt.xml").read_bytes())
    try:
        res = _cli("run", str(PARAMS_LAB), "--apply", "--sections", "registry_mount", "--hosts", v.name,
                   "--out", str(tmp_path / "run"))
        assert res.returncode == 0, res.stdout[-3000:]
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        for name in ("cipher-text.properties", "cipher-tool.properties", "secret-conf.properties"):
            assert oct((folder / name).stat().st_mode & 0o777) == "0o600", name
        assert "UserManager.AdminUser.Password" in (folder / "cipher-text.properties").read_text()
    finally:
        if folder.exists():
            import shutil
            shutil.rmtree(folder)
        kept.rename(folder)
        user_mgt.write_bytes(kept_um)


def test_a_changed_database_password_end_to_end(applied, lab_params):
    """Issue 19 item 6 (not yet rolling): a new value of the application user's password is
    set in MariaDB (03), encrypted again on every node (04, 07: the plan names the aliases,
    never the value), 07 restarts the running brokers whose files changed, one at a time,
    each taken into the broker cluster again with the new password, and 08 restarts the
    integrator nodes whose files changed and passes."""
    out, _ = applied
    new = "Changed-" + hashlib.sha1(os.urandom(8)).hexdigest()[:16]
    env = {**os.environ, "DB_APP_PASSWORD": new}
    plan = _cli("check", str(PARAMS_LAB), "--sections", "databases", "registry_mount", env=env)
    assert plan.returncode in (1, 2), plan.stdout[-2000:]  # 1: a node's login with the new value fails until 03 ran
    assert "cipher text for alias Datasources.WSO2_USER_DB.Configuration.Password would change" in plan.stdout
    assert new not in plan.stdout
    brokers = [v for v in node_views(lab_params).values() if v.node.role == "broker"]
    pids = {v.name: _broker_file(lab_params, v, v.spec.pid_file).read_text().strip() for v in brokers}
    res = _cli("run", str(PARAMS_LAB), "--apply", "--out", str(out / "changed"), env=env)
    assert res.returncode == 0, res.stdout[-3000:]  # 07's and 08's checks green
    assert "restarted" in "".join(p.read_text() for p in (out / "changed").rglob("08_*.ipynb"))
    shown07 = "".join(p.read_text() for p in (out / "changed").rglob("07_*.ipynb"))
    times = {}
    for v in brokers:  # 07 restarted each running broker and it rejoined, connecting with the new password
        assert f"{v.name}: would restart (pid " in shown07, v.name  # the plan names the broker and why
        assert f"{v.name}: restarted (changed since its start: " in shown07, v.name
        assert _broker_file(lab_params, v, v.spec.pid_file).read_text().strip() != pids[v.name], v.name
        log = _broker_file(lab_params, v, v.spec.log_file).read_text()
        run = log[log.rfind("\n", 0, log.rfind("Starting WSO2 Carbon...")) + 1:]  # this start's lines
        me = f"Handling cluster gossip: Node {v.node.broker_node_id}  Joined the Cluster"
        assert "WSO2 Carbon started in" in run and me in run and " ERROR {" not in run, run[-2000:]
        lines = [run.splitlines()[0], next(ln for ln in run.splitlines() if me in ln)]
        times[v.name] = [re.search(r"\[(\d{4}-[\d-]+ [\d:,]+)\]", ln).group(1) for ln in lines]  # started, taken in
    first, second = (times[v.name] for v in brokers)
    assert first[1] <= second[0], times  # one at a time: the second stopped after the first was taken in again
    bad = [str(f) for root in _opt(lab_params) for f in root.rglob("*") if f.is_file() and new.encode() in f.read_bytes()]
    assert bad == []


def _key_pem(store: Path, store_pw: str, key_pw: str, tmp: Path) -> Path:
    """The key of STORE (its own password KEY_PW) as PEM, by keytool and openssl (independent of the runbook)."""
    env = {**os.environ, "KSP": store_pw, "KP": key_pw}
    name = hashlib.sha1(str(store).encode()).hexdigest()
    p12, pem = tmp / f"{name}.p12", tmp / f"{name}.pem"
    subprocess.run(["keytool", "-importkeystore", "-noprompt", "-srckeystore", str(store), "-srcstoretype", "JKS",
                    "-srcstorepass:env", "KSP", "-srcalias", "wso2carbon", "-srckeypass:env", "KP",
                    "-destkeystore", str(p12), "-deststoretype", "PKCS12", "-deststorepass:env", "KSP",
                    "-destkeypass:env", "KSP"], check=True, capture_output=True, env=env)
    subprocess.run(["openssl", "pkcs12", "-in", str(p12), "-nocerts", "-nodes", "-passin", "env:KSP", "-out",
                    str(pem)], check=True, capture_output=True, env=env)
    return pem


def test_a_key_password_of_its_own(applied, lab_params, tmp_path):
    """SOURCES.md V2, V7: every node's wso2carbon.jks gets a key password of its own (keytool
    -keypasswd; the store's stays). Preflight refuses params that do not name it, before anything
    is written; a node started as before (password-tmp's one line, no flag) fails with the
    product's words and 08 names the fix; with securevault.key_password the runbook encrypts
    carbon.xml's KeyPassword alias again, 07/08 restart every node with -Dkey.password=true and
    both lines in password-tmp, and 08 passes; a second apply changes nothing. Last in the module:
    it leaves the lab's keystores changed."""
    import runbook_lib as rb
    from runbook_lib.sections.cluster import lifecycle as ct
    out, _ = applied
    secrets = read_secrets_file(lab_params.secrets_file)
    store_pw, new = secrets["KEYSTORE_PASSWORD"], "Key-" + hashlib.sha1(os.urandom(8)).hexdigest()[:16]
    paths, stores = lab_paths(lab_params), {}
    for v in node_views(lab_params).values():
        base = paths.host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/")
        stores.setdefault(base / v.spec.security_dir / "wso2carbon.jks", []).append(v)
    for store in stores:
        st = store.stat()
        subprocess.run(["keytool", "-keypasswd", "-alias", "wso2carbon", "-keystore", str(store), "-storepass:env",
                        "KSP", "-keypass:env", "KSP", "-new:env", "NEWKP"], check=True, capture_output=True,
                       env={**os.environ, "KSP": store_pw, "NEWKP": new})
        os.chown(store, st.st_uid, st.st_gid)
        store.chmod(0o600)

    pre = _cli("run", str(PARAMS_LAB), "--apply", "--out", str(out / "keypass-refused"))
    shown = "".join(p.read_text(errors="replace") for p in (out / "keypass-refused").rglob("*") if p.is_file())
    assert pre.returncode == 1 and "FAIL 00_preflight" in pre.stdout, pre.stdout[-3000:]
    assert "key password is wrong" in shown and "securevault.key_password" in shown

    run = rb.open_run(PARAMS_LAB, apply=True, hosts="worker3")  # the params as before: one line, no flag
    try:
        v = next(x for x in run.selected_nodes() if x.name == "worker3")
        assert ct.stop_node(run, v, 60).ok
        check = ct.start_node(run, v, 60)
        assert not check.ok and "Error loading key for alias : wso2carbon" in check.found, check
        assert "securevault.key_password" in check.fix and "-Dkey.password" not in check.what, check
        log = ct.read_log(run, v)
        this = log[log.rfind(STANDIN_LINE):]  # this start's lines: the product's words, under the wrapper's logger
        assert "-Dkey.password" not in this.splitlines()[0], this[:500]
        lines = [ln for ln in this.splitlines() if "{org.wso2.securevault.keystore.IdentityKeyStoreWrapper}" in ln]
        assert lines and " ERROR {" in lines[0] and lines[0].split(" - ", 1)[1].strip().startswith(
            "Error loading key for alias : wso2carbon"), this[-2000:]
        assert not run.host(v.host_name).run("test -e %s", v.path("password-tmp")).ok
    finally:
        run.close()

    raw = yaml.safe_load(PARAMS_LAB.read_text())
    raw["securevault"]["key_password"] = {"secret": "KEY_PASSWORD"}
    own = tmp_path / "lab-keypass.yaml"
    own.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {**os.environ, "KEY_PASSWORD": new}
    plan = _cli("check", str(own), "--sections", "registry_mount", env=env)
    assert "cipher text for alias Carbon.Security.KeyStore.KeyPassword would change" in plan.stdout, plan.stdout[-3000:]
    res = _cli("run", str(own), "--apply", "--out", str(out / "keypass"), env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    record = "".join(p.read_text(errors="replace") for p in (out / "keypass").rglob("*") if p.is_file())
    assert new not in record + res.stdout + plan.stdout
    for store, views in stores.items():
        pem = _key_pem(store, store_pw, new, tmp_path)
        for v in views:
            base = paths.host(v.host_name) / "opt" / v.node.home.removeprefix("/opt/")
            texts = read_properties((base / v.spec.conf_dir / "security" / "cipher-text.properties").read_bytes())
            got = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(pem)], check=True,
                                 capture_output=True, input=base64.b64decode(texts["Carbon.Security.KeyStore.KeyPassword"]))
            assert got.stdout.decode() == new, v.name
            assert texts.keys() and not (base / v.spec.carbon_home / "password-tmp").exists()
            log = (base / v.spec.log_file).read_text()
            this = log[log.rfind(STANDIN_LINE):]  # this start's lines
            assert "-Dkey.password=true" in this.splitlines()[0] and "WSO2 Carbon started in" in this, this[-2000:]
    bad = [str(f) for root in _opt(lab_params) for f in root.rglob("*") if f.is_file() and new.encode() in f.read_bytes()]
    assert bad == []
    for proc in Path("/proc").iterdir():
        try:
            assert new.encode() not in (proc / "cmdline").read_bytes()
        except OSError:
            continue
    again = _cli("run", str(own), "--apply", "--out", str(out / "keypass-again"), env=env)
    assert again.returncode == 0 and "0 changes" in again.stdout, again.stdout[-3000:]

