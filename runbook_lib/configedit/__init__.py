"""Byte-preserving edits of WSO2 configuration files (pure functions over bytes).

Each ``apply_*_edits`` takes the file's bytes and a list of declarative edits
and returns an :class:`EditResult` (new bytes, changed, real diff, notes).
Reading and writing remote files is someone else's job.
"""

from runbook_lib.configedit._result import EditResult
from runbook_lib.configedit.xml import (Edit, EnsureChild, EnsureProperty, Remove, ReplaceChildren,
                                        SetAttr, SetParameter, SetText, Uncomment, apply_xml_edits,
                                        get_values)

__all__ = [
    "EditResult",
    "Edit", "SetText", "SetAttr", "EnsureChild", "SetParameter", "EnsureProperty", "Uncomment",
    "ReplaceChildren", "Remove", "apply_xml_edits", "get_values",
]
