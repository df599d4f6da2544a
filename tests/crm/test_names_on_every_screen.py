"""What every screen prints, the admin and the home page's cards included: a generated name as
the "unnamed customer" placeholder, sources by their names, money and counts per language,
roles called roles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from crm import services
from crm.demo_workspace import import_with_errors
from crm.models import Customer, Role, Transaction
from crm.roles import ADMIN, DATA_STEWARD, MARKETING
from crm.services import IdentityInput, TransactionInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def make(phone: str, name: str = "") -> Customer:
    attributes = {"display_name": name} if name else {}
    return services.resolve_customer(
        identities=[IdentityInput("mobile", phone)], attributes=attributes, source="pos"
    ).customer


@pytest.fixture
def boss(unit_a):
    return UserFactory(roles=[ADMIN], units=[unit_a], is_staff=True)


def test_the_customer_admin_shows_generated_names_as_placeholders(client, boss):
    unnamed = make("13900139000")
    make("13800138000", "王伟")
    client.force_login(boss)
    html = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert 'class="customer-unnamed" data-testid="unnamed">未命名客户</span>' in html
    assert "139****9000" in html and "王伟" in html
    # every other admin list naming the customer (identities, consents…) reads the same
    assert str(unnamed) == "未命名客户（139****9000）"
    identities = client.get(reverse("admin:crm_identity_changelist")).content.decode()
    assert "未命名客户（139****9000）" in identities
    change = client.get(reverse("admin:crm_customer_change", args=[unnamed.pk])).content.decode()
    assert "门店收银" in change  # the origin by its name, also in the identities inline
    assert 'class="readonly">pos<' not in change


def test_consents_and_duplicate_reviews_name_the_source(client, boss):
    a, b = make("13800138000", "王伟"), make("13900139000")
    services.record_consent(
        customer=a, channel="sms", purpose="marketing", granted=True, source="pos"
    )
    candidate = services.record_duplicate_candidate(
        first=a, second=b, reason="shared_identity", detail="pos", score=90
    )
    client.force_login(boss)
    detail = client.get(reverse("customer-detail", args=[a.pk])).content.decode()
    assert detail.count("门店收银") >= 2  # first seen, the consent
    review = client.get(reverse("duplicate-review", args=[candidate.pk])).content.decode()
    assert "在门店收银的同一条记录中" in review or "门店收银" in review
    assert " pos<" not in review and "“pos”" not in review
    consents = client.get(reverse("admin:crm_consent_changelist")).content.decode()
    assert "门店收银" in consents


def test_a_merge_of_an_unnamed_customer_names_it_as_a_placeholder(client, boss):
    named, unnamed = make("13800138000", "王伟"), make("13900139000")
    merge = services.merge_customers(survivor=named, loser=unnamed, actor=boss, reason="同一人")
    client.force_login(boss)
    html = client.get(reverse("merge-detail", args=[merge.pk])).content.decode()
    assert "未命名客户（139****9000）" in html
    assert "“139****9000”" not in html
    # the old link leads to the survivor and names the merged customer the same way
    followed = client.get(reverse("customer-detail", args=[unnamed.pk]), follow=True)
    assert "“未命名客户（139****9000）”" in followed.content.decode()


def test_the_duplicate_warning_of_the_create_form_shows_the_placeholder(client, unit_a):
    desk = UserFactory(roles=[DATA_STEWARD], units=[unit_a])
    unnamed = make("13900139000")
    client.force_login(desk)
    html = client.get(reverse("customer-create-check"), {"mobile": "13900139000"}).content
    text = html.decode()
    assert 'data-testid="unnamed">未命名客户</span>' in text
    assert f"(#{unnamed.pk})" in text


def test_the_jobs_card_tells_imports_apart_like_the_job_list(client, unit_a):
    importer = UserFactory(roles=[MARKETING], units=[unit_a])
    rows = "".join(f"N{n},2026-11-02 10:00,5,1390000{n:04d}\n" for n in range(1234))
    job = import_with_errors(
        unit=unit_a,
        user=importer,
        filename="门店订单.csv",
        data=f"external_id,occurred_at,amount,mobile\n{rows}BAD,soon,5,\n".encode(),
    )
    assert job.result["created"] == 1234 and job.result["rejected"] == 1
    client.force_login(importer)
    html = client.get(reverse("home")).content.decode()
    card = html[html.index('data-testid="jobs-card"') :]
    assert "门店订单.csv" in card and "门店收银" in card and "1,234" in card
    detail = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "1,234" in detail  # the result's figures grouped
    assert ">crm.import_transactions<" not in detail  # the kind by its name
    assert "中国（Asia/Shanghai）" in detail  # the zone by its name
    assert '下单时间 <code class="small">occurred_at</code>' in detail  # the column by name


def test_roles_are_a_proxy_of_groups_named_by_their_label(boss):
    role = Role.objects.get(name=DATA_STEWARD)
    assert str(role) == "数据管理员" and role.pk in boss.groups.model.objects.values_list(
        "pk", flat=True
    )


def test_one_transactions_admin_page_shows_money_and_the_source_by_name(client, boss, unit_a):
    make("13800138000", "王伟")
    services.ingest_transactions(
        business_unit=unit_a,
        source="pos",
        rows=[
            TransactionInput(
                "A1",
                WHEN,
                "12345.5",
                "store",
                currency="GBP",
                identities=[IdentityInput("mobile", "13800138000")],
            )
        ],
    )
    client.force_login(boss)
    url = reverse("admin:crm_transaction_change", args=[Transaction.objects.get().pk])
    html = client.get(url).content.decode()
    assert "£12,345.50" in html and "门店收银" in html
    assert "12345.50" not in html
