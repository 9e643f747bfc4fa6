"""The JSON Schema of the params model, for editors (yaml-language-server)
and for anyone validating params outside Python.

``params/params.schema.json`` is generated from here and must not drift:
tests/test_params.py compares it with ``export_schema()``. Regenerate it with

    .venv/bin/python -m runbook_lib.params.schema
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .model import Params

SCHEMA_FILE = Path(__file__).resolve().parent.parent.parent / "params" / "params.schema.json"


def export_schema() -> dict:
    """Pydantic's JSON Schema of ``Params`` with a $schema, title and description."""
    schema = Params.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "WSO2 Cluster Runbook parameters"
    schema["description"] = (
        "One WSO2 Carbon 4.x cluster (EI 6.x, ESB 4.x, AS 5.x, with nginx or the WSO2 ELB): hosts, nodes, "
        "load balancer, database, deployment synchronizer, certificates. Secrets are named ({secret: NAME}), "
        "never written. `runbook validate FILE` checks everything this schema cannot (references between "
        "sections, port clashes, the ERRATA rules).")
    return schema


def schema_text() -> str:
    """The schema as committed: 2-space indent, sorted keys, trailing newline."""
    return json.dumps(export_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | Path = SCHEMA_FILE) -> Path:
    path = Path(path)
    path.write_text(schema_text())
    return path


if __name__ == "__main__":
    print(write_schema(*sys.argv[1:2]))
