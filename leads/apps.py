from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

_WORK = [
    "leads.view_lead",
    "leads.add_lead",
    "leads.claim_lead",
    "leads.view_followup",
    "leads.add_followup",
    "leads.view_leadevent",
    "leads.view_leadpool",
]
_MANAGE = [*_WORK, "leads.manage_lead", "leads.view_channelcost", "leads.view_leadpoolmember"]
_CONFIGURE = [
    "leads.view_lead",
    "leads.view_leadpool",
    "leads.view_leadevent",
    "leads.view_followup",
    *[
        f"leads.{verb}_{model}"
        for verb in ("view", "add", "change")
        for model in ("channelcost", "leadpoolmember", "holdlimit")
    ],
    "leads.add_leadpool",
    "leads.change_leadpool",
    "leads.change_lead",
]


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    # The role groups get this app's permissions (created for it just before this runs).
    from crm.roles import sync_roles

    sync_roles()


def _search(user: Any, query: str, limit: int) -> list[Any]:
    from crm.normalizers import mask_identity
    from crm.registry import SearchResult
    from leads.selectors import lead_url, search_leads

    return [
        SearchResult(
            title=lead.display_name,
            url=lead_url(lead.pk),
            subtitle=" · ".join(
                x
                for x in (
                    lead.get_status_display(),
                    mask_identity("mobile", lead.phone) if lead.phone else "",
                    lead.business_unit.code,
                )
                if x
            ),
            badge=f"#{lead.pk}",
        )
        for lead in search_leads(user=user, query=query, limit=limit)
    ]


def _register_screens() -> None:
    """The 360 view's "leads of this customer" panel and the global search's leads."""
    from crm.registry import CustomerPanel, SearchProvider, register_panel, register_search
    from leads.selectors import customer_leads_panel

    register_panel(
        CustomerPanel(
            "leads",
            _("Leads"),
            "leads/panel.html",
            customer_leads_panel,
            permission="leads.view_lead",
            order=60,
        )
    )
    register_search(
        SearchProvider("leads", _("Leads"), _search, permission="leads.view_lead", order=25)
    )


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Lead pools")
    # Reps claim and work leads; managers also assign, transfer and release their units'
    # leads and read the funnel and channel spend; marketing configures pools and records
    # channel spend (admins: crm's "*.*").
    role_permissions = {
        "sales_rep": _WORK,
        "sales_manager": _MANAGE,
        "marketing": _CONFIGURE,
        "data_steward": ["leads.view_lead", "leads.view_leadevent", "leads.view_followup"],
    }
    api_scopes = {
        "leads:write": _("Submit leads and see the status of the leads this unit submitted"),
    }

    def ready(self) -> None:
        from crm.registry import (
            EventType,
            MergeHandler,
            register_event_type,
            register_merge_handler,
        )
        from leads import services

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="leads.sync_roles")
        for event in (
            EventType("lead.created", _("New lead"), "user-plus", "blue"),
            EventType("lead.claimed", _("Lead claimed"), "hand-grab", "cyan"),
            EventType("lead.assigned", _("Lead assigned"), "user-share", "indigo"),
            EventType("lead.followed_up", _("Lead followed up"), "phone-call", "teal"),
            EventType("lead.recycled", _("Lead recycled"), "recycle", "orange"),
            EventType("lead.converted", _("Lead converted"), "circle-check", "green"),
            EventType("lead.lost", _("Lead lost"), "circle-x", "red"),
        ):
            register_event_type(event)
        register_merge_handler(MergeHandler("leads", _("Leads"), services.move_lead_data))
        from leads.imports import register_importers

        register_importers()
        _register_screens()
        from leads.web.registration import register_screens

        register_screens()
