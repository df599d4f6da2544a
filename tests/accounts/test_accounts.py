"""Accounts on the customer master: creation through resolution, the hierarchy without
cycles (service, database, two threads at once), contacts in roles, one primary."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from accounts import services
from accounts.errors import AccountCycle, ContactExists, PrimaryContactTaken
from accounts.models import Account, Contact
from crm.models import BusinessUnit, Customer, Identity, TimelineEvent, User
from crm.services import IdentityInput, resolve_customer
from tests.accounts.conftest import make_uscc, phone

pytestmark = pytest.mark.django_db


def test_account_reuses_the_organization_the_master_knows(rep_a: User, unit_a: BusinessUnit):
    uscc = make_uscc()
    known = resolve_customer(
        identities=[IdentityInput("uscc", uscc)],
        attributes={"display_name": "星辰建设集团"},
        source="erp",
    ).customer
    result = services.create_account(
        uscc=uscc.lower(), name="星辰建设", user=rep_a, business_unit=unit_a
    )
    assert result.created and result.account.customer_id == known.pk
    assert Customer.objects.filter(kind="organization").count() == 1
    assert result.account.business_units.get() == unit_a
    assert TimelineEvent.objects.filter(customer=known, type="account.created").count() == 1
    # Asked again (by another unit): the same account, now dealt with by both units.
    unit_b = BusinessUnit.objects.create(code="B2", name="物业")
    again = services.create_account(uscc=uscc, name="x", user=rep_a, business_unit=unit_b)
    assert not again.created and again.account.pk == result.account.pk
    assert set(again.account.business_units.all()) == {unit_a, unit_b}
    assert Account.objects.count() == 1


def test_bad_uscc_is_refused_naming_the_field(rep_a: User, unit_a: BusinessUnit):
    from crm.errors import DomainError

    with pytest.raises(DomainError) as caught:
        services.create_account(
            uscc="91310000000000001X", name="甲", user=rep_a, business_unit=unit_a
        )
    assert caught.value.field == "uscc"
    assert not Customer.objects.exists()


def test_protected_fields_cannot_be_updated(make_account: Callable[..., Account], rep_a: User):
    account = make_account()
    with pytest.raises(services.accounts.AccountError) as caught:
        services.update_account(account=account, user=rep_a, fields={"owner": rep_a.pk})
    assert caught.value.field == "owner"
    updated = services.update_account(
        account=account, user=rep_a, fields={"industry": "C", "city": " 上海 ", "status": "active"}
    )
    assert (updated.industry, updated.city, updated.status) == ("C", "上海", "active")


def test_hierarchy_cycle_refused_by_the_service(make_account: Callable[..., Account], rep_a: User):
    group, sub, subsub = make_account("集团"), make_account("子公司"), make_account("孙公司")
    services.set_parent(account=sub, parent=group, user=rep_a)
    services.set_parent(account=subsub, parent=sub, user=rep_a)
    for child, parent in ((group, subsub), (group, sub), (sub, sub)):
        with pytest.raises(AccountCycle) as caught:
            services.set_parent(account=child, parent=parent, user=rep_a)
        assert caught.value.code == "account_cycle" and caught.value.field == "parent"
    group.refresh_from_db()
    assert group.parent_id is None


def test_hierarchy_cycle_refused_by_the_database(make_account: Callable[..., Account]):
    group, sub = make_account("集团"), make_account("子公司")
    Account.objects.filter(pk=sub.pk).update(parent=group)
    with pytest.raises(IntegrityError, match="cycle"), transaction.atomic():
        Account.objects.filter(pk=group.pk).update(parent=sub)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=group.pk).update(parent=group)


@pytest.mark.django_db(transaction=True)
def test_two_opposite_links_at_once_make_no_cycle(
    make_account: Callable[..., Account], rep_a: User
):
    a, b = make_account("甲公司"), make_account("乙公司")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def link(child: Account, parent: Account) -> None:
        try:
            barrier.wait()
            services.set_parent(account=child, parent=parent, user=rep_a)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=link, args=(a, b)),
        threading.Thread(target=link, args=(b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert len(errors) == 1 and isinstance(errors[0], AccountCycle), errors
    parents = dict(Account.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "parent_id"))
    assert sorted(p is None for p in parents.values()) == [False, True]


def test_relation_to_itself_refused(make_account: Callable[..., Account], rep_a: User):
    a, b = make_account("甲"), make_account("乙")
    with pytest.raises(services.accounts.InvalidRelation):
        services.add_relation(from_account=a, to_account=a, kind="partner", user=rep_a)
    relation = services.add_relation(from_account=a, to_account=b, kind="supplier", user=rep_a)
    assert str(relation)


def test_same_person_at_two_accounts_is_one_customer(
    make_account: Callable[..., Account], rep_a: User, roles: dict
):
    first, second = make_account("甲公司"), make_account("乙公司")
    one = services.add_contact(
        account=first, identities=phone(1), name="李娜", user=rep_a, roles=[roles["purchaser"]]
    )
    two = services.add_contact(
        account=second,
        identities=[*phone(1), IdentityInput("email", "Li.Na@Example.com")],
        name="李娜",
        user=rep_a,
        roles=[roles["decision_maker"], roles["finance"]],
    )
    assert one.person_id == two.person_id
    assert Customer.objects.filter(kind="person").count() == 1
    assert Identity.objects.filter(customer_id=one.person_id).count() == 2
    assert {r.code for r in two.roles.all()} == {"decision_maker", "finance"}
    with pytest.raises(ContactExists):
        services.add_contact(account=first, identities=phone(1), name="李娜", user=rep_a)
    events = TimelineEvent.objects.filter(type="contact.added")
    assert events.filter(customer_id=one.person_id).count() == 2
    assert events.filter(customer=first.customer).count() == 1


def test_one_primary_contact_per_account(make_account: Callable[..., Account], rep_a: User):
    account = make_account()
    first = services.add_contact(
        account=account, identities=phone(1), name="甲", user=rep_a, is_primary=True
    )
    with pytest.raises(PrimaryContactTaken) as caught:
        services.add_contact(
            account=account, identities=phone(2), name="乙", user=rep_a, is_primary=True
        )
    assert caught.value.code == "primary_contact_taken" and "甲" not in caught.value.message
    second = services.add_contact(account=account, identities=phone(3), name="丙", user=rep_a)
    with pytest.raises(PrimaryContactTaken):
        services.update_contact(contact=second, user=rep_a, is_primary=True)
    # The database refuses it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=second.pk).update(is_primary=True)
    # Once the first one has left, the place is free.
    services.contact_left(contact=first, user=rep_a)
    first.refresh_from_db()
    assert first.left_on is not None and not first.is_primary
    services.update_contact(contact=second, user=rep_a, is_primary=True, title="采购经理")
    assert Contact.objects.get(is_primary=True).pk == second.pk
    assert TimelineEvent.objects.filter(type="contact.left").count() == 2
