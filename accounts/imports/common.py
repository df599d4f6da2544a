"""What the account and contact importers share: choices named in either language, the
accounts of the master found by USCC or by normalized name."""

from __future__ import annotations

from typing import Any

from django.db.models import TextChoices
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Account
from crm.imports.files import cell_text
from crm.imports.records import RecordContext, RowProblem
from crm.models import IdentityType
from crm.normalizers import InvalidIdentity, normalize_name, normalize_uscc

LANGUAGES = ("zh-hans", "en")
# Short names people write for the size bands (the labels carry the staff counts).
SHORT_NAMES = {"微型": "micro", "小型": "small", "中型": "medium", "大型": "large"}


def choice_names(choices: type[TextChoices]) -> dict[str, str]:
    """``normalized name -> value``: the value itself and its label in both languages."""
    names: dict[str, str] = {}
    values = {value for value, _label in choices.choices}
    names.update({k: v for k, v in SHORT_NAMES.items() if v in values})
    for value, label in choices.choices:
        names[normalize_name(value)] = value
        for language in LANGUAGES:
            with translation.override(language):
                names.setdefault(normalize_name(str(label)), value)
    return names


def parse_choice(
    values: dict[str, Any], column: str, choices: type[TextChoices], ctx: RecordContext
) -> str | None:
    """The choice a cell names (its code or its label in Chinese or English); ``None`` for an
    empty cell; a ``RowProblem`` listing the choices otherwise."""
    text = cell_text(values.get(column))
    if not text:
        return None
    names = ctx.cache.get(f"choices:{column}")
    if names is None:
        names = ctx.cache[f"choices:{column}"] = choice_names(choices)
    value = names.get(normalize_name(text))
    if value is None:
        labels = ", ".join(str(label) for v, label in choices.choices if v)
        raise RowProblem(
            column,
            _("“%(value)s” is not one of: %(choices)s.") % {"value": text[:60], "choices": labels},
        )
    return value


def parse_uscc(values: dict[str, Any], column: str) -> str:
    """The cell's USCC normalized and checked (check character); ``""`` when empty."""
    text = cell_text(values.get(column))
    if not text:
        return ""
    try:
        return normalize_uscc(text, field=column)
    except InvalidIdentity as exc:
        raise RowProblem(column, exc.message) from exc


def account_by_uscc(uscc: str, *, queryset: Any = None) -> Account | None:
    """The account of the organization owning this USCC in the master, if any."""
    queryset = Account.objects.all() if queryset is None else queryset
    return (
        queryset.filter(
            customer__identities__type=IdentityType.USCC, customer__identities__value=uscc
        )
        .select_related("customer")
        .first()
    )


def uscc_of(account: Account) -> str:
    identity = account.customer.identities.filter(type=IdentityType.USCC).first()
    return identity.value if identity is not None else ""


def names_index(ctx: RecordContext, *, queryset: Any, key: str) -> dict[str, set[int]]:
    """``normalized name -> account ids`` of ``queryset``, built once per run (one query,
    streamed) and kept up to date by the importer as it creates accounts."""
    index = ctx.cache.get(key)
    if index is None:
        index = {}
        rows = queryset.values_list("pk", "customer__display_name").iterator(chunk_size=5000)
        for pk, name in rows:
            index.setdefault(normalize_name(name), set()).add(pk)
        ctx.cache[key] = index
    return index
