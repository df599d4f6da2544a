"""Domain errors: a message a person can act on, a stable code, optionally the field."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every business-rule refusal. The API renders it as problem+json."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
