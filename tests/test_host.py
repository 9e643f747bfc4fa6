"""Host (SSH) behaviour against the lab: jump hosts, sudo, atomic writes that
keep owner and mode, one backup per file per run, fan-out with failures,
MySQL through an SSH tunnel."""

from __future__ import annotations

import secrets

import pymysql
import pytest

from runbook_lib.remote.db import Db
from runbook_lib.core.errors import CommandError, ConnectError, RunbookError
from runbook_lib.remote.host import Host
from runbook_lib.remote import sshpool
from runbook_lib.remote.inventory import fan_out
from runbook_lib.remote.tunnel import Tunnel

from .conftest import lab_ip

pytestmark = pytest.mark.lab


def _host(lab, name: str, **kw) -> Host:
    h = lab["hosts"][name]
    return Host(name, h["address"], h["ssh"]["user"], key_filename=h["ssh"]["key"],
                known_hosts=h["ssh"]["known_hosts"], **kw)


def test_jump_host(lab):
    with _host(lab, "lb") as jump, _host(lab, "node206", jump=jump) as target:
        assert target.check("hostname").stdout.strip() == "node206"
        # the target saw the connection come from the jump host, not from this machine
        assert target.check("echo $SSH_CLIENT").stdout.split()[0] == lab["hosts"]["lb"]["address"]


def test_a_kept_connection_is_taken_while_the_host_lists_its_sshd(lab, monkeypatch):
    """In a headless run's kernel, the next notebook takes the kept connection
    when the host's own /proc/net/tcp (read over SFTP) lists sshd listening:
    no TCP connect, which would start an sshd process there."""
    monkeypatch.setenv(sshpool.ENV, "1")
    connects: list[tuple] = []
    monkeypatch.setattr(sshpool, "listening", lambda *a: connects.append(a) or True)
    a = _host(lab, "node132")
    first = a.client
    a.close()
    try:
        b = _host(lab, "node132")
        assert b.client is first and connects == []
        kept, address = sshpool.get(sshpool.key_of(b)), lab["hosts"]["node132"]["address"]
        assert sshpool.listed_on_host(kept, address, 22, 5)
        assert not sshpool.listed_on_host(kept, address, 2, 5)  # nothing listens on port 2 there
    finally:
        sshpool.close_all()


def test_file_kind_is_read_over_sftp_as_test_says_it(lab_hosts, monkeypatch):
    """is_file / is_dir answer as `test -f` / `test -d` (symlinks followed; absent: neither)
    without running a command on the host."""
    h, d = lab_hosts["node132"], f"/tmp/kind-{secrets.token_hex(4)}"
    h.check("mkdir -p %s && ln -sfn /etc/hostname %s/link && ln -sfn %s %s/dirlink", d, d, d, d)
    try:
        cases = ["/etc/hostname", "/etc", f"{d}/link", f"{d}/dirlink", f"{d}/absent", "/etc/hostname/x"]
        want = {p: (h.run("test -f %s", p).ok, h.run("test -d %s", p).ok) for p in cases}
        with monkeypatch.context() as m:
            m.setattr(Host, "_exec", lambda *a, **k: pytest.fail("a command was run"))
            assert {p: (h.file(p).is_file, h.file(p).is_dir) for p in cases} == want
        assert want[f"{d}/link"] == (True, False) and want[f"{d}/dirlink"] == (False, True)
    finally:
        h.check("rm -rf %s", d)


def test_command_results_and_quoting(lab_hosts):
    h = lab_hosts["node132"]
    res = h.run("printf %s", "a b; echo injected")
    assert res.ok and res.stdout == "a b; echo injected"
    bad = h.run("ls %s", "/nonexistent dir")
    assert bad.rc == 2 and "No such file" in bad.stderr
    with pytest.raises(CommandError, match=r"node132: `ls '/nonexistent dir'` exited 2"):
        h.check("ls %s", "/nonexistent dir")


def test_atomic_write_keeps_owner_and_mode_and_backs_up_once_per_run(lab_hosts):
    h = lab_hosts["node132"]
    path = "/opt/wso2/worker2/wso2ei-6.1.1/conf/log4j.properties"
    h.check("chmod 640 %s", path)
    original = h.read_file(path)
    try:
        inode = h.check("stat -c %%i %s", path).stdout
        bak1 = h.write_file(path, original + b"# one\n")
        assert h.check("stat -c %%i %s", path).stdout != inode  # replaced by rename, not rewritten
        bak2 = h.write_file(path, original + b"# two\n")
        assert bak1 and bak1.endswith(f".bak.{h.run_id}") and bak2 is None
        assert h.read_file(bak1) == original  # the backup is of the file before the run's first change
        assert h.read_file(path) == original + b"# two\n"
        assert h.file(path).stat() == {"owner": "wso2", "group": "wso2", "mode": "640"}
        assert not h.run("ls -a %s | grep runbook-tmp", "/opt/wso2/worker2/wso2ei-6.1.1/conf").ok
    finally:
        h.write_file(path, original, backup=False)
        h.check("rm -f %s.bak.*", path)
        h.check("chmod 644 %s", path)


def test_a_write_into_a_missing_folder_says_so(lab_hosts):
    h = lab_hosts["node132"]
    path = "/opt/wso2/worker2/wso2ei-6.1.1/conf/no-such-folder/cipher-text.properties"
    with pytest.raises(RunbookError) as e:
        h.write_file(path, b"x = y\n")
    assert "the folder /opt/wso2/worker2/wso2ei-6.1.1/conf/no-such-folder does not exist" in str(e.value)
    assert "KiB" not in str(e.value) and "free space" not in e.value.fix
    assert not h.run("test -e %s", path).ok


def test_write_from_bytes_read_runs_no_command_and_keeps_the_same_guarantees(lab_hosts, monkeypatch):
    """Issue 23: with the bytes already read, the write is SFTP alone (no remote
    process); backup of those bytes with the file's times, atomic rename, owner
    and mode kept. A file that changed since it was read goes the shell way."""
    h = lab_hosts["node132"]
    path = "/opt/wso2/worker2/wso2ei-6.1.1/conf/runbook-sftp-test.properties"  # a file of its own: backups are once per path
    h.check("printf 'a=1\\n' > %s && chmod 640 %s && touch -d '2020-01-02 03:04:05' %s", path, path, path)
    original = h.read_file(path)
    mtime = h.check("stat -c %%Y %s", path).stdout
    inode = h.check("stat -c %%i %s", path).stdout
    try:
        def no_command(*a, **kw):
            raise AssertionError(f"a remote command ran: {a}")
        with monkeypatch.context() as m:
            m.setattr(h, "run", no_command)
            bak1 = h.write_file(path, original + b"# one\n", before=original)
        assert h.check("stat -c %%i %s", path).stdout != inode  # replaced by rename, not rewritten
        with monkeypatch.context() as m:
            m.setattr(h, "run", no_command)
            bak2 = h.write_file(path, original + b"# two\n", before=original + b"# one\n")
        assert bak1 and bak1.endswith(f".bak.{h.run_id}") and bak2 is None
        assert h.read_file(bak1) == original
        assert h.check("stat -c %%Y %s", bak1).stdout == mtime  # as cp -p keeps it
        assert h.read_file(path) == original + b"# two\n"
        assert h.file(path).stat() == {"owner": "wso2", "group": "wso2", "mode": "640"}
        assert h.file(bak1).stat() == {"owner": "wso2", "group": "wso2", "mode": "640"}
        assert not h.run("ls -a %s | grep runbook-tmp", "/opt/wso2/worker2/wso2ei-6.1.1/conf").ok
        # changed behind our back (size differs from the bytes read): the shell path writes it
        h.write_file(path, b"# three\n", before=b"stale")
        assert h.read_file(path) == b"# three\n"
    finally:
        h.check("rm -f %s %s.bak.*", path, path)


def test_prefetched_reads_files_in_one_command_and_never_serves_stale_bytes(lab, lab_hosts, monkeypatch):
    """Issue 23: Host.prefetched reads several files with one command (tar), read_file
    serves them with no SFTP read; what tar cannot vouch for (absent, a folder) is read
    the usual way; a command or a write on the host, or the block's end, drops them;
    without a usable tar every read goes the usual way, with the same bytes."""
    from runbook_lib.remote import batchread
    h = lab_hosts["node132"]
    folder = h.check("mktemp -d /tmp/rb-prefetch.XXXXXX").stdout.strip()
    paths = [f"{folder}/{name}" for name in ("a.xml", "b.properties", "c with space.xml", "d.bin")]
    try:
        h.check("cd %s && printf '<a/>\\n' > a.xml && printf 'k=v\\n' > b.properties && printf 'c\\n' > %s"
                " && head -c 4096 /dev/urandom > d.bin && mkdir e", folder, "c with space.xml")
        want = {p: h.read_file(p) for p in paths}
        assert want[paths[0]] == b"<a/>\n" and len(want[paths[3]]) == 4096
        commands, sftp_reads = [], []
        real_exec, real_open = h._exec, h.sftp.open
        monkeypatch.setattr(h, "_exec", lambda full, *a: commands.append(full) or real_exec(full, *a))
        monkeypatch.setattr(h.sftp, "open", lambda path, *a, **kw: sftp_reads.append(path) or real_open(path, *a, **kw))
        absent = f"{folder}/absent.xml"
        with h.prefetched(paths + [absent, f"{folder}/e"]):
            assert {p: h.read_file(p) for p in paths} == want
            assert len(commands) == 1 and "tar" in commands[0] and sftp_reads == []
            assert h.read_file(absent) is None and sftp_reads == [absent]  # read the usual way
            assert f"{folder}/e" not in h._fetched  # a folder is never served as a file
            h.check("printf 'k=w\\n' > %s", paths[1])  # a command may change any file
            assert h.read_file(paths[1]) == b"k=w\n"
        with h.prefetched(paths):
            h.write_file(paths[0], b"<b/>\n", backup=False, before=want[paths[0]])
            assert h.read_file(paths[0]) == b"<b/>\n"  # a write drops the file's prefetched bytes
        with h.prefetched(paths):
            pass
        other = _host(lab, "node132")
        other.check("printf 'c2\\n' > %s", paths[2])
        assert h.read_file(paths[2]) == b"c2\n"  # the block is over: nothing is served any more
        other.close()
        commands.clear()
        with h.prefetched(paths[:2]):  # fewer files than batchread.WORTH: no command
            assert commands == [] and h.read_file(paths[3]) == want[paths[3]]
        monkeypatch.setattr(batchread, "COMMAND", "no-such-tar {paths}")
        sftp_reads.clear()
        with h.prefetched(paths):
            assert h.read_file(paths[3]) == want[paths[3]] and sftp_reads == [paths[3]]
    finally:
        h.check("rm -rf %s", folder)


def test_root_file_written_with_sudo_keeps_root_ownership(lab_hosts):
    h = lab_hosts["lb"]
    path = "/etc/nginx/conf.d/runbook-test.conf"
    try:
        h.write_file(path, b"# test\n", sudo=True, mode=0o644)
        assert h.file(path, sudo=True).stat() == {"owner": "root", "group": "root", "mode": "644"}
        assert h.read_file(path) == b"# test\n"
    finally:
        h.check("rm -f %s", path, sudo=True)


def test_fan_out_reports_each_failure_and_keeps_other_results(lab, lab_hosts):
    hosts = dict(lab_hosts)
    hosts["ghost"] = Host("ghost", lab_ip("198.51.100.250"), "wso2", key_filename=lab["hosts"]["db"]["ssh"]["key"],
                          known_hosts=lab["known_hosts"], connect_timeout=2)
    results = fan_out(hosts, lambda h: h.check("hostname").stdout.strip())
    assert not results["ghost"].ok and isinstance(results["ghost"].error, ConnectError)
    assert "ghost" in str(results["ghost"])
    assert {n: o.value for n, o in results.items() if n != "ghost"} == {n: n for n in lab_hosts}


def test_mysql_through_an_ssh_tunnel(lab, lab_params, lab_secrets, lab_hosts):
    db = lab_params.database
    addr = lab["hosts"]["db"]["address"]
    with Tunnel(lab_hosts["node206"], addr, db.port).check() as t:
        conn = Db.connect(addr, db.port, db.admin_user, lab_secrets[db.admin_password.secret], tunnel=t)
        with conn:
            rows = conn.query("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), @@hostname")
        assert rows[0][0] == db.admin_user
    # the server saw the node's address, not this machine's
    with pymysql.connect(host=addr, user=db.admin_user, password=lab_secrets[db.admin_password.secret]) as c:
        assert c  # direct access still works too
    with Tunnel(lab_hosts["node206"], addr, 3999) as t, pytest.raises(ConnectError, match="through this host"):
        t.check()


def test_run_reaches_the_database_through_tunnel_via(lab, lab_secrets, tmp_path):
    import yaml

    import runbook_lib as rb
    from .conftest import PARAMS_LAB
    raw = yaml.safe_load(PARAMS_LAB.read_text())
    raw["database"]["tunnel_via"] = "node206"
    f = tmp_path / "tunnel.yaml"
    f.write_text(yaml.safe_dump(raw))
    run = rb.open_run(f)
    try:
        d = run.params.database
        with run.db_connect(d.admin_user, lab_secrets[d.admin_password.secret]) as conn:
            rows = conn.query("SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()")
        assert rows[0][0].split(":")[0] == lab["hosts"]["node206"]["address"]  # seen coming from the tunnel host
        assert len(run.tunnels) == 1 and run.tunnels[0].via.name == "node206"
    finally:
        run.close()


def test_a_stuck_channel_open_reconnects_once_and_runs_the_command(lab_hosts):
    """A server that does not answer a channel open on a reused connection
    (seen once in CI): nothing ran, so one reconnect and retry is safe."""
    import paramiko
    h = lab_hosts["db"]
    h.check("true")
    stuck = h.client.get_transport()

    def no_answer(*a, **kw):  # what paramiko raises when the open times out
        raise paramiko.SSHException("Timeout opening channel.")

    stuck.open_session = no_answer
    res = h.run("printf %s", "ran once")
    assert res.ok and res.stdout == "ran once"
    assert h.client.get_transport() is not stuck and not stuck.is_active()
    assert h.run("cat", stdin=b"via stdin").stdout == "via stdin"


def test_client_queries_in_one_command_answer_as_one_by_one(lab_hosts, lab_mysql, monkeypatch):
    """Issue 23: a node's datasource logins batched into one remote command give
    each login's own answer, as client_query one at a time does; no password shown."""
    from runbook_lib.facts.mysql import client_queries, client_query
    h = lab_hosts["node132"]
    m = lab_mysql
    wrong = "wrong-" + secrets.token_hex(6)
    logins = [(m["host"], m["port"], m["user"], m["password"], "SELECT 1+1", None),
              (m["host"], m["port"], m["user"], wrong, "SELECT 1", None),
              (m["host"], m["port"], m["user"], m["password"], "SELECT DATABASE()", "mysql")]
    one_by_one = [client_query(h, *x) for x in logins]
    commands = []
    real_run = h.run
    monkeypatch.setattr(h, "run", lambda *a, **kw: commands.append(a[0]) or real_run(*a, **kw))
    batched = client_queries(h, logins)
    assert len(commands) == 1
    assert batched == one_by_one
    assert batched[1][0] is False and wrong not in batched[1][1]
