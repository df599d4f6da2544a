"""The API reads JSON only, within limits that live in one place.

Every request body goes through :class:`LimitedJSONParser`: a body over ``API_MAX_BODY_BYTES``
is 413 ``body_too_large``; JSON nested deeper than ``API_MAX_JSON_DEPTH``, with more than
``API_MAX_JSON_ELEMENTS`` values, a string longer than ``API_MAX_STRING_LENGTH``, or a NUL
character or lone surrogate in any string or key (PostgreSQL stores neither) is 400
``invalid_json`` naming the offending field by its path (``lines[3].name``). Other media types
are 415 (DRF's ``unsupported_media_type``): a form-encoded body would otherwise lose nested
fields silently. The same string rule is applied to query parameters by
:func:`check_query_params`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, status

from crm.errors import DomainError

# A NUL (PostgreSQL text cannot hold it) or a UTF-16 surrogate on its own (not valid Unicode).
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


class BodyTooLarge(DomainError):
    code = "body_too_large"
    status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class InvalidBody(DomainError):
    code = "invalid_json"
    status = status.HTTP_400_BAD_REQUEST


def limit(name: str) -> int:
    return int(getattr(settings, name))


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or ``None``."""
    if _FORBIDDEN.search(value):
        return _("Text may not contain NUL characters or unpaired surrogates.")
    if len(value) > limit("API_MAX_STRING_LENGTH"):
        return _("Text is longer than %(n)d characters.") % {"n": limit("API_MAX_STRING_LENGTH")}
    return None


def _walk(data: Any) -> Iterator[tuple[str, int, Any]]:
    """``(path, depth, value)`` for every value, iteratively (no recursion to exhaust)."""
    stack: list[tuple[str, int, Any]] = [("", 0, data)]
    while stack:
        path, depth, value = stack.pop()
        yield path, depth, value
        if isinstance(value, dict):
            for key, item in value.items():
                key_path = f"{path}.{key}" if path else str(key)
                yield key_path, depth + 1, key  # keys are strings to check too
                stack.append((key_path, depth + 1, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", depth + 1, item) for i, item in enumerate(value))


def check_structure(data: Any) -> None:
    """Refuse what no field may hold; raise :class:`InvalidBody` naming the field."""
    max_depth, max_elements = limit("API_MAX_JSON_DEPTH"), limit("API_MAX_JSON_ELEMENTS")
    for count, (path, depth, value) in enumerate(_walk(data), start=1):
        # The path names the field in the answer: a key's own NUL or surrogate can't be echoed.
        field = _FORBIDDEN.sub("\ufffd", path) or "non_field_errors"
        if count > max_elements:
            raise InvalidBody(
                _("The body has more than %(n)d values.") % {"n": max_elements},
                field="non_field_errors",
            )
        if depth > max_depth:
            raise InvalidBody(
                _("The body is nested deeper than %(n)d levels.") % {"n": max_depth},
                field=field,
            )
        if isinstance(value, str) and (reason := string_problem(value)):
            raise InvalidBody(reason, field=field)


def check_query_params(params: QueryDict) -> None:
    for key in params:
        for value in [key, *params.getlist(key)]:
            if reason := string_problem(value):
                raise InvalidBody(reason, field=_FORBIDDEN.sub("\ufffd", str(key)))


class LimitedJSONParser(parsers.JSONParser):
    """JSON within the limits above; everything else about the body is DRF's."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        max_bytes = limit("API_MAX_BODY_BYTES")
        raw = stream.read(max_bytes + 1) if stream is not None else b""
        if len(raw) > max_bytes:
            raise BodyTooLarge(
                _("The body is larger than %(n)d bytes.") % {"n": max_bytes},
                field="non_field_errors",
            )
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_no_constant)
        except RecursionError:
            raise InvalidBody(
                _("The body is nested deeper than %(n)d levels.")
                % {"n": limit("API_MAX_JSON_DEPTH")},
                field="non_field_errors",
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from exc
        check_structure(data)
        return data


def _no_constant(name: str) -> Any:
    raise ValueError(_("%(name)s is not valid JSON.") % {"name": name})
