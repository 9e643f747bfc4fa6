"""Importing this (the run package does, first) defers a cost every headless run paid for nothing.

nbformat (papermill's, the report's) imports jsonschema, whose format checkers
import rfc3987_syntax when it is installed (jsonschema[format-nongpl], via
jupyterlab); that module compiles some 35 Lark grammars at import: about 1.5 s
of CPU in every `runbook run`, `check` and `report` process (upstream:
python-jsonschema/jsonschema#1428). No notebook schema uses the "iri" formats
those grammars check. A stand-in module takes its place until the first IRI
check, which then imports the real one: the same answers, paid only if asked.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

NAME = "rfc3987_syntax"


def _defer() -> None:
    if NAME in sys.modules or importlib.util.find_spec(NAME) is None:
        return
    stub = types.ModuleType(NAME)
    stub.__doc__ = "Stand-in until the first IRI check (runbook_lib/run/iri_grammar.py)."

    def is_valid_syntax(term: str, value: str) -> bool:
        if sys.modules.get(NAME) is stub:
            del sys.modules[NAME]
        real = importlib.import_module(NAME)
        stub.is_valid_syntax = real.is_valid_syntax
        return real.is_valid_syntax(term, value)

    stub.is_valid_syntax = is_valid_syntax
    sys.modules[NAME] = stub


_defer()
