"""Every CSV the product writes (export manifests, the audit log) passes each cell through csv_cell(), so no text a
customer typed runs as a formula when an admin opens the file in a spreadsheet (CSV or formula injection)."""
from __future__ import annotations

import json

# OWASP's CSV-injection rule: a cell that starts with = + - @ tab or carriage return is a formula to Excel, Calc or
# Sheets. The full-width forms are read as formulas too by spreadsheets in East Asian locales.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """The value as a CSV cell: text that would start a formula gets a leading ' (shown as text, never run).

    Numbers, booleans and None are the product's own values and stay as they are (-0.3 is a number, not a formula);
    a dict is written as JSON.
    """
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(row: dict) -> dict:
    """csv_cell() on every value of a csv.DictWriter row."""
    return {key: csv_cell(value) for key, value in row.items()}
