"""Byte-preserving edits of WSO2 configuration files (pure functions over bytes).

Each ``apply_*_edits`` takes a file's bytes and a list of declarative edits and
returns an :class:`EditResult` (new bytes, changed, real diff, one note per
edit). A no-op leaves the bytes identical. Reading and writing remote files is
another module's job.
"""

from runbook_lib.configedit._result import EditResult
from runbook_lib.configedit.lbconf import (RemoveLbBlock, ReplaceLbBlock, SetLbValue, apply_lbconf_edits,
                                           lbconf_problems, read_lbconf)
from runbook_lib.configedit.properties import (RemoveProperty, SetProperty, apply_properties_edits,
                                               read_properties)
from runbook_lib.configedit.xml import (Edit, EnsureChild, EnsureProperty, Remove, ReplaceChildren,
                                        SetAttr, SetParameter, SetText, Uncomment, apply_xml_edits,
                                        get_values)

__all__ = [
    "EditResult",
    # XML
    "Edit", "SetText", "SetAttr", "EnsureChild", "SetParameter", "EnsureProperty", "Uncomment",
    "ReplaceChildren", "Remove", "apply_xml_edits", "get_values",
    # .properties
    "SetProperty", "RemoveProperty", "apply_properties_edits", "read_properties",
    # loadbalancer.conf
    "SetLbValue", "ReplaceLbBlock", "RemoveLbBlock", "apply_lbconf_edits", "read_lbconf", "lbconf_problems",
]
