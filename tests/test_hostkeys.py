"""known_hosts read once per process (remote/hostkeys.py): for every name it
gives what paramiko's own HostKeys gives, on plain and hashed lines, ports,
several names on a line, repeated key types, comments and bad lines; and a
changed file is read again."""

from __future__ import annotations

import os

import paramiko
import pytest

from runbook_lib.remote.hostkeys import key_name, known_keys


def _key(kind: str) -> paramiko.PKey:
    return paramiko.ECDSAKey.generate() if kind == "ecdsa" else paramiko.RSAKey.generate(1024)


@pytest.fixture(scope="module")
def keys() -> list[paramiko.PKey]:
    return [_key("ecdsa"), _key("ecdsa"), _key("rsa"), _key("ecdsa")]


def _line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}\n"


def test_same_keys_as_paramiko_for_every_name(tmp_path, keys):
    a, b, rsa, c = keys
    hashed = paramiko.HostKeys.hash_host("10.0.0.9")
    kh = tmp_path / "known_hosts"
    kh.write_text(
        "# a comment\n\n"
        + _line("10.0.0.1", a)
        + _line("10.0.0.1", b)  # the same key type again: the first line wins
        + _line("10.0.0.1,node1", rsa)
        + _line("[10.0.0.2]:2222", c)
        + _line(hashed, b)
        + "10.0.0.3 ssh-unknown AAAAB3NzaC1yc2E=\n"  # a key type neither knows is skipped
        + _line("10.0.0.4", c))
    want = paramiko.HostKeys(str(kh))
    for address, port in [("10.0.0.1", 22), ("node1", 22), ("10.0.0.2", 2222), ("10.0.0.2", 22),
                          ("10.0.0.9", 22), ("10.0.0.3", 22), ("10.0.0.4", 22), ("10.0.0.5", 22)]:
        theirs = want.lookup(key_name(address, port))
        expected = {t: theirs[t] for t in theirs.keys()} if theirs else {}
        assert known_keys(str(kh), address, port) == expected, (address, port)
    assert known_keys(str(kh), "10.0.0.1", 22)["ecdsa-sha2-nistp256"] == a
    assert known_keys(str(kh), "10.0.0.9", 22) == {"ecdsa-sha2-nistp256": b}


def test_a_changed_file_is_read_again(tmp_path, keys):
    a, b, _, _ = keys
    kh = tmp_path / "known_hosts"
    kh.write_text(_line("10.0.0.1", a))
    assert known_keys(str(kh), "10.0.0.1", 22) == {"ecdsa-sha2-nistp256": a}
    kh.write_text(_line("10.0.0.1", b))  # the host was rebuilt and its line replaced
    assert known_keys(str(kh), "10.0.0.1", 22) == {"ecdsa-sha2-nistp256": b}
    os.remove(kh)
    with pytest.raises(FileNotFoundError):
        known_keys(str(kh), "10.0.0.1", 22)


def test_a_line_that_is_not_base64_is_skipped_and_its_host_unknown(tmp_path, keys):
    """paramiko's own load stops at such a line; OpenSSH skips it, and so do we."""
    a = keys[0]
    kh = tmp_path / "known_hosts"
    kh.write_text("10.0.0.3 ssh-ed25519 not-base64\n" + _line("10.0.0.4", a))
    with pytest.raises(paramiko.hostkeys.InvalidHostKey):
        paramiko.HostKeys(str(kh))
    assert known_keys(str(kh), "10.0.0.3", 22) == {}
    assert known_keys(str(kh), "10.0.0.4", 22) == {"ecdsa-sha2-nistp256": a}
