"""The leads screens in the shell: navigation entries, the saved-view lists and the pool's
export, the reps' home card (called from ``LeadsConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register_screens() -> None:
    from crm.exports import register_export
    from crm.registry import (
        ListSpec,
        NavItem,
        register_card,
        register_list,
        register_nav,
        work_list_card,
    )
    from crm.roles import SALES_REP
    from leads.web.exports import POOL_EXPORT
    from leads.web.home import due_today_work
    from leads.web.queries import MY_FILTER_PARAMS, MY_LIST_KEY, POOL_FILTER_PARAMS, POOL_LIST_KEY

    register_list(
        ListSpec(
            POOL_LIST_KEY,
            _("Lead pool"),
            "leads:pool",
            POOL_FILTER_PARAMS,
            permission="leads.view_lead",
            defaults=(("sort", "-created"),),
        )
    )
    register_list(
        ListSpec(
            MY_LIST_KEY,
            _("My leads"),
            "leads:mine",
            MY_FILTER_PARAMS,
            permission="leads.claim_lead",
            defaults=(("sort", "due"),),
        )
    )
    register_export(POOL_EXPORT)
    for item in (
        NavItem("leads-pool", _("Lead pool"), "leads:pool", "inbox", "leads.view_lead", 20),
        NavItem(
            "leads-mine",
            _("My leads"),
            "leads:mine",
            "user",
            "leads.claim_lead",
            21,
            also=("leads:mine-board",),
        ),
    ):  # the team board and the funnel: the leads screens' own tabs (templates/leads/_tabs)
        register_nav(item)
    register_card(
        work_list_card(
            "leads-due-today",
            _("My leads due today"),
            due_today_work,
            permission="leads.claim_lead",
            roles=frozenset({SALES_REP}),
            order=5,
        )
    )
