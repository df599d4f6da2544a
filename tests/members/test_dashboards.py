"""The loyalty dashboards (constant queries, the numbers behind each chart) and the
settlement statements screen (list, detail, approve and settle after confirmation, export)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models.settlement import SettlementStatement, StatementStatus
from crm.roles import ADMIN, MARKETING, MEMBER_SERVICE
from members import services
from members.selectors.dashboards import dashboards
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(make_member, unit_a, unit_b):
    """Two members enrolled at A, points earned at A, partly redeemed at B (40 days ago, so
    its month's statement can be approved), one expired lot."""
    past = timezone.now() - timedelta(days=40)
    one, two = make_member(), make_member(unit=unit_b, channel="app")
    services.earn_points(member=one, business_unit=unit_a, reference="O-1", amount=300, now=past)
    services.redeem_points(member=one, business_unit=unit_b, points=120, reference="R-1", now=past)
    services.earn_points(member=two, business_unit=unit_b, reference="O-2", amount=50, now=past)
    services.redeem_points(member=two, business_unit=unit_b, points=20, reference="R-2", now=past)
    return one, two


def test_dashboard_numbers(activity, unit_a, unit_b):
    data = dashboards()
    assert sum(row["count"] for row in data.by_level) == 2
    assert {(r["key"], r["count"]) for r in data.enrolments_by_unit} == {("AUTO", 1), ("PROP", 1)}
    assert {r["key"] for r in data.enrolments_by_channel} == {"store", "app"}
    per_unit = {r["unit"]: r for r in data.points_per_unit}
    assert per_unit["AUTO"]["issued"] == 300 and per_unit["PROP"]["redeemed"] == 140
    flows = {(f["source"], f["target"]): f["points"] for f in data.flows}
    assert flows == {("AUTO", "PROP"): 120, ("PROP", "PROP"): 20}
    liability = {row["unit"]: row["outstanding"] for row in data.liability}
    assert liability["AUTO"] == 180 and liability["PROP"] == 30


def test_dashboard_page_constant_queries(
    client, activity, unit_a, make_member, django_assert_num_queries
):
    user = UserFactory(roles=[MARKETING], units=[unit_a])
    client.force_login(user)
    url = reverse("members:dashboards")
    client.get(url)
    with django_assert_num_queries(10) as few:
        response = client.get(url)
    assert response.status_code == 200
    assert 'data-member-chart="flow-matrix"' in response.content.decode()
    for n in range(5):
        member = make_member()
        services.earn_points(member=member, business_unit=unit_a, reference=f"X-{n}", amount=10)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_dashboards_need_the_permission(client, unit_a):
    from crm.roles import SALES_REP

    client.force_login(UserFactory(roles=[SALES_REP], units=[unit_a]))
    assert client.get(reverse("members:dashboards")).status_code == 403


def test_statement_list_detail_approve_settle(client, activity, unit_a):
    admin = UserFactory(roles=[ADMIN], units=[unit_a], is_staff=True)
    client.force_login(admin)
    listing = client.get(reverse("members:statements")).content.decode()
    assert listing.count('data-testid="statement-row"') == 1
    statement = SettlementStatement.objects.get()
    url = reverse("members:statement", args=[statement.pk])
    page = client.get(url).content.decode()
    assert "data-confirm=" in page and 'data-testid="statement-approve"' in page
    assert "1.20" in page  # 120 points at 0.01
    decide = reverse("members:statement-decide", args=[statement.pk])
    client.post(decide, {"action": "settle"})  # not approved yet: refused
    statement.refresh_from_db()
    assert statement.status == StatementStatus.OPEN
    client.post(decide, {"action": "approve"})
    statement.refresh_from_db()
    assert statement.status == StatementStatus.APPROVED and statement.approved_by == admin
    client.post(decide, {"action": "settle"})
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SETTLED


def test_statement_export_runs_as_a_job(
    client, activity, unit_a, django_capture_on_commit_callbacks
):
    import io

    from openpyxl import load_workbook

    from crm.models import Job

    admin = UserFactory(roles=[ADMIN], units=[unit_a], is_staff=True)
    client.force_login(admin)
    statement = SettlementStatement.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("export-start"),
            {
                "list_key": "members.statement_lines",
                "query": f"statement={statement.pk}",
                "format": "xlsx",
            },
        )
    assert response.status_code == 302
    job = Job.objects.get(kind="crm.export")
    assert job.status == "succeeded", job.error
    download = client.get(reverse("export-download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # the header and the one line
    assert rows[1][1:3] == ("AUTO", "PROP") and rows[1][5] == 120


def test_statements_need_the_permission(client, activity, unit_a):
    client.force_login(UserFactory(roles=[MEMBER_SERVICE], units=[unit_a]))
    assert client.get(reverse("members:statements")).status_code == 403
