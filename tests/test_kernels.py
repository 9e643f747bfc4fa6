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
    assert outs[0] == [(1, "False"), (2, "('01_a', '1')"), (3, "(1, 1)"), (4,)]
    assert outs[1] == [(1, "False"), (2, "('02_b', '1')"), (3, "(1, 2)"), (4,)]  # nothing else printed
    saved = nbformat.read(tmp_path / "02_b.ipynb", as_version=4)  # the last save always happens
    assert [c.execution_count for c in saved.cells] == [1, 2, 3, 4]


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
    a, b, other = _hosts()
    first = a.client
    a.close()  # the end of a notebook: kept for the next one
    assert not first.closed and b.client is first and len(connects) == 1
    assert other.client is not first and len(connects) == 2  # another host, another connection
    first.close()  # died: the next use connects afresh
    assert _hosts()[0].client is connects[2]
    up["192.0.2.9"] = False  # sshd stopped: the kept session is not used, a new connection is tried (and fails)
    assert _hosts()[0].client is connects[3] and connects[2].closed
