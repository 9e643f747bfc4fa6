"""What bin/wso2server.sh, bin/integrator.sh and bin/broker.sh do in the lab:
`start`/`--start` runs the server in the background (as the real scripts'
nohup), `stop`/`--stop` sends TERM to the pid in <carbon home>/wso2carbon.pid,
`restart`, and no command runs it in the foreground. The start-up sequence
follows carbon-kernel 4.4's order (CARBON-RUNTIME.md "Start-up"): datasources,
registry and user store, clustering, transports, deployment, then
"WSO2 Carbon started"; any StartupError stops it with an ERROR line."""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import broker, cluster, datasources, deployment, httpd, product, setupdb, webapps
from .config import read_loadbalancer_conf
from .depsync import SvnSynchronizer
from .elb import LoadBalancer
from .errors import Stalled, StartupError
from .node import Node

CORE = "org.wso2.carbon.core.internal.CarbonCoreActivator"
START = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
PT = "org.apache.synapse.transport.passthru.PassThroughHttpListener"
PTS = "org.apache.synapse.transport.passthru.PassThroughHttpSSLListener"


# The JDK check of the start scripts' foreground run: `java -version` must match
# grep "1.[7|8]", else two lines are printed and the server starts anyway; the
# JVM then gets -Djava.endorsed.dirs, which Java 9 and later refuse ("... is not
# supported. Endorsed standards ...", "Error: Could not create the Java Virtual
# Machine.", exit 1): no pid file, no log line. Sources: carbon-kernel v4.4.16
# distribution/kernel/carbon-home/bin/wso2server.sh, product-ei v6.1.1
# distribution/src/scripts/integrator.sh; the JVM's text is the JVM's own (we run
# the JAVA_HOME's java with that option). SOURCES.md rows J1-J2.
JDK_GREP = re.compile(r"1.[7|8]")


def check_java(carbon_home: Path) -> int:
    """0 when the JVM would start; otherwise print what the real script and JVM
    print and return the JVM's exit status."""
    java_home = os.environ.get("JAVA_HOME", "")
    javacmd = os.environ.get("JAVACMD") or os.path.join(java_home, "bin", "java")
    try:
        got = subprocess.run([os.path.join(java_home, "bin", "java"), "-version"], capture_output=True, text=True,
                             timeout=60)
        version = got.stdout + got.stderr
    except OSError:
        version = ""
    if not JDK_GREP.search(version):
        print(" Starting WSO2 Carbon (in unsupported JDK)")
        print(" [ERROR] CARBON is supported only on JDK 1.7 and 1.8")
    endorsed = f"{carbon_home}/lib/endorsed:{java_home}/jre/lib/endorsed:{java_home}/lib/endorsed"
    try:
        jvm = subprocess.run([javacmd, f"-Djava.endorsed.dirs={endorsed}", "-version"], capture_output=True,
                             text=True, timeout=60)
    except OSError as e:
        print(f"{javacmd}: {e.strerror}")
        return 127
    if jvm.returncode != 0:
        sys.stdout.write(jvm.stdout + jvm.stderr)
        return jvm.returncode
    return 0


def run(node: Node) -> int:
    """Run the node in this process until TERM. Returns the exit status."""
    status = check_java(node.carbon_home)
    if status:
        return status
    t0 = time.monotonic()
    pid_file = node.profile.pid_file(node.home)
    pid_file.write_text(f"{os.getpid()}\n")
    log = node.log
    log.standin(f"WSO2 Cluster Runbook lab stand-in of a Carbon node (not WSO2 code), pid {os.getpid()}, "
                f"started by bin/{node.script} {' '.join(node.args)}".rstrip())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        start(node, log)
    except Stalled as e:  # the process stays up; "WSO2 Carbon started" never comes (rows D1-D2)
        log.error_trace(e.logger, e.message, e.trace)
        log.standin("start-up failed to complete; the process stays up, as the real server's does")
        wait_for_term(stop)
        node.stopping.set()
        node.shutdown()
        return 0
    except StartupError as e:
        log.error(e.logger, e.message)
        # CarbonServerManager.initializeCarbon: log.fatal("WSO2 Carbon initialization Failed", e)
        # (carbon-kernel v4.4.16 core/org.wso2.carbon.core/.../init/CarbonServerManager.java; SOURCES.md row F1)
        log.fatal("org.wso2.carbon.core.init.CarbonServerManager", "WSO2 Carbon initialization Failed",
                  f"org.wso2.carbon.CarbonException: {e.message}\n"
                  "\tat org.wso2.carbon.core.init.CarbonServerManager.initializeCarbon(CarbonServerManager.java)")
        log.standin("start-up failed; the stand-in exits (the real server would not serve either)", "ERROR")
        node.shutdown()
        return 1
    log.info(START, f"Server           :  {node.server_name}")
    log.info(START, f"WSO2 Carbon started in {int(time.monotonic() - t0)} sec")
    if not node.worker_profile and node.profile.name != "elb":
        host = node.carbon.mgt_host_name or node.carbon.host_name or node.address
        log.info("org.wso2.carbon.ui.internal.CarbonUIServiceComponent",
                 f"Mgt Console URL  : https://{host}:{node.ports['servlet_https']}/carbon/")
    wait_for_term(stop)
    node.stopping.set()
    log.info("org.wso2.carbon.core.init.CarbonServerManager", "Shutdown hook triggered....")
    log.info("org.wso2.carbon.core.init.CarbonServerManager", "Gracefully shutting down WSO2 Carbon...")
    node.shutdown()
    log.info("org.wso2.carbon.core.init.CarbonServerManager", "Shutting down OSGi framework...")
    return 0


def wait_for_term(stop: threading.Event) -> None:
    """Wait in short steps: a TERM the kernel hands to another thread (as after
    SIGSTOP/SIGCONT) runs its Python handler only when the main thread wakes."""
    while not stop.wait(0.5):
        pass


def start(node: Node, log) -> None:
    log.info(CORE, "Starting WSO2 Carbon...")
    log.info(CORE, f"Operating System : {platform.system()} {platform.release()}, {platform.machine()}")
    log.info(CORE, f"Java Home        : {os.environ.get('JAVA_HOME', '')}")
    node.load()
    if node.profile.name != "elb":
        datasources.check_references(node.conf, node.sources)
        for d in node.sources.values():
            datasources.check_driver(d, node.lib)
            datasources.check_connect(d)
        if node.sysprops.get("setup") is not None:
            setupdb.run(node)
    http_ports(node)
    if node.profile.name == "elb":
        lb = node.lb = LoadBalancer(node, read_loadbalancer_conf(node.conf / "loadbalancer.conf"))
        own_domain = node.axis2.clustering.domain
        node.membership = cluster.start(node, lambda m: m.domain in lb.domains() or m.domain == own_domain)
        lb.start(node.agent_proto or cluster.agent_proto(node), node.membership)
        node.on_stop(lb.stop)
    else:
        node.membership = cluster.start(node)
    if node.profile.name == "broker":
        broker.run(node)
    if node.deployer is not None:
        deployment_loop(node)


def http_ports(node: Node) -> None:
    """Servlet connectors (console) and, where axis2.xml has them, the
    PassThrough listeners (or the ELB's), each shifted by the Offset."""
    off = node.offset
    tls = None
    servlet_http, servlet_https = node.catalina.get("http", 9763) + off, node.catalina.get("https", 9443) + off
    node.ports["servlet_http"], node.ports["servlet_https"] = servlet_http, servlet_https
    passthru = {n: p + off for n, (cls, p) in node.axis2.transports.items()
                if n in ("http", "https") and ("passthru" in cls or "nhttp" in cls)}
    if "http" in passthru:
        node.ports["pt_http"] = passthru["http"]
    if "https" in passthru:
        node.ports["pt_https"] = passthru["https"]
    if node.profile.name != "elb":
        tls = httpd.make_ssl_context(node.carbon.host_name or node.address)
        catalina = node.conf / "tomcat" / "catalina-server.xml"
        access = webapps.access_log(catalina, node.carbon_home) if catalina.exists() else None
        if node.profile.artifact == "webapp":
            node.deployer = node.webapps = webapps.WebappDeployer(node)
        route = httpd.with_access_log(httpd.console_route(node), access)
        httpd.serve(node.bind(servlet_http, what=f"connector [Connector[HTTP/1.1-{servlet_http}]]"), route, "http")
        httpd.serve(node.bind(servlet_https, what=f"connector [Connector[HTTP/1.1-{servlet_https}]]"), route,
                    "https", tls)
    if passthru:  # Synapse runs where the PassThrough transport is (ESB, EI integrator)
        node.deployer = deployment.Deployer(node)
    for scheme, logger in (("http", PT), ("https", PTS)):
        port = passthru.get(scheme)
        if port is None:
            continue
        sock = node.bind(port, what=f"Pass-through {scheme.upper()} Listener")
        if node.profile.name == "elb":
            route = (lambda req, p=port: node.lb.route(req, p - off))
        else:
            route = httpd.passthrough_route(node)
        tls = tls or (httpd.make_ssl_context(node.address) if scheme == "https" else None)
        httpd.serve(sock, route, scheme, tls if scheme == "https" else None)
        log_name = "HTTPS" if scheme == "https" else "HTTP"
        node.log.info(logger, f"Pass-through {log_name} Listener started on 0:0:0:0:0:0:0:0:{port}")


def deployment_loop(node: Node) -> None:
    """Carbon's deployment scheduler: every DeploymentUpdateInterval seconds,
    synchronizer update, hot deployment, synchronizer commit."""
    settings = node.carbon.depsync
    sync = None
    if settings.get("Enabled", "false").lower() == "true" and settings.get("RepositoryType", "svn") == "svn":
        sync = SvnSynchronizer(node, settings)
        sync.start()
        if node.membership is not None:
            node.membership.add_listener(lambda e, p: sync.on_message(p) if e == "message" else None)
    node.deployer.scan()
    if sync:
        sync.after_deployment()
    interval = max(1, node.carbon.deployment_interval)

    def loop():
        while not node.stopping.wait(interval):
            if sync:
                sync.update()
            node.deployer.scan()
            if sync:
                sync.after_deployment()

    threading.Thread(target=loop, name="deployment-scheduler", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """launcher: python -m standin HOME SCRIPT [command] [-Dx=y ...]"""
    argv = list(sys.argv[1:] if argv is None else argv)
    home, script, rest = Path(argv[0]), argv[1], argv[2:]
    cmds = [a for a in rest if not a.startswith("-D")]
    cmd = cmds[0].lstrip("-") if cmds else ""
    sysargs = [a for a in rest if a.startswith("-D")]
    prof = product.current(script)
    pid_file = prof.pid_file(home)
    if cmd == "stop":  # kill -term `cat wso2carbon.pid`; exit 0: the server shuts down after (row S1)
        send_term(pid_file)
        return 0
    if cmd == "restart":  # TERM, then wait for the old process without a limit, then start (row S1)
        pid = send_term(pid_file)
        while pid and alive(pid):
            time.sleep(1)
        cmd = "start"
    if cmd == "start":
        pid = read_pid(pid_file)
        if pid and alive(pid):
            print("Process is already running")
            return 0
        subprocess.Popen([sys.executable, "-m", __package__, str(home), script, *sysargs],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, cwd=str(home))
        return 0
    if cmd in ("version",):
        print((home / "bin" / "version.txt").read_text().strip())
        return 0
    if cmd:
        print(f"Usage: {script} [start | stop | restart | version] [-DworkerNode=true] [-Dsetup]", file=sys.stderr)
        return 1
    return run(Node(home, script, sysargs))


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """PID names a running process of this host, as `ps -p` on a real host
    would say. The lab's hosts are network namespaces of one machine and share
    its pids: a process of another host, or of another lab, is not this
    host's (a real host could not see it). Without this, a stale pid file
    whose pid went to another lab's MariaDB had `stop` end it (an ELB is
    stopped as root) and `start` say "Process is already running"."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
    except (OSError, IndexError):
        return False


def send_term(pid_file: Path) -> int | None:
    """kill -term `cat wso2carbon.pid`, and nothing more: the real `stop` returns
    at once (carbon-kernel v4.4.16 bin/wso2server.sh; product-ei v6.1.1
    integrator.sh). Returns the pid signalled."""
    pid = read_pid(pid_file)
    if pid and alive(pid):
        os.kill(pid, signal.SIGTERM)
        return pid
    return None
