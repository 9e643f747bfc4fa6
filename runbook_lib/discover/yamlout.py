"""Writing the params file: block YAML, every value commented with where it
came from (host:file:line) or marked as a guess. Strings are quoted whenever
YAML 1.1 could read them as something else (yamlstrict.py refuses those)."""

from __future__ import annotations

import json
import re
from typing import Any

from .found import Found

PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+-]*$")
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
COMMENT_AT = 56


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    s = str(v)
    if PLAIN.match(s) and s.lower() not in YAML11_WORDS and not s.endswith(":"):
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def _key(k: Any) -> tuple[str, Found | None]:
    return (scalar(k.value), k) if isinstance(k, Found) else (scalar(k), None)


def _line(text: str, f: Found | None) -> str:
    if f is None:
        return text
    return f"{text.ljust(COMMENT_AT)} # {f.where()}"


def emit(tree: dict, indent: int = 0) -> list[str]:
    out: list[str] = []
    pad = "  " * indent
    for k, v in tree.items():
        ks, kf = _key(k)
        if isinstance(v, dict) and set(v) == {"secret"}:
            s = v["secret"]
            out.append(_line(f"{pad}{ks}: {{secret: {scalar(s.value if isinstance(s, Found) else s)}}}",
                             s if isinstance(s, Found) else None))
        elif isinstance(v, dict):
            out.append(_line(f"{pad}{ks}:", kf))
            out += emit(v, indent + 1)
        elif isinstance(v, Found):
            out.append(_line(f"{pad}{ks}: {scalar(v.value)}", v))
        else:
            out.append(f"{pad}{ks}: {scalar(v)}")
    return out


def plain(tree: Any) -> Any:
    """The tree without provenance: what the YAML says (for tests and validation)."""
    if isinstance(tree, dict):
        return {(k.value if isinstance(k, Found) else k): plain(v) for k, v in tree.items()}
    if isinstance(tree, Found):
        return tree.value
    return tree


def guesses(tree: Any, path: str = "") -> list[str]:
    """The field paths whose value is a guess."""
    out: list[str] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            name = k.value if isinstance(k, Found) else k
            out += guesses(v, f"{path}.{name}" if path else str(name))
    elif isinstance(tree, Found) and tree.guess:
        out.append(f"{path} ({tree.why})")
    return out


def render(tree: dict, header: list[str]) -> str:
    lines = [f"# {h}" if h else "#" for h in header]
    return "\n".join(lines + emit(tree)) + "\n"
