from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

_VIEW = [
    f"campaigns.view_{model}"
    for model in (
        "campaign",
        "coupontemplate",
        "templatefunding",
        "coupon",
        "couponreversal",
        "triggerrule",
        "triggerfiring",
        "bulkissue",
    )
]
_DESK = [
    "campaigns.view_coupon",
    "campaigns.view_coupontemplate",
    "campaigns.redeem_coupon",
    "campaigns.issue_coupon",
]
_MARKETING = [
    *_VIEW,
    *[
        f"campaigns.{verb}_{model}"
        for verb in ("add", "change")
        for model in ("campaign", "coupontemplate", "templatefunding", "triggerrule")
    ],
    "campaigns.issue_coupon",
    "campaigns.void_coupon",
]


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from crm.roles import sync_roles

    sync_roles()


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns and coupons")
    # Desk staff validate, redeem and issue coupons; marketing builds campaigns, templates
    # and trigger rules and voids coupons; sales managers read.
    role_permissions = {
        "member_service": _DESK,
        "marketing": _MARKETING,
        "sales_manager": ["campaigns.view_campaign", "campaigns.view_coupontemplate"],
    }
    api_scopes = {
        "coupons:read": _("List a customer's coupons and validate coupon codes"),
        "coupons:write": _("Redeem coupons and reverse redemptions"),
    }

    def ready(self) -> None:
        from campaigns import tasks
        from campaigns.services import issuing as _issuing  # noqa: F401  (registers the job)
        from campaigns.services import move_coupon_data
        from crm.registry import (
            EventType,
            MergeHandler,
            register_event_hook,
            register_event_type,
            register_merge_handler,
            register_transactions_hook,
        )

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="campaigns.sync_roles")
        from campaigns.web import timeline

        for event in (
            EventType(
                "coupon.issued",
                _("Coupon issued"),
                "ticket",
                "teal",
                describe=timeline.describe_issued,
            ),
            EventType(
                "coupon.redeemed",
                _("Coupon redeemed"),
                "receipt",
                "green",
                describe=timeline.describe_redeemed,
            ),
            EventType(
                "coupon.reversed",
                _("Coupon redemption reversed"),
                "arrow-back-up",
                "red",
                describe=timeline.describe_reversed,
            ),
            EventType(
                "coupon.voided",
                _("Coupon voided"),
                "ban",
                "secondary",
                describe=timeline.describe_voided,
            ),
        ):
            register_event_type(event)
        register_merge_handler(MergeHandler("campaigns", _("Coupons"), move_coupon_data))
        register_transactions_hook("campaigns.triggers", tasks.enqueue_transaction_triggers)
        register_event_hook("campaigns.triggers", tasks.on_event_recorded)
        _register_screens()


def _register_screens() -> None:
    """The navigation entries of marketing's campaigns and of the coupon desk, and the
    customer's coupons on the 360 view."""
    from campaigns.web import desk
    from crm.registry import CustomerPanel, NavItem, register_nav, register_panel

    register_nav(
        NavItem(
            "coupons",
            _("Coupon desk"),
            "campaigns:desk",
            icon="gift",
            permission="campaigns.redeem_coupon",
            order=35,
        )
    )
    register_nav(
        NavItem(
            "campaigns",
            _("Campaigns"),
            "campaigns:campaign-list",
            icon="speakerphone",
            permission="campaigns.view_campaign",
            order=34,
        )
    )
    register_panel(
        CustomerPanel(
            "coupons",
            _("Coupons"),
            "campaigns/panel.html",
            desk.panel_context,
            permission="campaigns.view_coupon",
            order=45,
        )
    )
