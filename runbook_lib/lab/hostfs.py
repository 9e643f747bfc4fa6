"""Each lab host's own files: /etc (hosts, passwd, group, shadow, sudoers via
/etc/netns), /opt, /home, and /etc/nginx on the load balancer.

A host's /opt and /home are directories under the lab root that the host's
init binds over /opt and /home inside its own mount namespace, so the same
product path holds different files on different hosts, as on real servers.
"""

from __future__ import annotations

import grp
import hashlib
import hmac
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from ..core.errors import LabError
from ..facts.jks import with_passwords
from .homes import HomeSource, skeleton_dir
from .paths import LabPaths
from . import launcher
TRUSTSTORE_PASSWORD = "wso2carbon"  # as WSO2 ships it


def free_uid(start: int = 2900) -> int:
    """An id no account or group on the machine uses (the lab adds no account
    to the machine; this id appears only in lab hosts' own passwd files)."""
    used = {p.pw_uid for p in pwd.getpwall()}
    used |= {g.gr_gid for g in grp.getgrall()}
    uid = start
    while uid in used:
        uid += 1
    return uid


def write_etc(paths: LabPaths, host: str, address: str, users: list[str], uid: int) -> None:
    """The host's own /etc/hosts, passwd, group, shadow and sudoers."""
    etc = paths.netns_etc(host)
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n{address}\t{host}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    shadow = Path("/etc/shadow").read_text() if Path("/etc/shadow").exists() else ""
    sudoers = ("Defaults\tenv_reset\nDefaults\t!fqdn\n"
               "Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
               "root\tALL=(ALL:ALL) ALL\n")
    for i, user in enumerate(sorted(set(users))):
        u = uid + i
        passwd += f"{user}:x:{u}:{u}:WSO2 product owner:/home/{user}:/bin/bash\n"
        group += f"{user}:x:{u}:\n"
        shadow += f"{user}:*:19000:0:99999:7:::\n"
        sudoers += f"{user}\tALL=(ALL) NOPASSWD: ALL\n"
    for name, text, mode in (("passwd", passwd, 0o644), ("group", group, 0o644),
                             ("shadow", shadow, 0o640), ("sudoers", sudoers, 0o440)):
        (etc / name).write_text(text)
        os.chmod(etc / name, mode)


def make_dirs(paths: LabPaths, host: str, users: list[str], uid: int, nginx: bool, pubkey: str) -> None:
    h = paths.host(host)
    for sub in ("opt", "home", "log", "run"):
        (h / sub).mkdir(parents=True, exist_ok=True)
    install_standin_jdk(h / "opt")
    for i, user in enumerate(sorted(set(users))):
        home = h / "home" / user
        (home / ".ssh").mkdir(parents=True, exist_ok=True)
        (home / ".ssh" / "authorized_keys").write_text(pubkey)
        (home / ".bashrc").write_text(BASHRC)
        subprocess.run(["chown", "-R", f"{uid + i}:{uid + i}", str(home)], check=True)
    if nginx:
        etc_nginx = h / "etc-nginx"
        for sub in ("conf.d", "ssl"):
            (etc_nginx / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/nginx/mime.types", etc_nginx / "mime.types")
        var = h / "nginx"
        for sub in ("tmp", "html"):
            (var / sub).mkdir(parents=True, exist_ok=True)
        (var / "html" / "index.html").write_text(f"lab load balancer {host}\n")
        (etc_nginx / "nginx.conf").write_text(NGINX_CONF.format(var=var, log=h / "log", run=h / "run"))


# The lab cannot install a JDK 1.8 (none is reachable here) and the products
# refuse the machine's Java 17 (runbook_lib/lab/standin/SOURCES.md J1-J2). Each lab
# host gets a STAND-IN JDK at STANDIN_JDK: its `java -version` prints what an
# OpenJDK 1.8 prints, in that format, and it runs nothing else. The stand-in
# Carbon node needs no JVM; the runbook's keytool is the machine's real one
# (on PATH, /usr/bin), not this folder's.
STANDIN_JDK = "/opt/java/standin-jdk1.8.0_372"
STANDIN_JAVA = """#!/bin/sh
# WSO2 Cluster Runbook lab: STAND-IN JDK, NOT JAVA. It prints an OpenJDK 1.8
# `java -version` (so that the products' start scripts and the runbook's
# preflight see a supported JDK) and accepts the start scripts' options with
# -version; anything else fails.
for a in "$@"; do
  if [ "$a" = "-version" ]; then
    echo 'openjdk version "1.8.0_372"' >&2
    echo 'OpenJDK Runtime Environment (build 1.8.0_372-b07)' >&2
    echo 'OpenJDK 64-Bit Server VM (build 25.372-b07, mixed mode)' >&2
    exit 0
  fi
done
echo "lab stand-in JDK ($0): only -version is supported" >&2
exit 1
"""
# The product user's JAVA_HOME where a non-interactive SSH session reads it
# (Debian's bash reads ~/.bashrc when started by sshd), before any guard.
BASHRC = f"""# WSO2 Cluster Runbook lab: the lab's STAND-IN JDK (not Java; see README).
export JAVA_HOME={STANDIN_JDK}
case $- in *i*) ;; *) return ;; esac
"""


def install_standin_jdk(opt: Path) -> Path:
    """The stand-in JDK under a lab host's own /opt; returns its java."""
    java = opt / STANDIN_JDK.removeprefix("/opt/") / "bin" / "java"
    java.parent.mkdir(parents=True, exist_ok=True)
    java.write_text(STANDIN_JAVA)
    os.chmod(java, 0o755)
    return java


NGINX_CONF = """# The lab's nginx.conf for this host (the machine's /etc/nginx is never used).
user www-data;
worker_processes 1;
pid {run}/nginx.pid;
error_log {log}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {log}/nginx-access.log;
    client_body_temp_path {var}/tmp/body;
    proxy_temp_path {var}/tmp/proxy;
    fastcgi_temp_path {var}/tmp/fastcgi;
    uwsgi_temp_path {var}/tmp/uwsgi;
    scgi_temp_path {var}/tmp/scgi;
    server {{
        listen 80 default_server;
        location = /lab-health {{ return 200 "ok\\n"; }}
        location / {{ root {var}/html; }}
    }}
    include /etc/nginx/conf.d/*.conf;
}}
"""


def install_home(paths: LabPaths, host: str, home: str, source: HomeSource, real: Path | None,
                 uid: int, truststore: Path, security_dirs: list[str], version_line: str,
                 keystore: Path | None = None) -> list[str]:
    """Unpack a product home at HOME on HOST: the skeleton SOURCE names, with
    the files of a real distribution (REAL) laid over it when one is given.
    A home built on another version's skeleton says its own version in
    bin/version.txt, as the real distribution does. Returns the files taken
    from the distribution."""
    base = skeleton_dir(source)
    dest = paths.host(host) / "opt" / home.removeprefix("/opt/")
    if not home.startswith("/opt/"):
        raise LabError(f"product home {home} must be under /opt in the lab (hosts have their own /opt)")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base, dest, symlinks=True, ignore=shutil.ignore_patterns(".keep"))
    if not source.exact:  # the skeleton stands in for that version's files: they name it
        (dest / "bin" / "version.txt").write_text(version_line + "\n")
        old_version = source.skeleton.partition("-")[2]
        for carbon_xml in dest.rglob("carbon.xml"):
            text = carbon_xml.read_text()
            carbon_xml.write_text(text.replace(f"<Version>{old_version}</Version>",
                                               f"<Version>{source.version}</Version>", 1))
    overlaid = []
    if real is not None:
        for src in sorted(real.rglob("*")):
            if src.is_file():
                rel = src.relative_to(real)
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest / rel)
                overlaid.append(str(rel))
    launcher.install(dest)  # bin/ start scripts run the lab's stand-in of a Carbon node
    for rel in security_dirs:
        (dest / rel).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(truststore, dest / rel / "client-truststore.jks")
        if keystore is not None:  # the primary keystore every Carbon product ships (Secure Vault encrypts with it)
            shutil.copyfile(keystore, dest / rel / "wso2carbon.jks")
    subprocess.run(["chown", "-R", f"{uid}:{uid}", str(paths.host(host) / "opt")], check=True)
    return overlaid


def make_keystore(paths: LabPaths, password: str, key_password: str | None = None) -> Path:
    """The primary keystore wso2carbon.jks (JKS, key entry wso2carbon, RSA 2048, as
    WSO2 ships it), made with keytool with PASSWORD (the params' securevault
    keystore secret, else the shipped wso2carbon) and KEY_PASSWORD for its key
    (securevault.key_password's secret; else PASSWORD), the passwords reaching
    keytool through its environment. Made anew at each `up` (they may differ)."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    store = paths.cache / "wso2carbon.jks"
    store.unlink(missing_ok=True)
    if os.environ.get(STORE_CACHE_ENV):
        # A test session: one keytool-made store (shipped passwords, no secret in the cache),
        # given this lab's random passwords as `keytool -storepasswd/-keypasswd` would
        # (facts/jks.with_passwords; tests/test_jks.py checks the result with keytool).
        shipped = paths.cache / "wso2carbon-shipped.jks"
        _keytool(shipped, ["-storepass", TRUSTSTORE_PASSWORD, "-keypass", TRUSTSTORE_PASSWORD], None,
                 ("keystore", TRUSTSTORE_PASSWORD, TRUSTSTORE_PASSWORD))
        data = with_passwords(shipped.read_bytes(), TRUSTSTORE_PASSWORD, TRUSTSTORE_PASSWORD,
                              password, key_password or password, os.urandom(20))
        shipped.unlink()
        fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return store
    env = {**os.environ, "RBLAB_KSP": password, "RBLAB_KP": key_password or password}
    _keytool(store, ["-storepass:env", "RBLAB_KSP", "-keypass:env", "RBLAB_KP"], env,
             ("keystore", password, key_password or password))
    store.chmod(0o600)
    return store


def make_truststore(paths: LabPaths) -> Path:
    """One client-truststore.jks made with keytool (password wso2carbon, as
    shipped), copied into every product home."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    store = paths.cache / "client-truststore.jks"
    if store.exists():
        return store
    _keytool(store, ["-storepass", TRUSTSTORE_PASSWORD, "-keypass", TRUSTSTORE_PASSWORD], None,
             ("truststore", TRUSTSTORE_PASSWORD))
    return store


# The test suite brings labs up dozens of times; each keytool run is a JVM (about
# a second of CPU, two with the RSA key generation). With this variable set
# (tests/conftest.py sets it to a folder of the session's own and removes the
# folder at the end), a store made once is copied; an operator's `runbook lab up`
# always runs keytool.
STORE_CACHE_ENV = "RUNBOOK_LAB_STORE_CACHE"


def _keytool(store: Path, passwords: list[str], env: dict[str, str] | None, key: tuple[str, ...]) -> None:
    """`keytool -genkeypair` of the lab's RSA 2048 wso2carbon entry into STORE,
    or a copy of the one made earlier in this test session for the same KEY
    (named by a keyed hash: no password in a file name)."""
    cache = os.environ.get(STORE_CACHE_ENV)
    folder = Path(cache) if cache else None
    kept = None
    if folder is not None and (folder / "salt").is_file():
        mac = hmac.new((folder / "salt").read_bytes(), "\0".join(key).encode(), hashlib.sha256).hexdigest()[:32]
        kept = folder / f"{mac}.jks"
        if kept.is_file():
            shutil.copyfile(kept, store)
            return
    res = subprocess.run(
        ["keytool", "-genkeypair", "-noprompt", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize", "2048",
         "-dname", "CN=localhost, O=WSO2 lab", "-validity", "3650", "-storetype", "JKS",
         "-keystore", str(store), *passwords], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise LabError(f"keytool failed: {res.stderr.strip()}")
    if kept is not None:
        tmp = kept.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(store, tmp)
        tmp.replace(kept)  # atomic: another test process may be copying it
