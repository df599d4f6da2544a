"""Reading one account for its page: the header, contacts grouped by department, the group
hierarchy (``group_tree``), relations and opportunities.

A fixed number of queries whatever the account holds: every collection is one query (its
related rows joined or prefetched), never one per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils.translation import get_language

from accounts.models import Account, AccountRelation, Contact, CreditProfile, Opportunity
from accounts.selectors.group_tree import (  # noqa: F401 (the page's view reads them here)
    flatten,
    hierarchy,
)
from accounts.selectors.lists import unit_badges
from crm.models import Identity, IdentityType, User

SHOWN_PER_DEPARTMENT = 20  # contacts of a department shown at first ("show all" loads the rest)
LEFT_GROUP = "left"  # the key of the contacts who left (a department's key is "d:<name>")


@dataclass
class ContactRow:
    """One contact as its row shows it: plain values (no model instances, no related
    managers); the view fills the display fields (links, masked phone, role names)."""

    id: int
    person_id: int
    display_name: str
    name_is_generated: bool
    is_primary: bool
    title: str
    department: str
    left_on: date | None
    phone: str | None
    role_ids: list[int]
    url: str = ""
    editor_url: str = ""
    name_html: str = ""
    shown_name: str = ""  # as plain text (a generated name as a placeholder)
    phone_masked: str = ""
    role_names: list[str] | None = None  # in the active language (None: not read yet)
    html: str = ""  # the row, made by the view


@dataclass
class Department:
    name: str
    key: str  # the group's key in the "show all" link
    contacts: list[ContactRow]
    total: int  # all its contacts, shown or not
    show_all_html: str = ""  # its "show all" row when some are hidden, made by the view

    @property
    def hidden(self) -> int:
        return self.total - len(self.contacts)


def page_account(*, user: Any, pk: int) -> Account:
    """The account with what its header shows, in the user's scope (``DoesNotExist`` outside
    it): one query, with its credit profile (for the header and the credit section: see
    ``credit_profile``) and its units' badges (``unit_badges``: ``{"code", "name"}`` by
    code)."""
    return (
        Account.objects.visible_to(user)
        .select_related("customer", "owner", "parent__customer", "credit_profile")
        .annotate(
            unit_badges=unit_badges(),
            uscc=Subquery(
                Identity.objects.filter(customer=OuterRef("customer_id"), type=IdentityType.USCC)
                .order_by("id")
                .values("value")[:1]
            ),
        )
        .get(pk=pk)
    )


def credit_profile(account: Account) -> CreditProfile | None:
    """The account's credit profile or ``None`` (no query after ``page_account``)."""
    try:
        return account.credit_profile
    except CreditProfile.DoesNotExist:
        return None


def _contact_rows(account: Account) -> QuerySet[Contact, dict[str, Any]]:
    """The account's contacts as values: the person's name, the first mobile and the role ids
    (in the roles' order) as subqueries, no join to multiply rows."""
    through = Contact.roles.through.objects.filter(contact_id=OuterRef("pk"))
    return (
        Contact.objects.filter(account=account)
        .annotate(
            phone=Subquery(
                Identity.objects.filter(customer=OuterRef("person_id"), type=IdentityType.MOBILE)
                .order_by("id")
                .values("value")[:1]
            ),
            role_ids=ArraySubquery(
                through.order_by("contactrole__position", "contactrole_id").values("contactrole_id")
            ),
        )
        .values(
            "id",
            "person_id",
            "person__display_name",
            "person__name_is_generated",
            "is_primary",
            "title",
            "department",
            "left_on",
            "phone",
            "role_ids",
        )
    )


def _row(values: dict[str, Any]) -> ContactRow:
    return ContactRow(
        id=values["id"],
        person_id=values["person_id"],
        display_name=values["person__display_name"],
        name_is_generated=values["person__name_is_generated"],
        is_primary=values["is_primary"],
        title=values["title"],
        department=values["department"],
        left_on=values["left_on"],
        phone=values["phone"],
        role_ids=list(values["role_ids"] or []),
    )


def _group_key(row: ContactRow) -> str:
    return LEFT_GROUP if row.left_on is not None else f"d:{row.department}"


_ORDER = ("-is_primary", "person__display_name", "id")


# The first ``limit`` contacts of every group, ranked in ``ranked`` on the contact and its
# person's name alone; the phone and the role ids (a subquery each) only for the rows kept:
# computing them for all 500 contacts of an account before cutting to 20 a department was
# most of this query's time. (The ORM puts every annotation below a window filter.)
_DEPARTMENTS_SQL = """
WITH ranked AS (
    SELECT c.id, c.person_id, p.display_name, p.name_is_generated, c.is_primary, c.title,
           c.department, c.left_on,
           CASE WHEN %(expand_left)s AND c.left_on IS NOT NULL THEN 1
                WHEN %(expand_department)s::text IS NOT NULL AND c.left_on IS NULL
                     AND c.department = %(expand_department)s THEN 1
                ELSE row_number() OVER (PARTITION BY c.left_on IS NOT NULL,
                    CASE WHEN c.left_on IS NULL THEN c.department ELSE '' END
                    ORDER BY c.is_primary DESC, p.display_name, c.id) END AS rank,
           count(*) OVER (PARTITION BY c.left_on IS NOT NULL,
               CASE WHEN c.left_on IS NULL THEN c.department ELSE '' END) AS group_total
    FROM accounts_contact c JOIN crm_customer p ON p.id = c.person_id
    WHERE c.account_id = %(account)s
)
SELECT r.id, r.person_id, r.display_name, r.name_is_generated, r.is_primary, r.title,
       r.department, r.left_on,
       (SELECT i.value FROM crm_identity i
        WHERE i.customer_id = r.person_id AND i.type = %(mobile)s ORDER BY i.id LIMIT 1),
       ARRAY(SELECT cr.contactrole_id FROM accounts_contact_roles cr
             JOIN accounts_contactrole x ON x.id = cr.contactrole_id
             WHERE cr.contact_id = r.id ORDER BY x.position, cr.contactrole_id),
       r.group_total,
       ARRAY(SELECT CASE WHEN %(english)s THEN x.name_en ELSE x.name_zh END
             FROM accounts_contact_roles cr JOIN accounts_contactrole x ON x.id = cr.contactrole_id
             WHERE cr.contact_id = r.id ORDER BY x.position, cr.contactrole_id)
FROM ranked r
WHERE r.rank <= %(limit)s
ORDER BY r.left_on IS NOT NULL, r.department, r.is_primary DESC, r.display_name, r.id
"""


def contacts_by_department(
    *, account: Account, limit: int = SHOWN_PER_DEPARTMENT, expand: str = ""
) -> tuple[list[Department], Department | None]:
    """The active contacts grouped by department (primary first, then by name), at most
    ``limit`` of each with its total, and those who left (the same, as one group): one query
    (the number of each group and the rank in it as window functions; the phone and the
    roles, their ids and names, read for the shown rows only). ``expand``: the key of a
    group shown whole (the page without JavaScript after "show all")."""
    params: dict[str, Any] = {
        "account": account.pk,
        "limit": limit,
        "mobile": IdentityType.MOBILE.value,
        "expand_left": expand == LEFT_GROUP,
        "expand_department": expand.removeprefix("d:") if expand.startswith("d:") else None,
        "english": (get_language() or "").startswith("en"),  # ContactRole.name's rule
    }
    with connection.cursor() as cursor:
        cursor.execute(_DEPARTMENTS_SQL, params)
        found = cursor.fetchall()
    groups: dict[str, Department] = {}
    for values in found:
        row = ContactRow(
            id=values[0],
            person_id=values[1],
            display_name=values[2],
            name_is_generated=values[3],
            is_primary=values[4],
            title=values[5],
            department=values[6],
            left_on=values[7],
            phone=values[8],
            role_ids=list(values[9] or []),
            role_names=list(values[11] or []),
        )
        key = _group_key(row)
        group = groups.get(key)
        if group is None:
            name = "" if key == LEFT_GROUP else row.department
            group = groups[key] = Department(name, key, [], values[10])
        group.contacts.append(row)
    gone = groups.pop(LEFT_GROUP, None)
    departments = [d for d in groups.values() if d.name]
    if "d:" in groups:  # no department: last
        departments.append(groups["d:"])
    return departments, gone


def group_rest(
    *, account: Account, key: str, offset: int = SHOWN_PER_DEPARTMENT
) -> list[ContactRow]:
    """The contacts of one group after the first ``offset`` ("show all" through htmx): one
    query."""
    rows = _contact_rows(account)
    if key == LEFT_GROUP:
        rows = rows.filter(left_on__isnull=False)
    elif key.startswith("d:"):
        rows = rows.filter(left_on__isnull=True, department=key[2:])
    else:
        return []
    return [_row(v) for v in rows.order_by(*_ORDER)[offset:]]


def contact_row(*, contact: Contact) -> ContactRow:
    """One contact's row (after its roles were saved): one query."""
    return _row(_contact_rows(contact.account).get(pk=contact.pk))


def relations(*, account: Account) -> list[AccountRelation]:
    """The account's relations both ways (one query)."""
    return list(
        AccountRelation.objects.filter(Q(from_account=account) | Q(to_account=account))
        .select_related("from_account__customer", "to_account__customer")
        .order_by("kind", "id")
    )


@dataclass
class OpportunityRow:
    """One opportunity as the account page's table shows it: plain values (four model
    instances a row, opportunity, stage, owner and unit, were most of this part's time)."""

    pk: int
    name: str
    amount: Decimal
    currency: str
    expected_close: date | None
    stage_name: str
    probability: int
    is_won: bool
    is_lost: bool
    unit_code: str
    unit_name: str
    owner_name: str


_OPPORTUNITY_FIELDS = (
    "pk",
    "name",
    "amount",
    "currency",
    "expected_close",
    "stage__name_zh",
    "stage__name_en",
    "stage__probability",
    "stage__is_won",
    "stage__is_lost",
    "business_unit__code",
    "business_unit__name",
    "owner_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def opportunities(*, user: Any, account: Account, limit: int = 100) -> list[OpportunityRow]:
    """The opportunities of the account in the user's units: open ones first, by expected
    close (one query); the stage's name in the active language, each owner's name worked out
    once (``get_full_name``: Chinese names family name first)."""
    english = (get_language() or "").startswith("en")
    names: dict[int, str] = {}
    out = []
    for pk, name, amount, currency, close, zh, en, chance, won, lost, code, unit, owner, *who in (
        Opportunity.objects.visible_to(user)
        .filter(account=account)
        .order_by("stage__is_won", "stage__is_lost", "expected_close", "-id")
        .values_list(*_OPPORTUNITY_FIELDS)[:limit]
    ):
        shown = names.get(owner)
        if shown is None:
            person = User(username=who[0], first_name=who[1], last_name=who[2])
            shown = names[owner] = person.get_full_name() or person.username
        out.append(
            OpportunityRow(
                pk,
                name,
                amount,
                currency,
                close,
                en if english else zh,
                chance,
                won,
                lost,
                code,
                unit,
                shown,
            )
        )
    return out
