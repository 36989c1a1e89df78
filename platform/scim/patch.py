"""PATCH (RFC 7644 §3.5.2) applied to a resource's document (its writable attributes as a dict).

The result is then written like a PUT, so a PATCH can never reach a state a PUT couldn't. Besides the RFC forms this
accepts what Microsoft Entra ID sends: capitalised ops ("Replace"), a value object without a path whose keys are
paths ("name.givenName", "urn:...:enterprise:2.0:User:employeeNumber"), `emails[type eq "work"].value` for an
email that doesn't exist yet, "remove members" with the members to remove in `value`, and the enterprise manager
as a bare id. Okta's group rename restates the group's id in its value: an unchanged read-only value is accepted.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .discovery import ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from .errors import ScimError


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str  # "simple", "complex" (single-valued) or "multi" (multi-valued complex)
    read_only: bool = False
    # False: an RFC 7643 attribute we accept and don't keep (see IGNORED below).
    stored: bool = True


def _spec(*attributes: Attribute) -> dict[str, Attribute]:
    return {a.name.lower(): a for a in attributes}


def _ignored(kind: str, *names: str) -> list[Attribute]:
    return [Attribute(name, kind, stored=False) for name in names]


# RFC 7643's User attributes that directories map by default (Entra: preferredLanguage, phoneNumbers, addresses;
# Okta: locale, password) but a headshot service has no use for. A PATCH or PUT naming them succeeds and they are
# dropped, as RFC 7644 §3.3 lets a service provider do: personal data we don't need (home addresses, phone
# numbers) is better never stored than stored and guarded. /Schemas doesn't list them, so a client can see they
# don't round-trip.
IGNORED_USER = (_ignored("simple", "nickName", "profileUrl", "userType", "preferredLanguage", "locale", "timezone",
                         "password")
                + _ignored("multi", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
                           "x509Certificates"))
IGNORED_ENTERPRISE = _ignored("simple", "costCenter", "organization", "division")

USER_SPEC = _spec(Attribute("userName", "simple"), Attribute("name", "complex"), Attribute("displayName", "simple"),
                  Attribute("active", "simple"), Attribute("emails", "multi"), Attribute("externalId", "simple"),
                  Attribute("title", "simple"),
                  Attribute("groups", "multi", read_only=True), Attribute("id", "simple", read_only=True),
                  Attribute("meta", "complex", read_only=True), *IGNORED_USER)
ENTERPRISE_SPEC = _spec(Attribute("employeeNumber", "simple"), Attribute("department", "simple"),
                        Attribute("manager", "complex"), *IGNORED_ENTERPRISE)
GROUP_SPEC = _spec(Attribute("displayName", "simple"), Attribute("members", "multi"),
                   Attribute("externalId", "simple"), Attribute("id", "simple", read_only=True),
                   Attribute("meta", "complex", read_only=True))
# Resource schema URN -> {extension URN: its attributes}.
EXTENSIONS = {USER_SCHEMA: {ENTERPRISE_SCHEMA: ENTERPRISE_SPEC}, GROUP_SCHEMA: {}}

_PATH = re.compile(r'^(?P<attr>[A-Za-z$][\w$]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z$][\w$]*))?$')
_VALUE_FILTER = re.compile(r'^\s*([A-Za-z$][\w$]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*$',
                           re.IGNORECASE)


def apply_patch(document: dict, body: object, *, schema: str, spec: dict[str, Attribute],
                current: dict | None = None) -> dict:
    """Apply the PatchOp `body` to `document`. `current` holds read-only values (e.g. {"id": "12"}) that a value
    may repeat unchanged: Okta renames a group with {"op": "replace", "value": {"id": <its id>, "displayName": ...}}.
    """
    current = current or {}
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list) or not body["Operations"]:
        raise ScimError(400, "A PATCH body is a PatchOp message with a non-empty 'Operations' list.", "invalidSyntax")
    if PATCH_OP not in (body.get("schemas") or [PATCH_OP]):
        raise ScimError(400, f"A PATCH body's schemas must be ['{PATCH_OP}'].", "invalidSyntax")
    for operation in body["Operations"]:
        if not isinstance(operation, dict):
            raise ScimError(400, "Each operation is an object with 'op', 'path' and 'value'.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"Unknown PATCH op {operation.get('op')!r}: use add, replace or remove.",
                            "invalidSyntax")
        path, value = operation.get("path"), operation.get("value")
        if path:
            _apply(document, op, str(path), value, schema, spec, current)
        elif op == "remove":
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "schemas":
                    _apply(document, op, key, item, schema, spec, current)
        else:
            raise ScimError(400, "Without a path, the value must be an object of attributes.", "invalidValue")
    return document


def _apply(document: dict, op: str, path: str, value, schema: str, spec: dict[str, Attribute],
           current: dict) -> None:
    container, spec, path = _container(document, path, schema, spec)
    if path is None:  # the whole extension, e.g. {"urn:...:enterprise:2.0:User": {"employeeNumber": "42"}}
        if op == "remove":
            container.clear()
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "schemas":
                    _apply(container, op, key, item, "", spec, {})
        else:
            raise ScimError(400, "An extension's value must be an object.", "invalidValue")
        return
    match = _PATH.match(path)
    if match is None:
        raise ScimError(400, f"The path {path!r} is not valid.", "invalidPath")
    attribute = spec.get(match.group("attr").lower())
    if attribute is None:
        raise ScimError(400, f"Unknown attribute {match.group('attr')!r} in path {path!r}.", "invalidPath")
    name, sub, value_filter = attribute.name, match.group("sub"), match.group("filter")
    if attribute.read_only:
        if op != "remove" and not sub and not value_filter and name in current and _equal(value, current[name]):
            return  # restating a read-only value changes nothing
        raise ScimError(400, f"The attribute {attribute.name!r} is read-only.", "mutability")
    if not attribute.stored:
        if value_filter is not None:
            _parse_value_filter(value_filter)  # a malformed filter is still an error
        return
    if name == "manager" and sub is None and op != "remove" and not isinstance(value, dict):
        # Entra sends the enterprise manager as the manager's id, not as {"value": id} (RFC 7643 §4.3): a new
        # manager, so no displayName of the old one carries over.
        container[name] = {"value": value}
        return
    if attribute.kind == "simple":
        if sub or value_filter:
            raise ScimError(400, f"{name!r} has no sub-attributes.", "invalidPath")
        if op == "remove":
            container.pop(name, None)
        else:
            container[name] = value
    elif attribute.kind == "complex":
        if value_filter:
            raise ScimError(400, f"{name!r} is single-valued; it can't be filtered.", "invalidPath")
        current = container.get(name) if isinstance(container.get(name), dict) else {}
        if sub and op == "remove":
            current.pop(sub, None)
        elif sub:
            current[sub] = value
        elif op == "remove":
            current = {}
        elif isinstance(value, dict):
            # Sub-attributes the value doesn't name are left unchanged, for add and replace alike (§3.5.2.1/3).
            current.update(value)
        else:
            raise ScimError(400, f"The value of {name!r} must be an object.", "invalidValue")
        container[name] = current
    else:
        container[name] = _apply_multi(list(container.get(name) or []), op, name, value_filter, sub, value)


def _apply_multi(items: list, op: str, name: str, value_filter: str | None, sub: str | None, value) -> list:
    if value_filter is not None:
        key, expected = _parse_value_filter(value_filter)
        matches = [item for item in items if isinstance(item, dict) and _equal(item.get(key), expected)]
        if op == "remove":
            if sub:
                for item in matches:
                    item.pop(sub, None)
                return items
            return [item for item in items if not any(item is m for m in matches)]
        if not matches:
            # Entra sets emails[type eq "work"].value for an address that isn't there yet: create it.
            new = {key: expected, sub: value} if sub else {key: expected, **(value if isinstance(value, dict) else {})}
            if not sub and not isinstance(value, dict):
                raise ScimError(400, f"The value for {name}[{value_filter}] must be an object.", "invalidValue")
            return _one_primary(items + [new], new)
        for item in matches:
            if sub:
                item[sub] = value
            elif isinstance(value, dict):
                if op == "replace":
                    item.clear()
                    item[key] = expected
                item.update(value)
            else:
                raise ScimError(400, f"The value for {name}[{value_filter}] must be an object.", "invalidValue")
        return _one_primary(items, matches[0])
    if sub:
        if op == "remove":
            for item in items:
                item.pop(sub, None)
            return items
        for item in items or [{}]:
            item[sub] = value
        return items or [{sub: value}]
    if op == "remove":
        if isinstance(value, list):  # Entra: remove these members, given as [{"value": id}, ...]
            gone = {str(v.get("value")) for v in value if isinstance(v, dict)}
            return [item for item in items if str(item.get("value")) not in gone]
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in values):
        raise ScimError(400, f"The values of {name!r} must be objects.", "invalidValue")
    if op == "replace":
        return [dict(v) for v in values]
    for new in values:
        same = [item for item in items if _equal(item.get("value"), new.get("value"))]
        if same:
            same[0].update(new)
        else:
            items.append(dict(new))
        items = _one_primary(items, same[0] if same else items[-1])
    return items


def _one_primary(items: list, chosen: dict) -> list:
    # "The primary attribute value 'true' MUST appear no more than once" (RFC 7643 §2.4): the newest one wins.
    if chosen.get("primary") in (True, "true", "True"):
        for item in items:
            if item is not chosen and "primary" in item:
                item["primary"] = False
    return items


def _parse_value_filter(text: str) -> tuple[str, object]:
    match = _VALUE_FILTER.match(text)
    if match is None:
        raise ScimError(400, f"The filter [{text}] is not supported in a path: use [attribute eq \"value\"].",
                        "invalidFilter")
    try:
        return match.group(1), json.loads(match.group(2))
    except ValueError:  # a control character or a bad escape (\q) inside the quotes: was a 500
        raise ScimError(400, f"The value in [{text}] is not a valid JSON value.", "invalidFilter") from None


def _equal(actual, expected) -> bool:
    if isinstance(expected, str) or isinstance(actual, str):
        return str(actual).lower() == str(expected).lower()
    return actual == expected


def _container(document: dict, path: str, schema: str, spec: dict[str, Attribute]):
    """Strip a schema URN from the path: (dict the path applies to, its attributes, the rest of the path or None)."""
    lower = path.lower()
    for urn, extension_spec in EXTENSIONS.get(schema, {}).items():
        if lower == urn.lower():
            return document.setdefault(urn, {}), extension_spec, None
        if lower.startswith(urn.lower() + ":"):
            return document.setdefault(urn, {}), extension_spec, path[len(urn) + 1:]
    if schema and lower.startswith(schema.lower() + ":"):
        return document, spec, path[len(schema) + 1:]
    return document, spec, path
