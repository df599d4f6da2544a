"""B2B fields for rule tags and segments (``crm.rules``), registered from
``AccountsConfig.ready()``: an organization's account (industry, size, credit rating,
whether a decision maker is on file) and a person's roles as a contact. Role codes in the
SQL are constants of the code; every value a user gives is a query parameter."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.rules import BOOL, CHOICE, SET, column_field, query_field, register_rule_field

ACCOUNTS = _("B2B account")

_CURRENT_ROLES = (
    "FROM accounts_contact k "
    "JOIN accounts_contact_roles kr ON kr.contact_id = k.id "
    "JOIN accounts_contactrole r ON r.id = kr.contactrole_id "
)
_DECISION_MAKERS = (
    "FROM accounts_account a "
    "JOIN accounts_contact k ON k.account_id = a.id AND k.left_on IS NULL "
    "JOIN accounts_contact_roles kr ON kr.contact_id = k.id "
    "JOIN accounts_contactrole r ON r.id = kr.contactrole_id AND r.code = 'decision_maker' "
)
_RATING = "FROM accounts_creditprofile p JOIN accounts_account a ON a.id = p.account_id "


def _industry_choices() -> list[tuple[Any, Any]]:
    from accounts.models import Industry

    return list(Industry.choices)


def _size_choices() -> list[tuple[Any, Any]]:
    from accounts.models import SizeBand

    return [(v, label) for v, label in SizeBand.choices if v]


def _rating_choices() -> list[tuple[Any, Any]]:
    from accounts.models import Rating

    return list(Rating.choices)


def _role_choices() -> list[tuple[Any, Any]]:
    from accounts.models import ContactRole

    return [(role.code, role.name) for role in ContactRole.objects.order_by("position", "id")]


def register_rule_fields() -> None:
    for spec in (
        column_field(
            "account.industry",
            _("Industry"),
            CHOICE,
            table="accounts_account",
            column="industry",
            choices=_industry_choices,
            group=ACCOUNTS,
            order=60,
        ),
        column_field(
            "account.size_band",
            _("Company size"),
            CHOICE,
            table="accounts_account",
            column="size_band",
            choices=_size_choices,
            group=ACCOUNTS,
            order=61,
        ),
        query_field(
            "account.credit_rating",
            _("Credit rating"),
            CHOICE,
            sql=f"(SELECT p.rating {_RATING}WHERE a.customer_id = c.id LIMIT 1)",
            load_sql=f"SELECT a.customer_id, p.rating {_RATING}WHERE a.customer_id = ANY(%s)",
            choices=_rating_choices,
            group=ACCOUNTS,
            order=62,
        ),
        query_field(
            "account.has_decision_maker",
            _("Decision maker on file"),
            BOOL,
            sql=f"EXISTS (SELECT 1 {_DECISION_MAKERS}WHERE a.customer_id = c.id)",
            load_sql=f"SELECT a.customer_id, true {_DECISION_MAKERS}WHERE a.customer_id = ANY(%s)",
            group=ACCOUNTS,
            help=_("The account has a current contact with the decision maker role."),
            order=63,
        ),
        query_field(
            "contact.roles",
            _("Contact roles"),
            SET,
            sql=f"SELECT r.code {_CURRENT_ROLES}WHERE k.person_id = c.id AND k.left_on IS NULL",
            load_sql=(
                f"SELECT k.person_id, r.code {_CURRENT_ROLES}"
                "WHERE k.left_on IS NULL AND k.person_id = ANY(%s)"
            ),
            choices=_role_choices,
            group=ACCOUNTS,
            help=_("The roles the person holds as a current contact of any account."),
            order=64,
        ),
    ):
        register_rule_field(spec)
