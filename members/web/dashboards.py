"""The programme's dashboards (ECharts, data from ``members.selectors.dashboards``)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from members.models import EnrolmentChannel
from members.selectors.dashboards import dashboards


@require_GET
@permission_required("members.view_pointsentry", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboards()
    channels = dict(EnrolmentChannel.choices)
    by_channel = [
        {**row, "key": str(channels.get(row["key"], row["key"]))}
        for row in data.enrolments_by_channel
    ]
    return render(
        request,
        "members/dashboards.html",
        {"data": data, "by_channel": by_channel},
    )
