"""The group tree around an account for its page: ancestors and descendants in one recursive
query, each node with its account when the user may open it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef
from django.db.models.expressions import RawSQL

from accounts.models import Account

HIERARCHY_DEPTH = 20  # the levels shown above and below the account


@dataclass
class TreeNode:
    id: int
    parent_id: int | None
    depth: int  # < 0: an ancestor, 0: the account, > 0: a descendant
    account: Account | None  # None: outside the user's units (shown without a link)
    children: list[TreeNode] = field(default_factory=list)


# The ids of the tree around an account: its chain of parents and everything below it.
_TREE_IDS_SQL = """
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM accounts_account WHERE id = %s
    UNION ALL
    SELECT a.id, a.parent_id, up.depth - 1
    FROM accounts_account a JOIN up ON a.id = up.parent_id
    WHERE up.depth > -%s
), down(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM accounts_account WHERE id = %s
    UNION ALL
    SELECT a.id, a.parent_id, down.depth + 1
    FROM accounts_account a JOIN down ON a.parent_id = down.id
    WHERE down.depth < %s
)
SELECT id FROM up UNION SELECT id FROM down
"""


def hierarchy(*, user: Any, account: Account) -> list[TreeNode]:
    """The group tree around the account: its chain of parents, then everything below it,
    each node with its account when the user may open it (one query: the recursive walk's
    accounts, with their customer and whether they are in the user's scope; the levels
    worked out here from the parent links). Returns the roots (the top ancestor, or the
    account itself) with ``children`` filled in."""
    limit = HIERARCHY_DEPTH
    ids = RawSQL(_TREE_IDS_SQL, (account.pk, limit, account.pk, limit))  # noqa: S611
    found = {
        a.pk: a
        for a in Account.objects.filter(pk__in=ids)
        .select_related("customer")
        .annotate(visible=Exists(Account.objects.visible_to(user).filter(pk=OuterRef("pk"))))
    }
    depth = {account.pk: 0}
    level, parent = 0, found[account.pk].parent_id if account.pk in found else None
    while parent in found and level > -limit:  # up the chain of parents
        level -= 1
        depth[parent] = level
        parent = found[parent].parent_id
    below: dict[int, list[int]] = {}
    for a in found.values():
        if a.parent_id is not None:
            below.setdefault(a.parent_id, []).append(a.pk)
    level, frontier = 0, [account.pk]
    while frontier and level < limit:  # down, level by level
        level += 1
        frontier = [child for pk in frontier for child in below.get(pk, ())]
        depth.update(dict.fromkeys(frontier, level))
    nodes = {
        pk: TreeNode(pk, a.parent_id, depth[pk], a if a.visible else None)  # type: ignore[attr-defined]
        for pk, a in found.items()
        if pk in depth
    }
    roots = []
    for node in sorted(nodes.values(), key=lambda n: (n.depth, n.id)):
        parent_node = nodes.get(node.parent_id) if node.parent_id else None
        if parent_node is not None and node.depth > parent_node.depth:
            parent_node.children.append(node)
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
