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


def unique_violation(exc: BaseException) -> tuple[type, str] | None:
    """``(model, field name)`` when ``exc`` is a unique-key violation on one model field
    (two writers raced past the check-then-insert of a form or serializer), else ``None``."""
    from django.apps import apps
    from django.db import IntegrityError
    from psycopg.errors import UniqueViolation

    cause = exc.__cause__ if isinstance(exc, IntegrityError) else None
    if not isinstance(cause, UniqueViolation):
        return None
    table, constraint = cause.diag.table_name, cause.diag.constraint_name
    for model in apps.get_models():
        if model._meta.db_table != table:
            continue
        for field in model._meta.concrete_fields:
            if field.unique and constraint == f"{table}_{field.column}_key":
                return model, field.name
        for rule in model._meta.constraints:
            fields: tuple[str, ...] = tuple(getattr(rule, "fields", ()))
            if rule.name == constraint and len(fields) == 1:
                return model, fields[0]
    return None
