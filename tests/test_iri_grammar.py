"""runbook_lib/run/iri_grammar.py: a headless run no longer compiles rfc3987_syntax's
grammars at import, and jsonschema's IRI checks answer as before (a fresh interpreter:
this process may have imported jsonschema already)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import runbook_lib.run.runner
print("lark" in sys.modules)
from jsonschema import FormatChecker
fc = FormatChecker()
print(fc.conforms("http://ex\\u00e4mple.org/ok", "iri"), fc.conforms("http://ex\\u00e4mple.org/a b", "iri"),
      fc.conforms("../rel ative", "iri-reference"))
print("lark" in sys.modules)
"""


def test_the_grammar_waits_for_the_first_iri_check():
    pytest.importorskip("rfc3987_syntax")
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False", "False", "True"], out
