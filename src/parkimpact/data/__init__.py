"""Firm panels, data adapters and row accounting."""

from parkimpact.data.adapters import build_panel, load_sources
from parkimpact.data.drops import DropReport
from parkimpact.data.duckdb_engine import DuckDBEngine, PanelFile
from parkimpact.data.io import ColumnMapping, load_mapping, read_table
from parkimpact.data.panel import FirmPanel, PanelRoles
from parkimpact.data.rd_capital import perpetual_inventory

__all__ = [
    "ColumnMapping",
    "DropReport",
    "DuckDBEngine",
    "FirmPanel",
    "PanelFile",
    "PanelRoles",
    "build_panel",
    "load_mapping",
    "load_sources",
    "perpetual_inventory",
    "read_table",
]
