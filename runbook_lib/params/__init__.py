"""Cluster parameters: the model, loading with clear errors, derived values, secrets."""

from .derive import NodeView, all_databases, hosts_entries, jdbc_url, layout, node_views, well_known_members
from .load import load_params, validate_file
from .model import Params
from .secrets import Secrets

__all__ = ["Params", "NodeView", "Secrets", "load_params", "validate_file", "node_views", "layout",
           "well_known_members", "jdbc_url", "hosts_entries", "all_databases"]
