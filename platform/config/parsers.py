"""The API's request parsers: DRF's, plus the limits of config/request_input.py (JSON depth, no NUL characters,
body size).

They are the REST_FRAMEWORK defaults; a view that names its own parser_classes takes them from here too, and a
serializer that takes free-form JSON uses this module's JSONField.
"""
from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework import parsers, serializers

from .request_input import InputRefused, check_parsed, check_text, field_path, loads, too_deep


def too_large() -> InputRefused:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
    return InputRefused("request_too_large", f"The request body is larger than {megabytes:g} MB "
                                             f"(files are counted apart, against their own limits).", status=413)


def _read_capped(stream) -> io.BytesIO:
    # DRF reads the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applied to JSON or form bodies.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large()
    return io.BytesIO(raw)


def _check_form(data) -> None:
    for key, values in data.lists():
        check_text(key, field_path(key))
        for value in values:
            if isinstance(value, str):
                check_text(value, field_path(key))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(_read_capped(stream), media_type, parser_context)
        except RecursionError:  # json recurses once per level: 100,000 "[" used to be a 500
            raise too_deep() from None
        return check_parsed(data)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(_read_capped(stream), media_type, parser_context)
        except TooManyFieldsSent:
            raise too_large() from None
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            result = super().parse(stream, media_type, parser_context)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):  # Django's limits: HTML 400s before
            raise too_large() from None
        _check_form(result.data)
        return result


class JSONField(serializers.JSONField):
    """A serializer JSONField whose value meets a JSON body's limits, also where it arrives as JSON text in a form
    field (DRF's own json.loads there let 100,000 "[" and NUL characters through to a 500)."""

    def to_internal_value(self, data):
        if self.binary or getattr(data, "is_json_string", False):
            try:
                return loads(data.decode() if isinstance(data, bytes) else data, self.field_name)
            except InputRefused:
                raise
            except ValueError:
                self.fail("invalid")
        return check_parsed(super().to_internal_value(data), self.field_name)
