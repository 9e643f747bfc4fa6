"""Pydantic's validation errors as the runbook's problems: one sentence each,
naming the field path, what is wrong (in words, not pydantic's) and the fix.
load.py uses it for structural problems and while salvaging.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.errors import Problem
from .fields import PATTERN_WORDS
from .model import Params

SECRET_FIELDS = {"admin_password", "app_password", "password", "truststore_password"}


def _field(loc: tuple) -> str:
    parts = [str(part) for part in loc if part != "[key]"]
    return ".".join(parts) or "(top level)"


def _unwrap(tp: Any) -> Any:
    """Strip Annotated/Optional from a field type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the field at LOC (for suggestions)."""
    tp: Any = Params
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _is_secret_field(loc: tuple) -> bool:
    return bool(loc) and (str(loc[-1]) in SECRET_FIELDS or (len(loc) > 1 and loc[-1] == "secret"
                                                             and str(loc[-2]) in SECRET_FIELDS))


def _fix_for(err: dict[str, Any]) -> tuple[str, str]:
    """Map one pydantic error to (message, fix). Never echoes a secret's value."""
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    last = str(loc[-1]) if loc else ""
    if kind == "runbook":
        return err["ctx"]["message"], err["ctx"]["fix"]
    if loc and str(loc[-1]) in SECRET_FIELDS and kind != "missing":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return ("a secret is written in clear text",
                    f"write `{last}: {{secret: NAME}}` and put NAME=value in the secrets file or the environment")
        return ("expected a secret reference", f"write `{last}: {{secret: NAME}}`")
    if _is_secret_field(loc) and kind == "string_pattern_mismatch":
        return ("not a usable secret name (is it the secret itself?)",
                "name the secret in UPPER_CASE letters, digits and _, e.g. {secret: DB_APP_PASSWORD}, "
                "and put NAME=value in the secrets file")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(last, allowed, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        return (f"unknown key `{last}`",
                f"{hint}remove it or correct its spelling; allowed here: {', '.join(allowed)}" if allowed
                else "remove it or correct its spelling (see params/params.schema.json)")
    if kind == "missing":
        return (f"`{last}` is required", f"add `{last}:`")
    if kind == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return (f"{value!r} is not allowed", f"use one of {allowed}")
    if kind == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        words = PATTERN_WORDS.get(pattern, f"the pattern {pattern}")
        if loc and loc[-1] == "[key]":
            return (f"`{value}` is not a valid name", f"use {words}")
        return (f"{value!r} has the wrong form", f"write {words}")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return (f"{value!r}: {err['msg'].lower()}", "write a number in the allowed range")
    if kind.startswith("int_") or kind.startswith("float_"):
        return (f"{value!r}: {err['msg'].lower()}", "write a number")
    if kind == "bool_parsing" or kind == "bool_type":
        return (f"{value!r} is not true or false", "write true or false")
    if kind.startswith("ip_v4_network"):
        return (f"{value!r} is not an IPv4 network", "write a network such as 198.51.100.0/24 (host bits zero)")
    if kind.startswith("ip_v4") or "ipv4" in kind:
        return (f"{value!r} is not an IPv4 address", "write a dotted IPv4 address such as 198.51.100.10")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return (f"expected a mapping, got {type(value).__name__}", "write it as `key: value` lines")
    if kind == "list_type":
        return (f"expected a list, got {type(value).__name__}", "write it as a YAML list `[a, b]`")
    if kind in ("too_short", "too_long"):
        return (err["msg"].lower(), "add at least one entry" if kind == "too_short" else "remove some entries")
    if kind in ("string_type",):
        return (f"expected text, got {type(value).__name__}", "write it as a string (quote it if needed)")
    return (err["msg"], "correct the value")


def problems_from_validation(exc: ValidationError, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        message, fix = _fix_for(err)
        out.append(Problem(file, _field(tuple(err["loc"])), message, fix))
    return out


