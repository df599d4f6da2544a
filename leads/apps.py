from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

_WORK = [
    "leads.view_lead",
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
        from leads.web.registration import register_screens

        register_screens()
