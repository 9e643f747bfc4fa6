"""Read a params file and turn every problem into one clear sentence each:
the file, the field path, what is wrong and how to fix it.

Every problem is reported at once. Structural problems (types, unknown keys,
one-field rules) come from pydantic; to still run the cross-section rules of
``checks.py`` when some exist, the loader *salvages* a copy of the data: it
drops each bad value (so its default applies), replaces a bad secret with a
placeholder reference, and drops a whole host, node or optional section only
when a required field inside it is bad. Cross-section problems that could be
artefacts of that salvage (they name something dropped) are left out, and so
are warnings. Nothing is written anywhere.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..core.errors import ParamsError, Problem, merged
from .broker_checks import broker_checks
from .checks import cross_checks
from .instance import for_instance
from .model import Params
from .problems import SECRET_FIELDS, _field, _fix_for, _is_secret_field
from .sanity import sanity_checks
from .yamlstrict import read_strict

PLACEHOLDER_SECRET = {"secret": "SALVAGED_PLACEHOLDER"}
# Where a required field's problem can be contained by dropping the enclosing part.
ENTRY_COLLECTIONS = {"hosts", "nodes"}
OPTIONAL_SECTIONS = {"database", "certificates", "lab", "deployment_sync"}
_GONE = object()


# --- YAML -------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers duplicate keys (PyYAML keeps the last one silently)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            loader.duplicates.append((key_node.value, line, seen[key]))
        else:
            seen[key] = line
    yield from loader.construct_yaml_map(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def _read_yaml(path: Path, file: str) -> tuple[Any, list[Problem]]:
    try:
        text, root = read_strict(path, file)  # bounded, no YAML 1.1 surprises (yamlstrict.py)
    except FileNotFoundError:
        raise ParamsError([Problem(file, "(file)", "no such file", "give the path of a params YAML file")], file)
    except (OSError, UnicodeDecodeError) as e:
        raise ParamsError([Problem(file, "(file)", f"cannot be read ({e})", "give a readable UTF-8 YAML file")], file)
    loader = _Loader(text if root is None else "")
    try:  # from the node tree read_strict composed, else parsed here (reports what is not YAML)
        raw = loader.get_single_data() if root is None else loader.construct_document(root)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        what = getattr(e, "problem", None) or str(e)
        context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and cmark is not None and (mark is None or cmark.line != mark.line):
            what += f", {context} that starts at line {cmark.line + 1}"
        raise ParamsError([Problem(file, where, f"not valid YAML ({what})",
                                   "fix the YAML syntax at that line")], file) from None
    finally:
        loader.dispose()
    dups = [Problem(file, f"line {line}", f"duplicate key `{key}` (first at line {first}; YAML would keep "
                    "only the last one)", "remove one of them or merge them") for key, line, first in loader.duplicates]
    return raw, dups


# --- salvage: validate, drop what is bad, validate again ----------------------

def _entry(loc: tuple) -> tuple | None:
    """The droppable part that contains LOC, or None when nothing can be dropped."""
    if len(loc) >= 2 and loc[0] in ENTRY_COLLECTIONS:
        return loc[:2]
    if len(loc) >= 3 and loc[:2] == ("cluster", "extra_hosts"):
        return loc[:3]
    if len(loc) >= 3 and loc[:2] == ("database", "names"):
        return loc[:3]  # names have defaults
    if loc and loc[0] in OPTIONAL_SECTIONS:
        return loc[:1]
    return None


def _existing_prefix(data: Any, loc: tuple) -> tuple:
    """The longest prefix of LOC that exists in DATA."""
    cur, out = data, ()
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            break
        out += (part,)
    return out


def _apply(data: Any, loc: tuple, value: Any) -> None:
    cur = data
    for part in loc[:-1]:
        cur = cur[part]
    cur[loc[-1]] = value


def _compact(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _compact(v) for k, v in data.items() if v is not _GONE}
    if isinstance(data, list):
        return [_compact(v) for v in data if v is not _GONE]
    return data


def _validate(raw: dict, file: str) -> tuple[Params | None, list[Problem], set[str], bool]:
    """(params or None, structural problems, dropped names, salvaged?)."""
    work = copy.deepcopy(raw)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    deleted: set[tuple] = set()
    dropped: set[str] = set()
    for _ in range(10):
        try:
            return Params.model_validate(work), problems, dropped, bool(problems)
        except ValidationError as e:
            errors = e.errors()
        actions: list[tuple[tuple, Any]] = []
        stuck = False
        for err in errors:
            loc = tuple(err["loc"])
            caused_by_us = err["type"] == "missing" and loc in deleted
            if not caused_by_us:
                message, fix = _fix_for(err)
                p = Problem(file, _field(loc), message, fix)
                if (p.field, p.message) not in seen:
                    seen.add((p.field, p.message))
                    problems.append(p)
            if loc and loc[-1] == "[key]":
                target: tuple | None = _existing_prefix(work, loc[:-1])
                target = target if len(target) == len(loc) - 1 else None
            elif _is_secret_field(loc):  # a placeholder reference keeps the section checkable
                secret_loc = loc if str(loc[-1]) in SECRET_FIELDS else loc[:-1]
                actions.append((secret_loc, dict(PLACEHOLDER_SECRET)))
                continue
            elif err["type"] == "missing":
                target = _entry(loc)
            else:
                leaf = loc
                while leaf and isinstance(leaf[-1], int):  # a bad list item: drop the whole list
                    leaf = leaf[:-1]
                target = _existing_prefix(work, leaf) or None
                if target is not None and len(target) < len(leaf):
                    target = _entry(loc)
            if not target:
                stuck = True
                continue
            actions.append((target, _GONE))
            deleted.add(target)
            dropped.add(_field(target))
        if stuck or not actions:
            return None, problems, dropped, True
        for target, value in actions:
            if _existing_prefix(work, target) == target:
                _apply(work, target, value)
        work = _compact(work)
    return None, problems, dropped, True


def _artefact(p: Problem, dropped: set[str]) -> bool:
    """A cross-check problem that may only exist because the salvage dropped
    something (a value, a host, a node or a section, given as field paths)."""
    for d in dropped:
        if p.field == d or p.field.startswith(d + "."):
            return True
        parts = d.split(".")
        if len(parts) >= 2 and parts[0] in ENTRY_COLLECTIONS:
            # A host or node dropped, or one of its values back at its default:
            # anything said about it (e.g. "same offset as `x`") is suspect.
            if f"`{parts[1]}`" in p.message or f"`{parts[1]}`" in p.fix or p.field.startswith(".".join(parts[:2]) + "."):
                return True
            if len(parts) == 2 and parts[0] == "nodes" and p.field in (
                    "nodes", "load_balancer.kind", "database.names.mb_store", "deployment_sync.kind", "database"):
                return True  # counts of nodes by role
        if d == "database" and p.field == "cluster.hostnames.database":
            return True
    return False


def read_raw(path: str | Path) -> dict:
    """The params file's YAML as written (no instance translation, no
    validation); ParamsError when it is not a readable YAML mapping."""
    raw, _ = _read_yaml(Path(path), str(path))
    if not isinstance(raw, dict):
        raise ParamsError([Problem(str(path), "(top level)", "expected a mapping",
                                   "start the file with `name:`, `product:`, `hosts:` ...")], str(path))
    return raw


def load_params(path: str | Path, *, warnings: list[Problem] | None = None) -> Params:
    """Load and validate a params file; raise ParamsError with every problem.

    Warnings (advice the documents give, not errors) are appended to
    ``warnings`` when a list is passed.
    """
    path = Path(path)
    file = str(path)
    raw, problems = _read_yaml(path, file)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise ParamsError(problems + [Problem(file, "(top level)", f"expected a mapping, got {got}",
                                              "start the file with `name:`, `product:`, `hosts:` ...")], file)
    raw = for_instance(raw, file)  # a named lab instance's addresses and folder (instance.py)
    params, structural, dropped, salvaged = _validate(raw, file)
    problems += structural
    if params is not None:
        found = cross_checks(params, file, path.resolve().parent) + broker_checks(params, file)
        found += sanity_checks(params, file, path.resolve().parent)  # sanity.py
        if salvaged:
            found = [p for p in found if p.level == "error" and not _artefact(p, dropped)]
        problems += [p for p in found if p.level == "error"]
        if warnings is not None:
            warnings.extend(merged([p for p in found if p.level == "warning"]))
    if problems:
        raise ParamsError(merged(problems), file)
    assert params is not None
    return params


def validate_file(path: str | Path) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for a params file, raising nothing."""
    warnings: list[Problem] = []
    try:
        load_params(path, warnings=warnings)
    except ParamsError as e:
        return list(e.problems), warnings
    return [], warnings
