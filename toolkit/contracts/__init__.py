"""Data contracts: read the contract files and validate input tables against them."""

from toolkit.contracts.schema import (
    Contract,
    FieldSpec,
    ForeignKey,
    RowCheck,
    load_contract,
    load_contracts,
)
from toolkit.contracts.validate import (
    ValidationReport,
    Violation,
    check_table,
    load_tables,
    read_raw,
    validate_dir,
    validate_tables,
)

__all__ = [
    "Contract",
    "FieldSpec",
    "ForeignKey",
    "RowCheck",
    "ValidationReport",
    "Violation",
    "check_table",
    "load_contract",
    "load_contracts",
    "load_tables",
    "read_raw",
    "validate_dir",
    "validate_tables",
]
