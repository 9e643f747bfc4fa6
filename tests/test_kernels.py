"""One kernel for a whole headless run (kernels.py) and the SSH connections it
keeps (sshpool.py), without a lab: notebooks executed one after another in the
same kernel read as if each had run alone, and Hosts of a later notebook reuse
an earlier one's connection only where the runner turned that on."""

from __future__ import annotations

import tempfile

import nbformat
import papermill as pm
import pytest

from runbook_lib.remote import sshpool
from runbook_lib.remote.host import Host
from runbook_lib.run.kernels import ENGINE, KERNEL, RunKernel
from runbook_lib.run.runner import kernel_config


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": KERNEL, "display_name": "runbook", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import os\nleft_over = 'left_over' in dir()\nleft_over"),
                nbformat.v4.new_code_cell("os.environ['RUNBOOK_SECTION'], os.environ['RUNBOOK_KEEP_CONNECTIONS']"),
                nbformat.v4.new_code_cell("import runbook_lib.remote.sshpool as p\np.__dict__.setdefault('seen', [])"
                                          ".append(os.getpid())\nlen(set(p.seen)), len(p.seen)"),
                nbformat.v4.new_code_cell("__import__('gc').get_freeze_count() > 0"),  # what outlived the reset
                nbformat.v4.new_code_cell("left_over = True")]
    nbformat.write(nb, path)


def test_sections_share_one_kernel_and_each_notebook_reads_as_if_alone(tmp_path):
    _notebook(tmp_path / "t.ipynb")
    with tempfile.TemporaryDirectory() as sockets:
        kernel = RunKernel(sockets)
        try:
            outs = []
            for section in ("01_a", "02_b"):
                nb = pm.execute_notebook(str(tmp_path / "t.ipynb"), str(tmp_path / f"{section}.ipynb"),
                                         kernel_name=KERNEL, progress_bar=False, engine_name=ENGINE,
                                         config=kernel_config(sockets), **kernel.for_section(section))
                outs.append([(c.execution_count, *[o.get("data", {}).get("text/plain", o.get("text")) for o in c.outputs])
                             for c in nb.cells])
        finally:
            kernel.stop()
    # counts from 1, no variable of the notebook before, the section's own name; modules stay loaded
    assert outs[0] == [(1, "False"), (2, "('01_a', '1')"), (3, "(1, 1)"), (4, "True"), (5,)]
    assert outs[1] == [(1, "False"), (2, "('02_b', '1')"), (3, "(1, 2)"), (4, "True"), (5,)]  # nothing else printed
    saved = nbformat.read(tmp_path / "02_b.ipynb", as_version=4)  # the last save always happens
    assert [c.execution_count for c in saved.cells] == [1, 2, 3, 4, 5]


class _Transport:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


class _Client:
    def __init__(self) -> None:
        self.transport, self.closed = _Transport(), False

    def get_transport(self) -> _Transport:
        return self.transport

    def close(self) -> None:
        self.closed, self.transport.active = True, False


@pytest.fixture
def connects(monkeypatch):
    made: list[_Client] = []

    def connect(self):  # noqa: ANN001, ANN202
        made.append(_Client())
        return made[-1]
    monkeypatch.setattr(Host, "_connect", connect)
    yield made
    sshpool.close_all()


def _hosts() -> tuple[Host, Host, Host]:
    def one(name: str = "w1", address: str = "192.0.2.9") -> Host:
        return Host(name, address, "wso2", key_filename="/k", known_hosts="/kh")
    return one(), one(), one("w2", "192.0.2.10")


def test_without_the_runner_each_host_owns_its_connection(connects, monkeypatch):
    monkeypatch.delenv(sshpool.ENV, raising=False)
    a, b, _ = _hosts()
    assert a.client is not b.client and len(connects) == 2
    a.close()
    assert connects[0].closed


def test_in_the_runners_kernel_a_later_notebook_reuses_the_connection(connects, monkeypatch):
    monkeypatch.setenv(sshpool.ENV, "1")
    up = {"192.0.2.9": True, "192.0.2.10": True}
    monkeypatch.setattr(sshpool, "listening", lambda address, port, timeout: up[address])
    monkeypatch.setattr(sshpool, "listed_on_host", lambda kept, address, port, timeout: False)  # no table: TCP decides
    a, b, other = _hosts()
    first = a.client
    a.close()  # the end of a notebook: kept for the next one
    assert not first.closed and b.client is first and len(connects) == 1
    assert other.client is not first and len(connects) == 2  # another host, another connection
    first.close()  # died: the next use connects afresh
    assert _hosts()[0].client is connects[2]
    up["192.0.2.9"] = False  # sshd stopped: the kept session is not used, a new connection is tried (and fails)
    assert _hosts()[0].client is connects[3] and connects[2].closed


TCP_TABLE = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 21877 1 0 100 0 0 10 0
   1: 0900000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14045 1 0 100 0 0 10 0
   2: 0900000A:0016 0100000A:D1A2 01 00000000:00000000 02:0009E8B6 00000000     0        0 30125 2 0 20 4 30 10 -1
"""


def test_the_hosts_socket_table_names_its_listener():
    """/proc/net/tcp as Linux prints it: 10.0.0.9:22 listens (0A); 10.0.0.1 only has a
    connection to it (01), and port 3306 listens on any address."""
    rows = TCP_TABLE.splitlines(keepends=True)
    assert sshpool.listed(rows, "10.0.0.9", 22)
    assert not sshpool.listed(rows, "10.0.0.1", 22)  # a connection, not a listener, and not its address
    assert not sshpool.listed(rows, "10.0.0.9", 2222)
    assert sshpool.listed(rows, "10.0.0.1", 3306)  # 0.0.0.0:3306: any address
    assert not sshpool.listed([r.replace(" 0A ", " 07 ") for r in rows], "10.0.0.9", 22)  # closed sockets
    assert not sshpool.listed([], "10.0.0.9", 22) and not sshpool.listed(rows, "w1.example", 22)
    read = []  # the rows after the listeners are not read (each read walks the kernel's whole table)
    assert not sshpool.listed((read.append(r) or r for r in rows + rows), "10.0.0.9", 2222) and len(read) == 4


class _Sftp:
    """An SFTP session whose /proc/net/tcp is TABLE (None: the file is missing)."""

    def __init__(self, table: str | None) -> None:
        import io
        from types import SimpleNamespace
        self.table, self.opened, self.sock, self.io = table, [], SimpleNamespace(closed=False), io
        self.channel = SimpleNamespace(settimeout=lambda t: None)

    def get_channel(self):  # noqa: ANN201
        return self.channel

    def open(self, path: str, mode: str):  # noqa: ANN201
        self.opened.append(path)
        if self.table is None:
            raise FileNotFoundError(2, "No such file")
        return self.io.StringIO(self.table)  # paramiko reads text lines from a file opened "r"


def test_a_host_that_lists_its_listener_is_not_connected_to(connects, monkeypatch):
    """The kept connection is taken without a TCP connect (a new sshd process on the
    host) when the host's own table lists sshd's socket; otherwise the connect decides."""
    monkeypatch.setenv(sshpool.ENV, "1")
    tried: list[str] = []
    monkeypatch.setattr(sshpool, "listening", lambda address, port, timeout: tried.append(address) or False)
    a = Host("w1", "10.0.0.9", "wso2", key_filename="/k", known_hosts="/kh")
    first = a.client
    a.close()
    sshpool.get(sshpool.key_of(a)).sftp = sftp = _Sftp(TCP_TABLE)
    b = Host("w1", "10.0.0.9", "wso2", key_filename="/k", known_hosts="/kh")
    assert b.client is first and sftp.opened == ["/proc/net/tcp"] and tried == []
    b.close()
    sftp.table = TCP_TABLE.replace(" 0A ", " 07 ")  # sshd stopped: no listener; the connect is refused
    c = Host("w1", "10.0.0.9", "wso2", key_filename="/k", known_hosts="/kh")
    assert c.client is not first and tried == ["10.0.0.9"] and first.closed
    c.close()
    sshpool.close_all()
