"""Which skeleton a lab product home is built on.

The lab has a skeleton for one version of each product line
(``skeletons/<name>-<version>``). A home for another version of the same line
is built on the nearest version's skeleton, with the files of a real
distribution of that version laid over it when one is given
(``--distribution esb-4.9.0=DIR``), and its bin/version.txt saying the
version asked for. This module depends on products.py only, so the params
checks can ask it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..products import line_spec, version_tuple

SKELETONS = Path(__file__).resolve().parent / "skeletons"


def skeleton_names() -> list[str]:
    return sorted(p.name for p in SKELETONS.iterdir() if p.is_dir()) if SKELETONS.is_dir() else []


@dataclass(frozen=True)
class HomeSource:
    """What a home for DIST is built from."""

    dist: str  # what the params ask for, e.g. ei-6.4.0
    skeleton: str  # the skeleton used, e.g. ei-6.1.1
    version: str

    @property
    def exact(self) -> bool:
        return self.skeleton == self.dist

    def describe(self) -> str:
        return f"skeleton {self.skeleton}" + ("" if self.exact else f" (nearest to {self.dist}, same line)")


def nearest_skeleton(name: str, version: str) -> HomeSource:
    """The skeleton of the same product line whose version is nearest VERSION
    (the higher one on a tie); LabError when the line has none."""
    line = line_spec(name)
    candidates = []
    for skel in skeleton_names():
        sname, _, sversion = skel.partition("-")
        if sname == name and line.covers(sversion):
            candidates.append((sversion, skel))
    if not candidates:
        raise LabError(f"the lab has no skeleton of the {line.versions} line (known: {skeleton_names()})",
                       fix="add a skeleton under runbook_lib/lab/skeletons/ or use a product line the lab has")
    want = version_tuple(version)

    def distance(item: tuple[str, str]) -> tuple:
        v = version_tuple(item[0])
        width = max(len(v), len(want))
        a = v + (0,) * (width - len(v))
        b = want + (0,) * (width - len(want))
        return (tuple(abs(x - y) for x, y in zip(a, b)), tuple(-x for x in a))

    sversion, skel = min(candidates, key=distance)
    return HomeSource(f"{name}-{version}", skel, version)


def skeleton_dir(source: HomeSource) -> Path:
    return SKELETONS / source.skeleton
