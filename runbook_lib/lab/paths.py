"""Where the lab keeps its files. Everything the lab writes is under ``root``
or under /etc/netns/<lab namespace>/ (the ip-netns mechanism for per-host
/etc files), and ``down`` removes both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..params import Params
from .net import ns_name

NETNS_ETC = Path("/etc/netns")


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.env"

    @property
    def ssh(self) -> Path:
        return self.root / "ssh"

    @property
    def client_key(self) -> Path:
        return self.ssh / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh / "known_hosts"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def host(self, name: str) -> Path:
        return self.root / "hosts" / name

    def log(self, host: str, service: str) -> Path:
        return self.host(host) / "log" / f"{service}.log"

    def pidfile(self, host: str, service: str) -> Path:
        return self.host(host) / "run" / f"{service}.pid"

    @staticmethod
    def netns_etc(host: str) -> Path:
        return NETNS_ETC / ns_name(host)


# -- the lab's state file (what `up` made, for `status`, repair and `down`) --

def lab_paths(p: "Params") -> LabPaths:
    if p.lab is None:
        raise LabError("the params file has no `lab:` section", fix="add lab: {subnet, gateway, dir} "
                       "(see params/lab.yaml)")
    return LabPaths(Path(p.lab.dir))


def read_state(paths: LabPaths) -> dict | None:
    try:
        return json.loads(paths.state.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def save_state(paths: LabPaths, state: dict) -> None:
    tmp = paths.state.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(paths.state)
