"""Rule tags: the system adds its tag to the customers a rule matches and takes it off those
it no longer matches, set-based; each link records the rule and when; a re-run changes
nothing; tags set by hand are left alone; the nightly job reports its progress."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.urls import reverse

from crm import services
from crm.models import (
    Customer,
    CustomerTag,
    Job,
    JobStatus,
    Tag,
    TagCategory,
    TagRule,
    Transaction,
)
from crm.rule_presets import PRESETS
from crm.rules import validate_rule

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def big_spender_rule(db):
    tag = Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="大客户")
    return services.save_tag_rule(
        tag=tag, rule={"field": "purchases.spend", "op": "gte", "value": "1000"}
    )


def buy(customer, unit, amount, *, days=1, ref=None):
    return Transaction.objects.create(
        business_unit=unit,
        customer=customer,
        source="t",
        external_id=ref or f"{customer.pk}-{amount}-{days}",
        channel="store",
        kind="purchase" if float(amount) >= 0 else "cancellation",
        amount=amount,
        occurred_at=NOW - timedelta(days=days),
    )


def tagged(tag) -> set[int]:
    return set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True))


def test_rule_tags_appear_and_disappear_as_the_data_changes(big_spender_rule, unit_a):
    rich = Customer.objects.create(display_name="甲")
    poor = Customer.objects.create(display_name="乙")
    buy(rich, unit_a, "1200.00")
    buy(poor, unit_a, "50.00")
    tag = big_spender_rule.tag

    outcome = services.apply_tag_rule(tag_rule=big_spender_rule, now=NOW)
    assert (outcome.matched, outcome.added, outcome.removed) == (1, 1, 0)
    assert tagged(tag) == {rich.pk}
    link = CustomerTag.objects.get(tag=tag, customer=rich)
    assert link.rule == big_spender_rule.key and link.created_at == NOW and link.set_by is None

    again = services.apply_tag_rule(tag_rule=big_spender_rule, now=NOW)  # idempotent
    assert (again.added, again.removed) == (0, 0)
    assert CustomerTag.objects.get(tag=tag, customer=rich).created_at == NOW

    buy(rich, unit_a, "-300.00", ref="refund")  # net spend falls to 900
    buy(poor, unit_a, "2000.00")
    later = NOW + timedelta(hours=1)
    outcome = services.apply_tag_rule(tag_rule=big_spender_rule, now=later)
    assert (outcome.matched, outcome.added, outcome.removed) == (1, 1, 1)
    assert tagged(tag) == {poor.pk}
    big_spender_rule.refresh_from_db()
    assert (big_spender_rule.matched, big_spender_rule.applied_at) == (1, later)


def test_a_tag_set_by_hand_is_never_taken_off_by_the_rule(big_spender_rule, unit_a):
    loyal = Customer.objects.create(display_name="手工")
    services.add_tag(customer=loyal, tag=big_spender_rule.tag)
    services.apply_tag_rule(tag_rule=big_spender_rule, now=NOW)
    assert tagged(big_spender_rule.tag) == {loyal.pk}
    assert CustomerTag.objects.get(customer=loyal).rule == ""


def test_merge_tombstones_lose_rule_tags(big_spender_rule, unit_a):
    survivor = Customer.objects.create(display_name="存")
    loser = Customer.objects.create(display_name="失")
    buy(loser, unit_a, "5000.00")
    services.apply_tag_rule(tag_rule=big_spender_rule, now=NOW)
    assert tagged(big_spender_rule.tag) == {loser.pk}
    Customer.objects.filter(pk=loser.pk).update(merged_into=survivor, merged_at=NOW)
    Transaction.objects.filter(customer=loser).update(customer=survivor)
    services.apply_tag_rule(tag_rule=big_spender_rule, now=NOW)
    assert tagged(big_spender_rule.tag) == {survivor.pk}


def test_the_job_applies_every_active_rule_with_progress(
    big_spender_rule, unit_a, admin_user, django_capture_on_commit_callbacks
):
    sleeping = services.save_tag_rule(
        tag=Tag.objects.create(category=big_spender_rule.tag.category, name="关闭"),
        rule={"field": "customer.kind", "op": "in", "value": ["person"]},
        is_active=False,
    )
    buy(Customer.objects.create(display_name="甲"), unit_a, "1500.00")
    TagRule.objects.exclude(pk__in=[big_spender_rule.pk, sleeping.pk]).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_tag_rules_job(user=admin_user)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result == {"rules": 1, "matched": 1, "added": 1, "removed": 0}
    assert not tagged(sleeping.tag)
    assert dict(job.result_items)  # labelled figures for the job page


def test_the_nightly_beat_runs_the_job_at_half_past_four(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["apply-tag-rules"]
    assert entry["task"] == "crm.tasks.apply_tag_rules"
    assert entry["schedule"].hour == {4} and entry["schedule"].minute == {30}


def test_the_admin_applies_selected_rules_after_a_confirmation(
    client, admin_user, big_spender_rule, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse("admin:crm_tagrule_changelist")
    data = {"action": "apply_now", "_selected_action": [big_spender_rule.pk]}
    page = client.post(url, data)
    assert page.status_code == 200 and b"confirmed" in page.content
    assert not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {**data, "confirmed": "yes"})
    assert done.status_code == 302
    job = Job.objects.get()
    assert job.params["rules"] == [big_spender_rule.pk] and job.status == JobStatus.SUCCEEDED


def test_the_admin_edits_a_rule_in_the_builder_and_refuses_a_bad_one(client, admin_user):
    client.force_login(admin_user)
    tag = Tag.objects.create(category=TagCategory.objects.create(name="渠道"), name="线上")
    add = reverse("admin:crm_tagrule_add")
    page = client.get(add)
    assert b"data-rule-builder" in page.content and b"rule_builder.js" in page.content
    bad = client.post(
        add,
        {
            "tag": tag.pk,
            "is_active": "on",
            "rule": '{"field": "customer.kind", "op": "gt", "value": 1}',
        },
    )
    assert bad.status_code == 200 and "不适用于" in bad.content.decode()
    good = client.post(
        add,
        {
            "tag": tag.pk,
            "is_active": "on",
            "rule": '{"field": "customer.kind", "op": "in", "value": ["person"]}',
        },
    )
    assert good.status_code == 302
    assert TagRule.objects.get(tag=tag).created_by == admin_user


def test_the_preset_library_is_loaded_once_and_every_preset_is_valid():
    assert 20 <= len(PRESETS) <= 25
    for _category, name, name_en, _description, rule in PRESETS:
        validate_rule(rule, unit_ids=set())
        assert name and name_en
    from crm.rule_presets import install_presets

    installed = install_presets(TagCategory, Tag, TagRule)
    assert installed in (0, len(PRESETS))  # the migration loaded them, or a flush emptied them
    assert install_presets(TagCategory, Tag, TagRule) == 0
    assert TagRule.objects.filter(tag__name="高价值客户", tag__name_en="High value").exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_of_a_rule_tag_each_customer_once(unit_a):
    tag = Tag.objects.create(category=TagCategory.objects.create(name="并发"), name="买过")
    rule = services.save_tag_rule(
        tag=tag, rule={"field": "purchases.count", "op": "gte", "value": 1}
    )
    for n in range(30):
        buy(Customer.objects.create(display_name=f"客{n}"), unit_a, "10.00")
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            barrier.wait()
            outcomes.append(services.apply_tag_rule(tag_rule=rule, now=NOW))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.added for o in outcomes) == [0, 30]
    assert len(tagged(tag)) == 30
