"""OpenAPI postprocessing: every operation under /api/ documents the errors it can answer, in the API's error shape,
and the schema states the limits every request meets (config/request_input.py, the parsers, pagination, rates)."""
from __future__ import annotations

from django.conf import settings

from .pagination import CappedLimitOffsetPagination
from .request_input import JSON_MAX_DEPTH, MAX_ID

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
ERROR_SCHEMA = {
    "type": "object",
    "description": "The API's error shape.",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, for people."},
        "code": {"type": "string", "description": "A stable code for programs (e.g. not_found, nul_character)."},
        "errors": {"type": "object", "additionalProperties": {},
                   "description": "Per field (a dotted path such as spec.variants.1): the problems with it."},
    },
    "required": ["detail", "code"],
}
ERRORS = {
    "400": "Invalid input; `errors` names each field. Also: JSON nested deeper than the limit (json_too_deep), a NUL "
           "character in any string, key or query parameter (nul_character), a number beyond a float's range.",
    "401": "Not signed in, or the token or API key is unknown, revoked or expired.",
    "403": "Signed in, but this role or API-key scope may not do this.",
    "404": "No such object in this organization (also a path id that is not a whole number, and an organization "
           "the caller doesn't belong to).",
    "413": "The request body is larger than the limit.",
    "429": "Over a rate limit; see Retry-After.",
    "4XX": "Any other refusal (e.g. 409 when the object's state or another object forbids the change), in the same "
           "error shape.",
}


def limits_text() -> str:
    body_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
    pagination = CappedLimitOffsetPagination
    rates = ", ".join(f"{scope} {rate}" for scope, rate in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items())
    return (
        "\n\n## Limits\n\n"
        f"- JSON bodies: at most {body_mb:g} MB, nested at most {JSON_MAX_DEPTH} levels; no NUL character (\\u0000) "
        "in any string, key, form field or query parameter; numbers within a double's range. Else 400 (413 for "
        "size) naming the field.\n"
        f"- Uploads: form fields other than files at most {body_mb:g} MB together; each file endpoint states its own "
        "limit (selfies, brand-kit backgrounds, the employee CSV, SAML metadata).\n"
        f"- Lists: `limit` defaults to {settings.REST_FRAMEWORK['PAGE_SIZE']} and is cut to "
        f"{pagination.max_limit}.\n"
        f"- Ids in paths are whole numbers from 1 to {MAX_ID}; anything else is a JSON 404.\n"
        f"- Text fields: the `maxLength` of each field in this schema.\n"
        f"- Rate limits (per user, IP or key): {rates}.\n"
        "- Errors: always `{\"detail\", \"code\", \"errors\"}` (the Error schema)."
    )


def document_errors_and_limits(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    info = result.setdefault("info", {})
    info["description"] = info.get("description", "") + limits_text()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            parameters = operation.get("parameters", [])
            path_parameters = [p for p in parameters if p.get("in") == "path"]
            # 401 too where anonymous calls are allowed: a bad token is refused everywhere, and sign-in refuses.
            codes = ["400", "401", "429", "4XX"]
            if {} not in operation.get("security", [{}]):  # no anonymous access
                codes.append("403")
            if path_parameters:
                codes.append("404")
            if "requestBody" in operation:
                codes.append("413")
            responses = operation.setdefault("responses", {})
            for code in codes:
                documented = responses.setdefault(code, {"description": ERRORS[code]})
                documented.setdefault("content", error)
                documented["description"] = documented.get("description") or ERRORS[code]
            for parameter in path_parameters:
                schema = parameter.get("schema", {})
                if schema.get("type") == "integer":
                    schema.setdefault("minimum", 1)
                    schema.setdefault("maximum", MAX_ID)
    return result
