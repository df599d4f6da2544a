from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

_VIEW = [
    "members.view_member",
    "members.view_membernumberalias",
    "members.view_level",
    "members.view_levelchange",
    "members.view_pointsentry",
    "members.view_pointslot",
    "members.view_lotconsumption",
    "members.view_earningrule",
    "members.view_pointvalue",
    "members.view_adjustmentproposal",
]
_DESK = [*_VIEW, "members.add_member", "members.adjust_points", "members.freeze_member"]
_CONFIGURE = [
    *_VIEW,
    *[
        f"members.{verb}_{model}"
        for verb in ("add", "change")
        for model in ("level", "earningrule", "pointvalue", "programsettings")
    ],
    "members.view_programsettings",
]


def _seed(sender: AppConfig, **kwargs: Any) -> None:
    from crm.roles import sync_roles
    from members.defaults import seed_defaults
    from members.models import Level, ProgramSettings

    seed_defaults(Level, ProgramSettings)
    sync_roles()


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("B2C members")
    # Member-service staff find, enrol, freeze members and adjust points (small adjustments
    # at once, large ones as a proposal); data stewards and admins approve large ones (never
    # their own: four eyes in the service); marketing configures levels, rules and the point
    # value; the settlement statements are approved by admins (crm's "*.*").
    role_permissions = {
        "member_service": _DESK,
        "data_steward": [*_VIEW, "members.approve_adjustment"],
        "marketing": _CONFIGURE,
        "sales_manager": ["members.view_member", "members.view_level"],
    }
    api_scopes = {
        "members:read": _("Look up members, their balance, level and points entries"),
        "members:write": _("Enrol members, earn, redeem and reverse points"),
    }

    def ready(self) -> None:
        from crm.registry import (
            EventType,
            MergeHandler,
            register_event_type,
            register_merge_handler,
            register_transactions_hook,
        )
        from members import services, tasks
        from members.imports import register_importers

        post_migrate.connect(_seed, sender=self, dispatch_uid="members.seed_defaults")
        for event in (
            EventType("member.enrolled", _("Enrolled as a member"), "id-badge", "pink"),
            EventType("member.level_changed", _("Member level changed"), "crown", "yellow"),
            EventType("member.frozen", _("Membership frozen"), "snowflake", "azure"),
            EventType("member.unfrozen", _("Membership unfrozen"), "sun", "green"),
            EventType("points.earned", _("Points earned"), "coins", "green"),
            EventType("points.redeemed", _("Points redeemed"), "gift", "orange"),
            EventType("points.reversed", _("Points reversed"), "arrow-back-up", "red"),
            EventType("points.adjusted", _("Points adjusted"), "adjustments", "purple"),
            EventType(
                "points.adjustment_proposed", _("Points adjustment proposed"), "clock", "secondary"
            ),
        ):
            register_event_type(event)
        register_merge_handler(
            MergeHandler("members", _("Membership and points"), services.move_member_data)
        )
        register_transactions_hook("members.earn", tasks.enqueue_earning)
        register_importers()
        _register_desk()
        from members.rules import register_rule_fields

        register_rule_fields()  # member level, points… for rule tags and segments


def _register_desk() -> None:
    """The desk's navigation, home cards, 360 panel and the statements' export."""
    from crm.exports import register_export
    from crm.registry import (
        CustomerPanel,
        ListSpec,
        NavItem,
        SearchProvider,
        register_card,
        register_list,
        register_nav,
        register_panel,
        register_search,
        work_list_card,
    )
    from crm.roles import DATA_STEWARD, MEMBER_SERVICE
    from members.web import adjustments, desk, statements

    register_nav(
        NavItem(
            "members",
            _("Members"),
            "members:desk",
            icon="id",
            permission="members.view_member",
            order=30,
        )
    )
    register_card(
        work_list_card(
            "members-adjustments-pending",
            _("Points adjustments waiting for approval"),
            adjustments.pending_work,
            permission="members.approve_adjustment",
            roles=frozenset({DATA_STEWARD}),
            order=6,
        )
    )
    register_card(
        work_list_card(
            "members-recent",
            _("Recently enrolled members"),
            adjustments.recent_work,
            permission="members.view_member",
            roles=frozenset({MEMBER_SERVICE}),
            order=7,
        )
    )
    register_panel(
        CustomerPanel(
            "members",
            _("Membership"),
            "members/panel.html",
            desk.panel_context,
            permission="members.view_member",
            order=40,
        )
    )
    register_list(
        ListSpec(
            statements.STATEMENT_LINES_KEY,
            _("Settlement statement lines"),
            "members:statements",
            ("statement",),
            permission=statements.VIEW_PERMISSION,
        )
    )
    register_export(statements.STATEMENT_EXPORT)
    register_search(
        SearchProvider(
            "members",
            _("Members"),
            desk.search_provider,
            permission="members.view_member",
            order=20,
        )
    )
