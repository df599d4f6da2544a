"""Trigger rules on marketing's screens: each rule reads as one sentence ("when … in … then
issue … paid by …"), the sentence-like form creates and edits rules and names the field of
each refusal (a paying unit that does not fund the template, an amount on an event that is
not a transaction) with the same check as the admin's form, a rule is switched off and on
after a confirmation, another unit's rule is a 404, and the list runs a fixed number of
queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns import services
from campaigns.admin import TriggerRuleForm as AdminRuleForm
from campaigns.models import TRANSACTION_EVENT, TriggerRule
from campaigns.services.triggers import rule_event_choices
from campaigns.web.sentence import rule_sentence
from crm.roles import MARKETING, SALES_MANAGER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(unit_a):
    return UserFactory(username="mkt", roles=[MARKETING], units=[unit_a])


def other_event() -> str:
    return next(code for code, _label in rule_event_choices() if code != TRANSACTION_EVENT)


def make_rule(template, unit, owner, **fields) -> TriggerRule:
    values = {
        "name": "买车送物业费",
        "event_type": TRANSACTION_EVENT,
        "source_business_unit": unit,
        "min_amount": Decimal("100000"),
        "template": template,
        "funding_business_unit": unit,
        "budget_count": 100,
        "budget_value": Decimal("20000"),
        "owner": owner,
    }
    values.update(fields)
    return services.save_trigger_rule(TriggerRule(**values))


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", str(html))


def form_data(template, source, payer, **changes) -> dict[str, str]:
    data = {
        "name": "买车送物业费",
        "event_type": TRANSACTION_EVENT,
        "source_business_unit": str(source.pk),
        "min_amount": "100000",
        "data_key": "",
        "data_value": "",
        "template": str(template.pk),
        "funding_business_unit": str(payer.pk),
        "budget_count": "100",
        "budget_value": "20000",
    }
    data.update(changes)
    return data


def test_a_rule_reads_as_one_sentence(template, unit_a, marketer) -> None:
    rule = make_rule(template, unit_a, marketer)
    with translation.override("zh-hans"):
        assert text(rule_sentence(rule)) == (
            "当「收到一笔交易」发生在星辰汽车（金额不低于 ¥100,000.00）时，向该客户发放"
            "「物业费抵扣券 200 元」，由星辰汽车承担；预算 100 张 / ¥20,000.00。"
        )
    with translation.override("en"):
        assert text(rule_sentence(rule)) == (
            "When “A transaction is stored” happens in 星辰汽车 (amount at least CN¥100,000.00), "
            "issue “物业费抵扣券 200 元” to that customer, paid by 星辰汽车; budget 100 coupons "
            "/ CN¥20,000.00."
        )
    level = make_rule(
        template,
        None,
        marketer,
        source_business_unit=None,
        funding_business_unit=unit_a,
        event_type=other_event(),
        min_amount=None,
        data_key="level",
        data_value="gold",
    )
    with translation.override("zh-hans"):
        assert "任一事业部" in text(rule_sentence(level))
        assert "（其 level 为 gold）" in text(rule_sentence(level))
    # names are escaped, the terms in bold
    rule.template.name = "<b>券</b>"
    assert "&lt;b&gt;券&lt;/b&gt;" in rule_sentence(rule)
    assert "<strong>" in rule_sentence(rule)


def test_create_through_the_sentence_form(client, template, unit_a, unit_b, marketer) -> None:
    client.force_login(marketer)
    page = client.get(reverse("campaigns:rule-create")).content.decode()
    assert 'data-testid="rule-sentence-form"' in page
    assert "发生在" in page and "由" in page and "承担" in page
    response = client.post(reverse("campaigns:rule-create"), form_data(template, unit_b, unit_a))
    assert response.status_code == 302
    rule = TriggerRule.objects.get()
    assert (rule.owner, rule.source_business_unit, rule.funding_business_unit) == (
        marketer,
        unit_b,
        unit_a,
    )
    assert rule.is_active and rule.budget_value == Decimal("20000")
    listing = client.get(reverse("campaigns:rule-list")).content.decode()
    assert "当「收到一笔交易」发生在星辰物业" in text(listing)


def test_refusals_name_their_field(client, template, unit_a, unit_b) -> None:
    both = UserFactory(username="both", roles=[MARKETING], units=[unit_a, unit_b])
    client.force_login(both)
    url = reverse("campaigns:rule-create")
    # the template is funded by the dealership only
    response = client.post(url, form_data(template, unit_a, unit_b))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["funding_business_unit"]
    page = response.content.decode()
    assert 'data-testid="rule-error-funding_business_unit"' in page
    assert "出资单位" in page and "出资单位必须是该券模板的出资单位之一" in page
    # an amount on an event that is not a transaction
    response = client.post(url, form_data(template, unit_a, unit_a, event_type=other_event()))
    assert list(response.context["form"].errors) == ["min_amount"]
    assert "金额条件只适用于交易" in response.content.decode()
    assert not TriggerRule.objects.exists()


def test_the_admin_form_checks_the_same_way(template, unit_a, unit_b, marketer) -> None:
    data = {**form_data(template, unit_a, unit_b), "owner": str(marketer.pk), "is_active": "on"}
    form = AdminRuleForm(data=data)
    assert not form.is_valid() and list(form.errors) == ["funding_business_unit"]
    data = {
        **form_data(template, unit_a, unit_a, event_type=other_event()),
        "owner": str(marketer.pk),
    }
    form = AdminRuleForm(data=data)
    assert not form.is_valid() and list(form.errors) == ["min_amount"]


def test_edit_keeps_the_budget_above_what_was_issued(client, template, unit_a, marketer) -> None:
    rule = make_rule(template, unit_a, marketer)
    TriggerRule.objects.filter(pk=rule.pk).update(issued_count=5, issued_value=Decimal("1000"))
    client.force_login(marketer)
    url = reverse("campaigns:rule-edit", args=[rule.pk])
    assert "买车送物业费" in client.get(url).content.decode()
    response = client.post(url, form_data(template, unit_a, unit_a, budget_count="3"))
    assert list(response.context["form"].errors) == ["budget_count"]
    response = client.post(
        url, form_data(template, unit_a, unit_a, budget_count="200", name="购车礼")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.budget_count, rule.issued_count) == ("购车礼", 200, 5)


def test_another_units_rule_is_a_404(client, template, unit_a, unit_b, marketer) -> None:
    rule = make_rule(template, unit_a, marketer)
    outsider = UserFactory(username="prop", roles=[MARKETING], units=[unit_b])
    client.force_login(outsider)
    assert client.get(reverse("campaigns:rule-edit", args=[rule.pk])).status_code == 404
    toggle = reverse("campaigns:rule-toggle", args=[rule.pk])
    assert client.post(toggle, {"active": "0"}).status_code == 404
    assert "买车送物业费" not in client.get(reverse("campaigns:rule-list")).content.decode()
    rule.refresh_from_db()
    assert rule.is_active
    # and the paying unit offered is among the user's own
    form = client.get(reverse("campaigns:rule-create")).context["form"]
    assert list(form.fields["funding_business_unit"].queryset) == [unit_b]
    assert list(form.fields["template"].queryset) == []


def test_only_marketing_manages_rules(client, unit_a) -> None:
    manager = UserFactory(username="mgr", roles=[SALES_MANAGER], units=[unit_a])
    client.force_login(manager)
    assert client.get(reverse("campaigns:rule-list")).status_code == 403
    assert client.get(reverse("campaigns:rule-create")).status_code == 403


def test_deactivate_and_activate_after_a_confirmation(client, template, unit_a, marketer) -> None:
    rule = make_rule(template, unit_a, marketer)
    client.force_login(marketer)
    listing = client.get(reverse("campaigns:rule-list")).content.decode()
    assert "data-confirm=" in listing and "停用“买车送物业费”" in listing
    toggle = reverse("campaigns:rule-toggle", args=[rule.pk])
    client.post(toggle, {"active": "0"})
    rule.refresh_from_db()
    assert not rule.is_active
    page = client.get(reverse("campaigns:rule-list")).content.decode()
    assert "已停用" in page and "启用“买车送物业费”" in page
    # a rule stopped by its budget starts again only once the budget allows one more coupon
    TriggerRule.objects.filter(pk=rule.pk).update(
        issued_count=100, issued_value=Decimal("20000"), exhausted_at=rule.created_at
    )
    page = client.post(toggle, {"active": "1"}, follow=True).content.decode()
    assert "预算已耗尽" in page and "先提高预算" in page
    rule.refresh_from_db()
    assert not rule.is_active
    TriggerRule.objects.filter(pk=rule.pk).update(budget_count=150, budget_value=Decimal("30000"))
    client.post(toggle, {"active": "1"})
    rule.refresh_from_db()
    assert rule.is_active and rule.exhausted_at is None


def test_filters_and_empty_states(client, template, unit_a, unit_b, marketer) -> None:
    client.force_login(marketer)
    page = client.get(reverse("campaigns:rule-list")).content.decode()
    assert 'data-testid="empty-state"' in page and "还没有触发规则" in page
    make_rule(template, unit_a, marketer, name="运行中的规则")
    make_rule(template, unit_a, marketer, name="停用的规则")
    services.set_trigger_rule_active(rule=TriggerRule.objects.get(name="停用的规则"), active=False)
    url = reverse("campaigns:rule-list")
    assert client.get(url).content.decode().count('data-testid="rule-row"') == 2
    page = client.get(url, {"active": "0"}).content.decode()
    assert "停用的规则" in page and "运行中的规则" not in page
    page = client.get(url, {"unit": str(unit_a.pk), "active": "1"}).content.decode()
    assert "运行中的规则" in page and "停用的规则" not in page
    campaigns = client.get(reverse("campaigns:campaign-list")).content.decode()
    assert f'href="{url}"' in campaigns


def test_the_list_runs_a_fixed_number_of_queries(
    client, template, unit_a, marketer, django_assert_num_queries
) -> None:
    make_rule(template, unit_a, marketer)
    client.force_login(marketer)
    url = reverse("campaigns:rule-list")
    client.get(url)
    with django_assert_num_queries(5):
        client.get(url)
    for n in range(20):
        make_rule(template, unit_a, marketer, name=f"规则{n}")
    page = client.get(url).content.decode()
    assert page.count('data-testid="rule-row"') == 21 and 'data-testid="pagination"' in page
    with django_assert_num_queries(5):
        client.get(url)
