"""Read a params file and turn every problem into one clear sentence each:
the file, the field path, what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ParamsError, Problem
from .checks import cross_checks
from .model import Params

SECRET_FIELDS = {"admin_password", "app_password", "password", "truststore_password"}


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _fix_for(err: dict[str, Any], model_fields: list[str] | None = None) -> tuple[str, str]:
    """Map one pydantic error to (message, fix)."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    last = str(loc[-1]) if loc else ""
    if last in SECRET_FIELDS or (len(loc) > 1 and str(loc[-2]) in SECRET_FIELDS):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return ("a secret is written in clear text",
                    f"write `{last}: {{secret: NAME}}` and put NAME=value in the secrets file or the environment")
    if kind == "extra_forbidden":
        return (f"unknown key `{last}`", "remove it or correct its spelling (see params/params.schema.json)")
    if kind == "missing":
        return (f"`{last}` is required", f"add `{last}:`")
    if kind == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return (f"{value!r} is not allowed", f"use one of {allowed}")
    if kind == "string_pattern_mismatch":
        return (f"{value!r} has the wrong form", f"match the pattern {err['ctx']['pattern']}")
    if kind.startswith("int_") or kind in ("greater_than_equal", "less_than_equal", "greater_than"):
        return (f"{value!r}: {err['msg'].lower()}", "write a whole number in the allowed range")
    if kind.startswith("ip_v4") or "ipv4" in kind:
        return (f"{value!r} is not an IPv4 address", "write a dotted IPv4 address such as 198.51.100.10")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return (f"expected a mapping, got {type(value).__name__}", "write it as `key: value` lines")
    if kind == "list_type":
        return (f"expected a list, got {type(value).__name__}", "write it as a YAML list `[a, b]`")
    return (err["msg"], "correct the value")


def problems_from_validation(exc: ValidationError, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        message, fix = _fix_for(err)
        out.append(Problem(file, _field(err["loc"]), message, fix))
    return out


def load_params(path: str | Path, *, warnings: list[Problem] | None = None) -> Params:
    """Load and validate a params file; raise ParamsError with every problem.

    Warnings (advice the documents give, not errors) are appended to
    ``warnings`` when a list is passed.
    """
    path = Path(path)
    file = str(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError([Problem(file, "(file)", "no such file", "give the path of a params YAML file")], file)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ParamsError([Problem(file, where, f"not valid YAML ({getattr(e, 'problem', e)})",
                                   "fix the YAML syntax at that line")], file) from e
    if not isinstance(raw, dict):
        raise ParamsError([Problem(file, "(top level)", "expected a mapping",
                                   "start the file with `name:`, `product:`, `hosts:` ...")], file)
    try:
        params = Params.model_validate(raw)
    except ValidationError as e:
        raise ParamsError(problems_from_validation(e, file), file) from None
    found = cross_checks(params, file, path.resolve().parent)
    errors = [p for p in found if p.level == "error"]
    if warnings is not None:
        warnings.extend(p for p in found if p.level == "warning")
    if errors:
        raise ParamsError(errors, file)
    return params


def validate_file(path: str | Path) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for a params file, raising nothing."""
    warnings: list[Problem] = []
    try:
        load_params(path, warnings=warnings)
    except ParamsError as e:
        return list(e.problems), warnings
    return [], warnings
