"""Merging customers moves the account data: two accounts become one; a person's contact
rows fold."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts import services
from accounts.models import Account, AccountRelation, Contact, Opportunity, OpportunityStageChange
from crm.models import BusinessUnit, User
from crm.services import merge_customers
from tests.accounts.conftest import phone

pytestmark = pytest.mark.django_db


def test_merging_two_organizations_moves_everything(
    make_account: Callable[..., Account],
    rep_a: User,
    manager_a: User,
    unit_a: BusinessUnit,
    unit_b: BusinessUnit,
    roles: dict,
    stages: dict,
):
    keep = make_account("星辰科技", fields={"industry": "I", "city": "上海"})
    lose = make_account(
        "星辰科技有限公司",
        unit=unit_b,
        fields={"industry": "C", "province": "江苏", "website": "https://xc.example.com"},
        owner=manager_a,
    )
    group, sub, partner = make_account("集团"), make_account("孙公司"), make_account("伙伴")
    services.set_parent(account=lose, parent=group, user=rep_a)
    services.set_parent(account=sub, parent=lose, user=rep_a)
    services.add_relation(from_account=lose, to_account=partner, kind="partner", user=rep_a)
    services.add_relation(from_account=keep, to_account=partner, kind="partner", user=rep_a)
    services.add_relation(from_account=lose, to_account=keep, kind="supplier", user=rep_a)
    # 李 is at both (primary at the survivor), 王 only at the loser (primary there).
    li_keep = services.add_contact(
        account=keep,
        identities=phone(1),
        name="李",
        user=rep_a,
        roles=[roles["purchaser"]],
        is_primary=True,
    )
    li_lose = services.add_contact(
        account=lose,
        identities=phone(1),
        name="李",
        user=rep_a,
        roles=[roles["finance"]],
        title="财务总监",
    )
    wang = services.add_contact(
        account=lose, identities=phone(2), name="王", user=rep_a, is_primary=True
    )
    opp = services.create_opportunity(
        account=lose,
        name="系统集成",
        owner=rep_a,
        business_unit=unit_a,
        user=rep_a,
        amount="5000",
        contacts=[(li_lose, [roles["decision_maker"]])],
    )
    services.move_opportunity(opportunity=opp, stage=stages["proposal"], user=rep_a)

    merge = merge_customers(
        survivor=keep.customer, loser=lose.customer, actor=rep_a, reason="同一家公司"
    )

    assert not Account.objects.filter(pk=lose.pk).exists()
    keep.refresh_from_db()
    # The survivor's fields win; its blanks are filled from the loser.
    assert (keep.industry, keep.city, keep.province) == ("I", "上海", "江苏")
    assert keep.website == "https://xc.example.com" and keep.owner_id == manager_a.pk
    assert set(keep.business_units.all()) == {unit_a, unit_b}
    assert keep.parent_id == group.pk
    assert Account.objects.get(pk=sub.pk).parent_id == keep.pk
    # Contacts: 李 once, roles united, title filled, still primary; 王 moved, not primary.
    contacts = {c.person.display_name: c for c in Contact.objects.filter(account=keep)}
    assert set(contacts) == {"李", "王"}
    li = contacts["李"]
    assert li.pk == li_keep.pk and li.is_primary and li.title == "财务总监"
    assert {r.code for r in li.roles.all()} == {"purchaser", "finance"}
    assert contacts["王"].pk == wang.pk and not contacts["王"].is_primary
    # Relations: the partner relation is not repeated; the one to itself is gone.
    assert list(
        AccountRelation.objects.values_list("from_account_id", "kind", "to_account_id")
    ) == [(keep.pk, "partner", partner.pk)]
    # The opportunity, its history and its contact follow.
    opp.refresh_from_db()
    assert opp.account_id == keep.pk
    assert OpportunityStageChange.objects.filter(opportunity=opp).count() == 2
    assert opp.involved.get().contact_id == li.pk
    assert merge.summary["accounts"] > 0


def test_merging_two_organizations_when_only_the_loser_has_an_account(
    make_account: Callable[..., Account], rep_a: User
):
    from crm.services import IdentityInput, resolve_customer
    from tests.accounts.conftest import make_uscc

    lose = make_account("乙")
    bare = resolve_customer(
        identities=[IdentityInput("uscc", make_uscc())],
        attributes={"display_name": "乙公司"},
        source="erp",
    ).customer
    merge_customers(survivor=bare, loser=lose.customer, actor=rep_a, reason="同一家")
    lose.refresh_from_db()
    assert lose.customer_id == bare.pk


def test_merging_two_people_folds_their_contact_rows(
    make_account: Callable[..., Account], rep_a: User, roles: dict
):
    first, second = make_account("甲"), make_account("乙")
    a = services.add_contact(
        account=first, identities=phone(1), name="赵", user=rep_a, roles=[roles["legal"]]
    )
    b = services.add_contact(
        account=first,
        identities=phone(2),
        name="赵",
        user=rep_a,
        roles=[roles["technical"]],
        is_primary=True,
        department="法务部",
    )
    c = services.add_contact(account=second, identities=phone(2), name="赵", user=rep_a)
    merge_customers(survivor=a.person, loser=b.person, actor=rep_a, reason="同一人")
    rows = Contact.objects.filter(person=a.person).order_by("account_id")
    assert [r.account_id for r in rows] == [first.pk, second.pk]
    folded = rows[0]
    assert folded.pk == a.pk and folded.is_primary and folded.department == "法务部"
    assert {r.code for r in folded.roles.all()} == {"legal", "technical"}
    assert rows[1].pk == c.pk
    assert not Opportunity.objects.exists()
