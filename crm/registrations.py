"""The customer master's registrations of its intelligence layer (metrics, rule tags and
segments), called from ``CrmConfig.ready`` (kept apart so that crm/apps.py stays short)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_metrics() -> None:
    """The customer metrics (crm/METRICS.md): dashboards in the navigation, the 360 view's
    panel, marketing's churn warnings on the home page."""
    from crm.registry import (
        CustomerPanel,
        NavItem,
        register_card,
        register_nav,
        register_panel,
        work_list_card,
    )
    from crm.roles import MARKETING
    from crm.web import metrics

    register_nav(
        NavItem(
            "metrics",
            _("Metrics"),  # short: the navigation bar is full
            "metrics-dashboard",
            icon="chart-bar",
            permission=metrics.DASHBOARD_PERMISSION,
            order=60,
        )
    )
    register_panel(
        CustomerPanel(
            "metrics",
            _("Customer metrics"),
            "crm/metrics/panel.html",
            metrics.panel_context,
            permission=metrics.VIEW_PERMISSION,
            order=20,
        )
    )
    register_card(
        work_list_card(
            "churn-warnings",
            _("Customers at risk of churn"),
            metrics.churn_work,
            permission=metrics.VIEW_PERMISSION,
            roles=frozenset({MARKETING}),
            order=9,
        )
    )


def register_segments() -> None:
    """Rule tags and segments: the master's rule fields, the segment list's navigation and
    the export of a segment's members."""
    from crm import exports, rules, selectors  # noqa: F401  (rules registers its fields)
    from crm.exports_segments import SEGMENT_EXPORT
    from crm.registry import (
        ListSpec,
        NavItem,
        register_card,
        register_list,
        register_nav,
        work_list_card,
    )
    from crm.roles import MARKETING
    from crm.web.segments import my_segments_work

    register_list(
        ListSpec(
            selectors.SEGMENT_LIST_KEY,
            _("Segment members"),
            "segment-list",
            ("segment",),
            permission="crm.view_segment",
        )
    )
    exports.register_export(SEGMENT_EXPORT)
    register_nav(
        NavItem(
            "segments",
            _("Segments"),
            "segment-list",
            icon="filter",
            permission="crm.view_segment",
            order=40,
        )
    )
    register_card(
        work_list_card(
            "my-segments",
            _("Your segments"),
            my_segments_work,
            permission="crm.change_segment",
            roles=frozenset({MARKETING}),
            order=9,
        )
    )
