"""Limits every request's input meets where it is parsed: JSON nesting depth, NUL characters, numbers and ids.

PostgreSQL stores no NUL (U+0000) in text or jsonb, and Python's json decoder recurses once per nesting level: both
used to surface as 500s far from where the input came in. The API's parsers (config/parsers.py), the query-string
check (config/middleware.py), SCIM's body and filter readers and the CSV import all refuse them here instead, with a
message that names the field, so one rule holds everywhere.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

# Deep enough for every document the API takes (a brand spec is 3 levels, a SCIM PATCH 5), shallow enough that no
# code walking a parsed body recurses anywhere near Python's limit.
JSON_MAX_DEPTH = 32
# The largest id PostgreSQL's bigint (every primary key) holds.
MAX_ID = 2**63 - 1
_ASCII_ID = re.compile(r"[0-9]{1,19}")


class InputRefused(ValueError):
    """Input no endpoint accepts. `path` names the field ("spec.variants.1"), or is empty for the whole body."""

    def __init__(self, code: str, message: str, path: str = "", status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.status = status


def field_path(*parts: object) -> str:
    """"spec" + "variants" + 1 -> "spec.variants.1", with any NUL in a key shown as \\u0000."""
    return ".".join(str(part).replace("\x00", "\\u0000") for part in parts if part != "")


def too_deep(path: str = "") -> InputRefused:
    where = f" at {path}" if path else ""
    return InputRefused("json_too_deep", f"The JSON is nested deeper than {JSON_MAX_DEPTH} levels{where}.", path)


def nul_refused(path: str) -> InputRefused:
    return InputRefused("nul_character", f"{path or 'The value'} contains a NUL character (\\u0000), which is not "
                                         f"allowed.", path)


def check_text(value: str, path: str) -> str:
    if "\x00" in value:
        raise nul_refused(path)
    return value


def check_parsed(data: Any, prefix: str = "", depth: int = 0) -> Any:
    """Walk parsed JSON (without recursion): refuse nesting past JSON_MAX_DEPTH, NUL in any key or string and numbers
    beyond a float's range.

    `depth` is how deep `data` already sits (a JSON document embedded in a form field starts at 0 again).
    """
    stack: list[tuple[Any, str, int]] = [(data, prefix, depth)]
    while stack:
        value, path, level = stack.pop()
        if isinstance(value, str):
            check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):  # 1e400 parses as infinity
            raise InputRefused("number_out_of_range", f"{path or 'The value'} is a number out of range.", path)
        elif isinstance(value, (dict, list)):
            if level + 1 > JSON_MAX_DEPTH:
                raise too_deep(path)
            items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for key, _item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise nul_refused(field_path(path, key))
            # Reversed onto the stack, so the first bad field in document order is the one reported.
            stack.extend((item, field_path(path, key), level + 1) for key, item in reversed(items))
    return data


def loads(raw: str | bytes, prefix: str = "", *, parse_constant=None) -> Any:
    """json.loads, then check_parsed. Malformed JSON still raises ValueError; past the limits, InputRefused."""
    try:
        data = json.loads(raw, parse_constant=parse_constant)
    except RecursionError:
        raise too_deep(prefix) from None
    return check_parsed(data, prefix)


def ascii_id(value: object) -> int | None:
    """The id a path segment or filter names, or None: only ASCII digits within bigint ("²" and "١٢" are digits to
    str.isdigit(), and 10**20 overflows PostgreSQL)."""
    text = str(value)
    if not _ASCII_ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
