"""The managers' screens: the team board (by pool and status, by rep with overdue
follow-ups) and the funnel with channel ROI equal to a hand computation; scope and query
counts pinned."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import ChannelCost, Lead, LeadPool

pytestmark = pytest.mark.django_db


def held(make_lead, rep, **kwargs) -> Lead:
    lead = make_lead(**kwargs)
    services.claim_lead(lead=lead.pk, user=rep)
    return lead


def test_board_by_status_and_by_rep(client, manager, rep_a, rep_b, make_lead, public_pool):
    make_lead()
    make_lead()
    late = held(make_lead, rep_a)
    held(make_lead, rep_b)
    Lead.objects.filter(pk=late.pk).update(next_follow_up_at=timezone.now() - timedelta(days=1))
    client.force_login(manager)
    response = client.get(reverse("leads:team"))
    assert response.status_code == 200
    pools = response.context["pools"]
    assert pools[0]["pool"] == public_pool and pools[0]["total"] == 4
    statuses = [value for value, _label in response.context["board"].statuses]
    assert pools[0]["cells"][statuses.index("new")] == 2
    assert pools[0]["cells"][statuses.index("assigned")] == 2
    by_rep = client.get(reverse("leads:team") + "?by=rep")
    reps = {r["row"].user.username: r["row"] for r in by_rep.context["reps"]}
    assert reps["rep_a"].held == 1 and reps["rep_a"].overdue == 1
    assert reps["rep_b"].overdue == 0
    assert 'data-testid="board-overdue"' in by_rep.content.decode()


def test_board_empty_and_other_units_hidden(client, manager, unit_b):
    other = LeadPool.objects.create(business_unit=unit_b, name="物业公海", kind="public")
    Lead.objects.create(business_unit=unit_b, pool=other, name="外单位")
    client.force_login(manager)
    html = client.get(reverse("leads:team")).content.decode()
    assert "物业公海" not in html and 'data-testid="empty-state"' in html


def test_board_is_for_managers(client, rep_a):
    client.force_login(rep_a)
    assert client.get(reverse("leads:team")).status_code == 403
    assert client.get(reverse("leads:funnel")).status_code == 403


def test_board_query_count_is_constant(
    client, manager, make_lead, unit_a, django_assert_num_queries
):
    from crm.roles import SALES_REP
    from tests.factories import UserFactory

    rep = UserFactory(username="r0", roles=[SALES_REP], units=[unit_a])
    held(make_lead, rep)
    client.force_login(manager)
    client.get(reverse("leads:team") + "?by=rep")
    with django_assert_num_queries(8) as few:
        client.get(reverse("leads:team") + "?by=rep")
    for i in range(1, 6):
        rep = UserFactory(username=f"r{i}", roles=[SALES_REP], units=[unit_a])
        held(make_lead, rep)
        make_lead()
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("leads:team") + "?by=rep")
    assert len(response.context["reps"]) == 6


def test_funnel_and_channel_roi_equal_a_hand_computation(
    client, manager, rep_a, make_lead, public_pool, unit_a
):
    public_pool.hold_limit = 20
    public_pool.save()
    # Ads (channel baidu): 4 leads, 2 contacted, 1 qualified then converted, 1 lost.
    ads = [make_lead(source="ad", channel="baidu", name=f"广告{i}") for i in range(4)]
    for lead in ads[:2]:
        services.claim_lead(lead=lead.pk, user=rep_a)
        services.log_follow_up(lead=lead.pk, user=rep_a, kind="call")
    services.qualify_lead(lead=ads[0].pk, user=rep_a)
    services.convert_lead(lead=ads[0].pk, user=rep_a)
    services.lose_lead(lead=ads[1].pk, user=rep_a, reason="budget")
    # Trade show: 2 leads, none worked.
    make_lead(source="trade_show", name="展会1")
    make_lead(source="trade_show", name="展会2")
    month = timezone.localdate().replace(day=1)
    ChannelCost.objects.create(
        business_unit=unit_a, source="ad", channel="baidu", month=month, amount=Decimal("1200")
    )
    ChannelCost.objects.create(
        business_unit=unit_a, source="referral", channel="", month=month, amount=Decimal("300")
    )
    client.force_login(manager)
    response = client.get(reverse("leads:funnel"))
    assert response.status_code == 200
    stages = {s["key"]: s["count"] for s in response.context["stages"]}
    assert stages == {"leads": 6, "contacted": 2, "qualified": 1, "converted": 1}
    by_source = {s["row"].key: s["row"] for s in response.context["sources"]}
    ad_funnel = by_source["ad"]
    assert (ad_funnel.leads, ad_funnel.contacted, ad_funnel.qualified) == (4, 2, 1)
    assert (ad_funnel.converted, ad_funnel.lost) == (1, 1)
    rows = {(c["row"].source, c["row"].channel): c["row"] for c in response.context["channels"]}
    ad = rows[("ad", "baidu")]
    assert (ad.leads, ad.conversions) == (4, 1)
    assert ad.spend == Decimal("1200")
    assert ad.cost_per_lead == Decimal("300.00")  # 1200 / 4
    assert ad.cost_per_conversion == Decimal("1200.00")  # 1200 / 1
    assert ad.conversion_rate == Decimal("25.0")
    show = rows[("trade_show", "")]
    assert show.leads == 2 and show.spend == 0 and show.cost_per_conversion is None
    referral = rows[("referral", "")]  # spend without a lead still shows
    assert referral.leads == 0 and referral.spend == Decimal("300")
    assert response.context["spend_total"] == Decimal("1500")
    html = response.content.decode()
    assert 'data-testid="chart-funnel"' in html and 'data-testid="chart-channels"' in html
    assert 'id="channels-data"' in html


def test_funnel_period_validation_and_empty_state(client, manager, make_lead):
    make_lead()
    client.force_login(manager)
    url = reverse("leads:funnel")
    response = client.get(url + "?start=2020-01-01&end=2020-01-31")
    assert 'data-testid="empty-state"' in response.content.decode()
    response = client.get(url + "?start=nonsense")
    assert response.context["errors"]
    response = client.get(url + "?start=2026-12-31&end=2026-01-01")
    assert response.context["start"] < response.context["end"] and response.context["errors"]
    response = client.get(url + "?start=2020-01-01&end=2026-01-01")
    assert (response.context["end"] - response.context["start"]).days == 366


def test_funnel_query_count_is_constant(client, manager, make_lead, django_assert_num_queries):
    make_lead(source="ad")
    client.force_login(manager)
    url = reverse("leads:funnel")
    client.get(url)
    with django_assert_num_queries(6) as few:
        client.get(url)
    for source in ("referral", "trade_show", "call_in"):
        make_lead(source=source)
        make_lead(source=source, channel="x")
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(url).context["channels"]) == 7


def test_funnel_period_limits_rows(client, manager, make_lead):
    old = make_lead(source="ad")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    make_lead(source="ad")
    client.force_login(manager)
    response = client.get(reverse("leads:funnel"))
    assert response.context["stages"][0]["count"] == 1
    start = (date.today() - timedelta(days=500)).isoformat()
    response = client.get(reverse("leads:funnel") + f"?start={start}")
    assert response.context["errors"]  # more than a year: shortened
