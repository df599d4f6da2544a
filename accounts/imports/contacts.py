"""The contact importer: one row per person at an account, the account found by its USCC or
its name among the accounts the importing user sees, the person found or created through
the master's resolution (phone, e-mail), added through ``accounts.services.add_contact``.

A person already a contact at that account (the same phone or e-mail) is updated through
``update_contact``: a non-empty title, department or roles cell replaces the value (roles:
the whole list), the primary flag is set by 是/yes and cleared by 否/no (empty: left as it
is). The name of a person the master knows is the master's. The same person at two accounts
is one customer with two contacts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.imports.accounts import _uscc
from accounts.imports.common import account_by_uscc, names_index, parse_uscc
from accounts.models import Account, Contact, ContactRole
from crm.imports.columns import ColumnSet
from crm.imports.files import cell_text
from crm.imports.records import RecordContext, RecordImporter, RowProblem
from crm.models import Identity, IdentityType
from crm.normalizers import InvalidIdentity, normalize_email, normalize_name, normalize_phone
from crm.services import IdentityInput

KIND = "contacts"
CONTACT_COLUMNS = ColumnSet(
    {
        "name": ("姓名", "联系人", "联系人姓名", "contact", "contact_name"),
        "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "telephone"),
        "email": ("邮箱", "电子邮箱", "电子邮件", "e_mail"),
        "title": ("职位", "职务", "job_title"),
        "department": ("部门", "dept"),
        "roles": ("角色", "联系人角色", "role"),
        "is_primary": ("主要联系人", "是否主要联系人", "首要联系人", "primary"),
        "account_uscc": ("公司统一社会信用代码", "统一社会信用代码", "信用代码", "uscc"),
        "account_name": ("公司名称", "企业名称", "公司", "所属公司", "company", "account"),
    },
    required=("name",),
    labels={
        "name": gettext_lazy("Contact name"),
        "phone": gettext_lazy("Phone"),
        "email": gettext_lazy("E-mail"),
        "title": gettext_lazy("Title"),
        "department": gettext_lazy("Department"),
        "roles": gettext_lazy("Roles"),
        "is_primary": gettext_lazy("Primary contact"),
        "account_uscc": gettext_lazy("Company's USCC"),
        "account_name": gettext_lazy("Company name"),
    },
    descriptions={
        "name": gettext_lazy("The person's name."),
        "phone": gettext_lazy("Mobile or landline; +86 is assumed. Phone or e-mail is required."),
        "email": gettext_lazy("E-mail address."),
        "title": gettext_lazy("Job title."),
        "department": gettext_lazy("Department."),
        "roles": gettext_lazy("Role names separated by commas or 、 (决策者、采购…)."),
        "is_primary": gettext_lazy("是/否 or yes/no; one primary contact per account."),
        "account_uscc": gettext_lazy("The account's USCC; or give its name."),
        "account_name": gettext_lazy("The account's name, when there is no USCC."),
    },
)
_FIELD_COLUMNS = {"identities": "phone", "mobile": "phone", "roles": "roles"}
_SEPARATORS = re.compile(r"[,，、;；/|]+")
_YES = {"是", "y", "yes", "true", "1", "√", "✓", "主要", "x"}
_NO = {"否", "n", "no", "false", "0"}


@dataclass
class ContactRow:
    name: str
    phone: str
    email: str
    title: str
    department: str
    roles: list[ContactRole] | None  # None: the cell was empty
    is_primary: bool | None
    account_uscc: str
    account_name: str
    identities: list[IdentityInput] = field(default_factory=list)


def _roles(text: str, ctx: RecordContext) -> list[ContactRole]:
    known = ctx.cache.get("roles")
    if known is None:
        known = {}
        for role in ContactRole.objects.filter(is_active=True):
            for name in (role.code, role.name_zh, role.name_en):
                known.setdefault(normalize_name(name), role)
        ctx.cache["roles"] = known
    found: list[ContactRole] = []
    for part in _SEPARATORS.split(text):
        if not part.strip():
            continue
        role = known.get(normalize_name(part))
        if role is None:
            raise RowProblem("roles", _("“%(role)s” is not a contact role.") % {"role": part[:40]})
        if role not in found:
            found.append(role)
    return found


def parse_contact(values: dict[str, Any], ctx: RecordContext) -> ContactRow:
    text = {column: cell_text(values.get(column)) for column in CONTACT_COLUMNS.columns}
    name = " ".join(text["name"].split())
    if not name:
        raise RowProblem("name", _("Give the contact's name."))
    try:
        phone = normalize_phone(text["phone"], field="phone") if text["phone"] else ""
        email = normalize_email(text["email"], field="email") if text["email"] else ""
    except InvalidIdentity as exc:
        raise RowProblem(exc.field or "phone", exc.message) from exc
    if not (phone or email):
        raise RowProblem("phone", _("Give the contact's phone or e-mail."))
    flag = text["is_primary"].lower()
    if flag and flag not in _YES | _NO:
        raise RowProblem("is_primary", _("Write 是 or 否 (yes or no)."))
    row = ContactRow(
        name=name,
        phone=phone,
        email=email,
        title=text["title"][:100],
        department=text["department"][:100],
        roles=_roles(text["roles"], ctx) if text["roles"] else None,
        is_primary=(flag in _YES) if flag else None,
        account_uscc=parse_uscc(values, "account_uscc"),
        account_name=" ".join(text["account_name"].split()),
    )
    if not (row.account_uscc or row.account_name):
        raise RowProblem("account_name", _("Give the company's USCC or name."))
    row.identities = [
        IdentityInput(IdentityType.MOBILE, phone) if phone else None,
        IdentityInput(IdentityType.EMAIL, email) if email else None,
    ]
    row.identities = [i for i in row.identities if i is not None]
    return row


def _account(row: ContactRow, ctx: RecordContext) -> Account:
    visible = Account.objects.visible_to(ctx.user)
    if row.account_uscc:
        account = account_by_uscc(row.account_uscc, queryset=visible)
        if account is not None:
            return account
        if not row.account_name:
            raise RowProblem(
                "account_uscc", _("No account of your units has this USCC; import it first.")
            )
    names = names_index(ctx, queryset=visible, key="names:visible")
    ids = names.get(normalize_name(row.account_name), set())
    if not ids:
        raise RowProblem(
            "account_name", _("No account of your units has this name; import it first.")
        )
    if len(ids) > 1:
        raise RowProblem(
            "account_name", _("Several accounts have this name; give the company's USCC.")
        )
    return Account.objects.select_related("customer").get(pk=next(iter(ids)))


def apply_contact(row: ContactRow, ctx: RecordContext) -> str:
    account = _account(row, ctx)
    owned = Q()
    for identity in row.identities:
        owned |= Q(type=identity.type, value=identity.value)
    person_ids = list(Identity.objects.filter(owned).values_list("customer_id", flat=True))
    contact = (
        Contact.objects.filter(account=account, person_id__in=person_ids).first()
        if person_ids
        else None
    )
    if contact is None:
        services.add_contact(
            account=account,
            identities=row.identities,
            name=row.name,
            user=ctx.user,
            business_unit=ctx.business_unit,
            roles=row.roles or [],
            title=row.title,
            department=row.department,
            is_primary=bool(row.is_primary),
            source="import",
        )
        return "created_known" if person_ids else "created"
    changes: dict[str, Any] = {}
    if row.title and row.title != contact.title:
        changes["title"] = row.title
    if row.department and row.department != contact.department:
        changes["department"] = row.department
    if row.is_primary is not None and row.is_primary != contact.is_primary:
        changes["is_primary"] = row.is_primary
    if row.roles is not None:
        current = {r.pk for r in contact.roles.all()}
        if current != {r.pk for r in row.roles}:
            changes["roles"] = row.roles
    if not changes:
        return "unchanged"
    services.update_contact(contact=contact, user=ctx.user, **changes)
    return "updated"


def template_rows() -> list[dict[str, str]]:
    """Two contacts of the accounts template's group company, by USCC and by name."""
    return [
        {
            "name": _("Wang Fang"),
            "phone": "13800138000",
            "email": "wang.fang@example.com",
            "title": _("Purchasing manager"),
            "department": _("Purchasing"),
            "roles": "决策者、采购",
            "is_primary": "是",
            "account_uscc": _uscc(1),
        },
        {
            "name": _("Li Qiang"),
            "phone": "13900139000",
            "title": _("Engineer"),
            "department": _("Technology"),
            "roles": "技术",
            "is_primary": "否",
            "account_name": _("Star Holdings Ltd."),
        },
    ]


CONTACT_IMPORTER = RecordImporter(
    kind=KIND,
    label=gettext_lazy("Import contacts"),
    columns=CONTACT_COLUMNS,
    parse=parse_contact,
    apply=apply_contact,
    outcomes={
        "created": gettext_lazy("Contacts added (new people)"),
        "created_known": gettext_lazy("Contacts added (people already in the master)"),
        "updated": gettext_lazy("Contacts updated"),
        "unchanged": gettext_lazy("Unchanged (already as in the file)"),
    },
    permissions=("accounts.add_account", "accounts.add_contact"),
    key_column="name",
    template_rows=template_rows,
    field_columns=_FIELD_COLUMNS,
    job_kind="accounts.import_contacts",
)
