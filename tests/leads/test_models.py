"""The lead tables hold their rules in the database: the status machine's owner rule, the
reasons, one public pool per unit, one open lead per identity and unit, defaults for bulk
writers; and who sees which lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from leads.models import Lead, LeadPool, LeadStatus, PoolKind
from tests.factories import UserFactory

MODELS = list(apps.get_app_config("leads").get_models())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_python_default_has_a_database_default(model):
    missing = [
        f.name
        for f in model._meta.concrete_fields
        if (f.default is not NOT_PROVIDED or getattr(f, "auto_now", False))
        and f.db_default is NOT_PROVIDED
        and not f.primary_key
    ]
    assert missing == []


@pytest.mark.django_db
def test_a_raw_insert_naming_only_the_required_columns_makes_a_new_unclaimed_lead(public_pool):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_lead (business_unit_id, pool_id, name) VALUES (%s, %s, '韩梅梅') "
            "RETURNING id",
            [public_pool.business_unit_id, public_pool.pk],
        )
        (lead_id,) = cursor.fetchone()
    lead = Lead.objects.get(pk=lead_id)
    assert (lead.status, lead.kind, lead.source, lead.score, lead.quarantined) == (
        "new",
        "person",
        "web_form",
        0,
        False,
    )
    assert lead.created_at is not None and lead.pooled_at is not None


def _refused(**changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.filter(pk=changes.pop("pk")).update(**changes)


@pytest.mark.django_db
def test_check_constraints_refuse_impossible_leads(make_lead, rep_a):
    lead = make_lead()
    now = timezone.now()
    _refused(pk=lead.pk, score=101)
    _refused(pk=lead.pk, status=LeadStatus.ASSIGNED)  # held without an owner
    _refused(pk=lead.pk, owner=rep_a)  # new but owned
    _refused(pk=lead.pk, status=LeadStatus.LOST)  # lost without a reason
    _refused(pk=lead.pk, status=LeadStatus.CONVERTED, converted_at=now)  # no customer
    _refused(pk=lead.pk, quarantined=True)  # no reason
    _refused(pk=lead.pk, name="", company="")
    _refused(pk=lead.pk, status="bogus")
    Lead.objects.filter(pk=lead.pk).update(status="assigned", owner=rep_a, claimed_at=now)
    Lead.objects.filter(pk=lead.pk).update(status="lost", lost_reason="budget")


@pytest.mark.django_db
def test_one_public_pool_per_unit(public_pool):
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadPool.objects.create(
            business_unit=public_pool.business_unit, name="第二公海", kind=PoolKind.PUBLIC
        )
    LeadPool.objects.create(business_unit=public_pool.business_unit, name="团队")


@pytest.mark.django_db
def test_one_open_lead_per_identity_and_unit_but_closed_ones_do_not_count(make_lead):
    lead = make_lead(phone="+8613912345678", email="a@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_lead(phone="+8613912345678")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_lead(email="a@example.com", phone="")
    Lead.objects.filter(pk=lead.pk).update(status="lost", lost_reason="no_need")
    assert make_lead(phone="+8613912345678").status == "new"
    # Empty identities are not identities.
    make_lead(phone="", company="甲公司")
    make_lead(phone="", company="乙公司")


@pytest.mark.django_db
def test_a_rep_sees_the_public_pool_and_own_leads_a_manager_the_team_s(
    make_lead, team_pool, rep_a, rep_b, manager, unit_b
):
    in_public = make_lead()
    now = timezone.now()
    mine = make_lead(status="assigned", owner=rep_a, claimed_at=now)
    theirs = make_lead(status="assigned", owner=rep_b, claimed_at=now)
    team_unclaimed = make_lead(pool=team_pool)
    other_unit = LeadPool.objects.create(business_unit=unit_b, name="公海", kind="public")
    foreign = make_lead(pool=other_unit)

    def seen(user):
        return set(Lead.objects.visible_to(user).values_list("pk", flat=True))

    assert seen(rep_a) == {in_public.pk, mine.pk, team_unclaimed.pk}
    assert seen(rep_b) == {in_public.pk, theirs.pk}
    assert seen(manager) == {in_public.pk, mine.pk, theirs.pk, team_unclaimed.pk}
    assert foreign.pk not in seen(manager)
    outsider = UserFactory(username="nobody")
    assert seen(outsider) == set()


@pytest.mark.django_db
def test_recycle_due_is_the_earlier_of_the_follow_up_and_conversion_deadlines(make_lead, rep_a):
    claimed = timezone.now() - timedelta(days=10)
    lead = make_lead(status="assigned", owner=rep_a, claimed_at=claimed)
    pool = lead.pool
    assert lead.recycle_due_at() == claimed + timedelta(days=pool.follow_up_days)
    lead.last_follow_up_at = claimed + timedelta(days=29)
    assert lead.recycle_due_at() == claimed + timedelta(days=pool.convert_days)
    assert not lead.is_overdue(timezone.now())
    assert lead.is_overdue(claimed + timedelta(days=pool.convert_days))
    assert lead.can_move_to("contacted") and not lead.can_move_to("converted")
