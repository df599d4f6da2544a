"""Reading one account for its page: the header, contacts grouped by department, the group
hierarchy (ancestors and descendants in one recursive query), relations and opportunities.

A fixed number of queries whatever the account holds: every collection is one query (its
related rows joined or prefetched), never one per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Prefetch, Q, Subquery

from accounts.models import Account, AccountRelation, Contact, ContactRole, Opportunity
from crm.models import Identity, IdentityType

HIERARCHY_DEPTH = 20  # the levels shown above and below the account


@dataclass
class Department:
    name: str
    contacts: list[Contact]


@dataclass
class TreeNode:
    id: int
    parent_id: int | None
    depth: int  # < 0: an ancestor, 0: the account, > 0: a descendant
    account: Account | None  # None: outside the user's units (shown without a link)
    children: list[TreeNode] = field(default_factory=list)


def page_account(*, user: Any, pk: int) -> Account:
    """The account with what its header shows, in the user's scope (``DoesNotExist`` outside
    it): one query, plus one for its units."""
    return (
        Account.objects.visible_to(user)
        .select_related("customer", "owner", "parent__customer")
        .prefetch_related("business_units")
        .annotate(
            uscc=Subquery(
                Identity.objects.filter(customer=OuterRef("customer_id"), type=IdentityType.USCC)
                .order_by("id")
                .values("value")[:1]
            )
        )
        .get(pk=pk)
    )


def contacts_by_department(*, account: Account) -> tuple[list[Department], list[Contact]]:
    """The active contacts grouped by department (primary first), and those who left: two
    queries (the contacts with their person and phone, their roles)."""
    contacts = list(
        Contact.objects.filter(account=account)
        .select_related("person")
        .prefetch_related(Prefetch("roles", queryset=ContactRole.objects.order_by("position")))
        .annotate(
            phone=Subquery(
                Identity.objects.filter(customer=OuterRef("person_id"), type=IdentityType.MOBILE)
                .order_by("id")
                .values("value")[:1]
            )
        )
        .order_by("department", "-is_primary", "person__display_name", "id")
    )
    groups: dict[str, list[Contact]] = {}
    left: list[Contact] = []
    for contact in contacts:
        if contact.left_on is not None:
            left.append(contact)
        else:
            groups.setdefault(contact.department, []).append(contact)
    departments = [Department(name, rows) for name, rows in groups.items() if name]
    if "" in groups:  # no department: last
        departments.append(Department("", groups[""]))
    return departments, left


_TREE_SQL = """
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM accounts_account WHERE id = %(id)s
    UNION ALL
    SELECT a.id, a.parent_id, up.depth - 1
    FROM accounts_account a JOIN up ON a.id = up.parent_id
    WHERE up.depth > -%(max)s
), down(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM accounts_account WHERE id = %(id)s
    UNION ALL
    SELECT a.id, a.parent_id, down.depth + 1
    FROM accounts_account a JOIN down ON a.parent_id = down.id
    WHERE down.depth < %(max)s
)
SELECT id, parent_id, depth FROM up WHERE depth < 0
UNION ALL
SELECT id, parent_id, depth FROM down
ORDER BY depth, id
"""


def hierarchy(*, user: Any, account: Account) -> list[TreeNode]:
    """The group tree around the account: its chain of parents, then everything below it
    (two queries: the recursive walk, the accounts the user may open). Returns the roots
    (the top ancestor, or the account itself) with ``children`` filled in."""
    with connection.cursor() as cursor:
        cursor.execute(_TREE_SQL, {"id": account.pk, "max": HIERARCHY_DEPTH})
        rows = cursor.fetchall()
    visible = {
        a.pk: a
        for a in Account.objects.visible_to(user)
        .filter(pk__in=[r[0] for r in rows])
        .select_related("customer")
    }
    nodes = {r[0]: TreeNode(r[0], r[1], r[2], visible.get(r[0])) for r in rows}
    roots = []
    for node in sorted(nodes.values(), key=lambda n: (n.depth, n.id)):
        parent = nodes.get(node.parent_id) if node.parent_id else None
        if parent is not None and node.depth > parent.depth:
            parent.children.append(node)
        else:
            roots.append(node)
    return roots


def flatten(roots: list[TreeNode]) -> list[tuple[int, TreeNode]]:
    """The tree in reading order as ``(indent, node)``."""
    out: list[tuple[int, TreeNode]] = []

    def walk(node: TreeNode, indent: int) -> None:
        out.append((indent, node))
        for child in node.children:
            walk(child, indent + 1)

    for root in roots:
        walk(root, 0)
    return out


def relations(*, account: Account) -> list[AccountRelation]:
    """The account's relations both ways (one query)."""
    return list(
        AccountRelation.objects.filter(Q(from_account=account) | Q(to_account=account))
        .select_related("from_account__customer", "to_account__customer")
        .order_by("kind", "id")
    )


def opportunities(*, user: Any, account: Account, limit: int = 100) -> list[Opportunity]:
    """The opportunities of the account in the user's units: open ones first, by expected
    close (one query)."""
    return list(
        Opportunity.objects.visible_to(user)
        .filter(account=account)
        .select_related("stage", "owner", "business_unit")
        .order_by("stage__is_won", "stage__is_lost", "expected_close", "-id")[:limit]
    )
