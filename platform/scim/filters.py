"""The SCIM filters we answer (RFC 7644 §3.4.2.2): `<attribute> eq <value>` clauses joined by `and`.

That is what directories send to look a user or group up before creating it; anything else is refused with
400 invalidFilter rather than answered wrongly.
"""
from __future__ import annotations

import re

from config import request_input

from .errors import ScimError

# attrPath SP "eq" SP compValue, where compValue is a JSON string, true, false, null or a number.
_CLAUSE = re.compile(r'\s*([A-Za-z][\w$.:\-]*)\s+(eq)\s+("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*',
                     re.IGNORECASE)
_AND = re.compile(r"and\s+", re.IGNORECASE)


def parse_filter(text: str, allowed: dict[str, str]) -> list[tuple[str, object]]:
    """Return [(field key, value)] for a filter over `allowed` ({lower-case attribute path: field key})."""
    clauses: list[tuple[str, object]] = []
    position = 0
    text = text.strip()
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise _invalid(text)
        attribute = match.group(1).lower()
        for prefix in ("urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:"):
            attribute = attribute.removeprefix(prefix)
        if attribute not in allowed:
            raise ScimError(400, f"Filtering on '{match.group(1)}' is not supported; supported: "
                                 f"{', '.join(sorted(set(allowed)))} with 'eq' and 'and'.", "invalidFilter")
        try:
            value = request_input.loads(match.group(3))
        except request_input.InputRefused as refused:  # "\u0000" in the value: PostgreSQL can't compare it
            raise ScimError(400, f"The filter value of {match.group(1)}: {refused.message}", "invalidValue") from None
        except ValueError:  # a raw control character inside the quotes
            raise _invalid(text) from None
        clauses.append((allowed[attribute], value))
        position = match.end()
        if position == len(text):
            return clauses
        joiner = _AND.match(text, position)
        if joiner is None:
            raise _invalid(text)
        position = joiner.end()


def _invalid(text: str) -> ScimError:
    return ScimError(400, f"The filter {text!r} is not supported: use <attribute> eq \"value\", joined by 'and'.",
                     "invalidFilter")
