"""The loyalty programme's fields for rule tags and segments (``crm.rules``), registered from
``MembersConfig.ready()``: a customer who is not a member has none of them (``is empty``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.rules import CHOICE, DATETIME, NUMBER, column_field, register_rule_field

MEMBERS = _("Membership")
_LIVE = "x.merged_into_id IS NULL"


def _level_choices() -> list[tuple[Any, Any]]:
    from members.models import Level

    return [(level.pk, level.name) for level in Level.objects.order_by("rank")]


def _status_choices() -> list[tuple[Any, Any]]:
    from members.models import MemberStatus

    return list(MemberStatus.choices)


def register_rule_fields() -> None:
    for spec in (
        column_field(
            "member.status",
            _("Membership status"),
            CHOICE,
            table="members_member",
            column="status",
            where=_LIVE,
            choices=_status_choices,
            group=MEMBERS,
            help=_("Empty: not a member."),
            order=50,
        ),
        column_field(
            "member.level",
            _("Member level"),
            CHOICE,
            table="members_member",
            column="level_id",
            where=_LIVE,
            choices=_level_choices,
            group=MEMBERS,
            sql_type="bigint",
            order=51,
        ),
        column_field(
            "member.points",
            _("Points balance"),
            NUMBER,
            table="members_member",
            column="points_balance",
            where=_LIVE,
            group=MEMBERS,
            order=52,
        ),
        column_field(
            "member.enrolled",
            _("Enrolled"),
            DATETIME,
            table="members_member",
            column="enrolled_at",
            where=_LIVE,
            group=MEMBERS,
            order=53,
        ),
    ):
        register_rule_field(spec)
