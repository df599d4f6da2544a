"""The account importer: one row per company, matched against the master by USCC, then by
normalized name, created or updated through ``accounts.services``.

What a row may change on an account that exists (the master stays the source of the name
and the identities, so a file never renames a company or changes its USCC):

- the editable fields (industry, size band, province, city, address, website, status): a
  non-empty cell replaces the value, an empty cell leaves it;
- the owner: a named user replaces the owner through ``assign_owner`` (which needs the
  ``accounts.assign_account_owner`` permission: without it the row is refused, unless the
  owner is already that user); a new account gets the owner without that permission, as
  the account form gives it;
- the parent: through ``set_parent`` (a cycle is refused); the parent must be an account
  already (in the master, or on an earlier line of the same file);
- the importing unit is added to the units dealing with it.

A row without a USCC updates the one account of that normalized name; it cannot create an
account (the USCC is the organization's identity). A USCC the master does not know, on a
row whose name is an account with another USCC, is refused: two records of one company
would otherwise appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.imports.common import (
    account_by_uscc,
    names_index,
    parse_choice,
    parse_uscc,
    uscc_of,
)
from accounts.models import Account, AccountStatus, Industry, SizeBand
from crm.imports.columns import ColumnSet
from crm.imports.files import cell_text
from crm.imports.records import RecordContext, RecordImporter, RowProblem
from crm.models import User
from crm.normalizers import normalize_name, uscc_check_char

KIND = "accounts"
ACCOUNT_COLUMNS = ColumnSet(
    {
        "name": ("名称", "公司名称", "企业名称", "客户名称", "company", "company_name", "account"),
        "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "credit_code", "uscc_code"),
        "industry": ("行业", "所属行业"),
        "size_band": ("规模", "企业规模", "size"),
        "province": ("省份", "省"),
        "city": ("城市", "市"),
        "address": ("地址", "详细地址"),
        "website": ("网站", "官网", "网址", "url", "web"),
        "status": ("状态", "客户状态"),
        "owner": ("负责人", "客户经理", "负责人用户名", "owner_username"),
        "parent_uscc": ("上级单位信用代码", "上级统一社会信用代码", "母公司信用代码", "parent"),
    },
    required=("name",),
    labels={
        "name": gettext_lazy("Company name"),
        "uscc": gettext_lazy("Unified social credit code"),
        "industry": gettext_lazy("Industry"),
        "size_band": gettext_lazy("Size"),
        "province": gettext_lazy("Province"),
        "city": gettext_lazy("City"),
        "address": gettext_lazy("Address"),
        "website": gettext_lazy("Website"),
        "status": gettext_lazy("Status"),
        "owner": gettext_lazy("Owner (user name)"),
        "parent_uscc": gettext_lazy("Parent company's USCC"),
    },
    descriptions={
        "name": gettext_lazy("The registered name; an existing account keeps the master's name."),
        "uscc": gettext_lazy(
            "18 characters, check character verified. Required for a new account; without it "
            "the row updates the account of the same name."
        ),
        "industry": gettext_lazy("GB/T 4754 section: its letter or its name (制造业, …)."),
        "size_band": gettext_lazy("micro, small, medium, large or 微型/小型/中型/大型."),
        "province": gettext_lazy("Province, e.g. 上海."),
        "city": gettext_lazy("City."),
        "address": gettext_lazy("Street address."),
        "website": gettext_lazy("https://…"),
        "status": gettext_lazy("prospect, active, dormant, closed (or their Chinese names)."),
        "owner": gettext_lazy("The user name of the sales rep who owns the account."),
        "parent_uscc": gettext_lazy(
            "The USCC of the group company; it must be an account already (or an earlier row)."
        ),
    },
)
_FIELD_COLUMNS = {"parent": "parent_uscc", "identities": "uscc", "business_units": "name"}


@dataclass
class AccountRow:
    name: str
    uscc: str
    fields: dict[str, str] = field(default_factory=dict)  # the non-empty editable fields
    owner: User | None = None
    parent_uscc: str = ""


def parse_account(values: dict[str, Any], ctx: RecordContext) -> AccountRow:
    name = " ".join(cell_text(values.get("name")).split())
    if not name:
        raise RowProblem("name", _("Give the company's name."))
    row = AccountRow(name=name, uscc=parse_uscc(values, "uscc"))
    for column, choices in (
        ("industry", Industry),
        ("size_band", SizeBand),
        ("status", AccountStatus),
    ):
        value = parse_choice(values, column, choices, ctx)
        if value:
            row.fields[column] = value
    for column in ("province", "city", "address", "website"):
        text = " ".join(cell_text(values.get(column)).split())
        if text:
            row.fields[column] = text
    username = cell_text(values.get("owner"))
    if username:
        owners = ctx.cache.setdefault("owners", {})
        if username not in owners:
            owners[username] = User.objects.filter(username=username, is_active=True).first()
        row.owner = owners[username]
        if row.owner is None:
            raise RowProblem(
                "owner", _("No active user is called “%(name)s”.") % {"name": username}
            )
    row.parent_uscc = parse_uscc(values, "parent_uscc")
    return row


def _existing(row: AccountRow, ctx: RecordContext) -> tuple[Account | None, str]:
    """The account the row is about (``None``: a new one) and the USCC to resolve with."""
    if row.uscc:
        account = account_by_uscc(row.uscc)
        if account is not None:
            return account, row.uscc
    names = names_index(ctx, queryset=Account.objects.all(), key="names:all")
    same_name = names.get(normalize_name(row.name), set())
    if row.uscc:
        if same_name:
            other = Account.objects.select_related("customer").get(pk=min(same_name))
            raise RowProblem(
                "uscc",
                _(
                    "An account named “%(name)s” already exists with another USCC (%(uscc)s); "
                    "correct the code or the name."
                )
                % {"name": other.customer.display_name, "uscc": uscc_of(other)},
            )
        return None, row.uscc
    if not same_name:
        raise RowProblem("uscc", _("A new account needs its unified social credit code."))
    if len(same_name) > 1:
        raise RowProblem(
            "name", _("Several accounts have this name; give the USCC to say which one.")
        )
    account = Account.objects.select_related("customer").get(pk=next(iter(same_name)))
    return account, uscc_of(account)


def apply_account(row: AccountRow, ctx: RecordContext) -> str:
    user, unit = ctx.user, ctx.business_unit
    existing, uscc = _existing(row, ctx)
    changed = existing is None
    if existing is not None:
        changed = not existing.business_units.filter(pk=unit.pk).exists()
    result = services.create_account(
        uscc=uscc,
        name=row.name,
        user=user,
        business_unit=unit,
        fields=row.fields if existing is None else {},
        owner=row.owner if existing is None else None,
        source="import",
    )
    account = result.account
    if not result.created:
        fields = {k: v for k, v in row.fields.items() if getattr(account, k) != v}
        if fields:
            account = services.update_account(account=account, user=user, fields=fields)
            changed = True
        if row.owner is not None and account.owner_id != row.owner.pk:
            account = services.assign_owner(account=account, owner=row.owner, user=user)
            changed = True
    if row.parent_uscc:
        parent = account_by_uscc(row.parent_uscc)
        if parent is None:
            raise RowProblem(
                "parent_uscc",
                _(
                    "No account has this USCC; import the parent company first "
                    "(or on an earlier line)."
                ),
            )
        if account.parent_id != parent.pk:
            services.set_parent(account=account, parent=parent, user=user)
            changed = True
    if result.created:
        key, pk = normalize_name(account.customer.display_name), account.pk
        names = ctx.cache.get("names:all")
        if names is not None:
            ctx.after_row.append(lambda: names.setdefault(key, set()).add(pk))
        return "created"
    return "updated" if changed else "unchanged"


def _uscc(n: int) -> str:
    first17 = f"91310000MA1K{n:05d}"
    return first17 + uscc_check_char(first17)


def template_rows() -> list[dict[str, str]]:
    """A group company and its subsidiary (the parent first: the child names it)."""
    group, child = _uscc(1), _uscc(2)
    return [
        {
            "name": _("Star Holdings Ltd."),
            "uscc": group,
            "industry": "C",
            "size_band": "large",
            "province": _("Shanghai"),
            "city": _("Shanghai"),
            "address": _("1 Century Avenue"),
            "website": "https://www.example.com",
            "status": "active",
        },
        {
            "name": _("Star Logistics Ltd."),
            "uscc": child,
            "industry": "G",
            "size_band": "medium",
            "province": _("Jiangsu"),
            "city": _("Suzhou"),
            "status": "prospect",
            "parent_uscc": group,
        },
    ]


ACCOUNT_IMPORTER = RecordImporter(
    kind=KIND,
    label=gettext_lazy("Import accounts"),
    columns=ACCOUNT_COLUMNS,
    parse=parse_account,
    apply=apply_account,
    outcomes={
        "created": gettext_lazy("Accounts created"),
        "updated": gettext_lazy("Accounts updated"),
        "unchanged": gettext_lazy("Unchanged (already as in the file)"),
    },
    permissions=("accounts.add_account",),
    key_column="uscc",
    template_rows=template_rows,
    field_columns=_FIELD_COLUMNS,
    job_kind="accounts.import_accounts",
)
