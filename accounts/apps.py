from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

_READ = [
    "accounts.view_account",
    "accounts.view_accountrelation",
    "accounts.view_contact",
    "accounts.view_contactrole",
    "accounts.view_opportunity",
    "accounts.view_opportunitystage",
    "accounts.view_opportunitystagechange",
    "accounts.view_opportunitycontact",
    "accounts.view_creditprofile",
    "accounts.view_creditevidence",
    "accounts.view_creditscorechange",
]
_SELL = [
    *_READ,
    *[
        f"accounts.{verb}_{model}"
        for verb in ("add", "change")
        for model in ("account", "accountrelation", "contact", "opportunity", "opportunitycontact")
    ],
    "accounts.add_creditevidence",
    "accounts.review_creditprofile",
]


def _seed(sender: AppConfig, **kwargs: Any) -> None:
    from accounts.defaults import seed_defaults
    from accounts.models import ContactRole, OpportunityStage

    seed_defaults(ContactRole, OpportunityStage)
    from accounts.credit_defaults import seed_credit_rule
    from accounts.models import CreditBand, CreditScoringRule, CreditWeight

    seed_credit_rule(CreditScoringRule, CreditWeight, CreditBand)
    # The role groups get this app's permissions (created for it just before this runs).
    from crm.roles import sync_roles

    sync_roles()


def _register_credit() -> None:
    """Credit: its timeline event and the owners' "reviews due" home card."""
    from accounts.web.credit import credit_reviews_work
    from crm.registry import EventType, register_card, register_event_type, work_list_card
    from crm.roles import SALES_MANAGER, SALES_REP

    register_event_type(
        EventType("credit.rating_changed", _("Credit rating changed"), "chart-bar", "orange")
    )
    register_card(
        work_list_card(
            "credit-reviews-due",
            _("Credit reviews due"),
            credit_reviews_work,
            permission="accounts.view_creditprofile",
            roles=frozenset({SALES_REP, SALES_MANAGER}),
            order=35,
        )
    )


def _register_screens() -> None:
    """The account list (saved views, export), its navigation entry, the global search's
    accounts and the sales reps' "My accounts" home card."""
    from accounts.exports import ACCOUNT_EXPORT
    from accounts.selectors.lists import ACCOUNT_FILTER_PARAMS, ACCOUNT_LIST_KEY
    from accounts.web import home
    from crm.exports import register_export
    from crm.registry import (
        ListSpec,
        NavItem,
        SearchProvider,
        register_card,
        register_list,
        register_nav,
        register_search,
        work_list_card,
    )
    from crm.roles import SALES_MANAGER, SALES_REP

    register_list(
        ListSpec(
            ACCOUNT_LIST_KEY,
            _("Accounts"),
            "accounts:list",
            ACCOUNT_FILTER_PARAMS,
            permission="accounts.view_account",
            defaults=(("sort", "-id"),),
        )
    )
    register_export(ACCOUNT_EXPORT)
    register_nav(
        NavItem(
            "accounts",
            _("Accounts"),
            "accounts:list",
            icon="building",
            permission="accounts.view_account",
            order=12,
        )
    )
    register_search(
        SearchProvider(
            "accounts",
            _("Accounts"),
            home.search_provider,
            permission="accounts.view_account",
            order=15,
        )
    )
    register_card(
        work_list_card(
            "my-accounts",
            _("My accounts"),
            home.my_accounts_work,
            permission="accounts.view_account",
            roles=frozenset({SALES_REP, SALES_MANAGER}),
            order=3,
        )
    )


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("B2B accounts")
    # Reps work the accounts, contacts and opportunities of their units; managers also
    # assign owners and units; admins configure roles and stages (crm's "*.*").
    role_permissions = {
        "sales_rep": _SELL,
        "sales_manager": [*_SELL, "accounts.assign_account_owner"],
        "member_service": ["accounts.view_account", "accounts.view_contact"],
        "data_steward": _READ,
        "marketing": ["accounts.view_account", "accounts.view_contact"],
    }
    api_scopes = {
        "accounts:read": _(
            "Look up an account's credit rating, limit and blacklist status by USCC or id"
        )
    }

    def ready(self) -> None:
        from accounts import selectors, services
        from crm.registry import (
            CustomerPanel,
            EventType,
            MergeHandler,
            register_event_type,
            register_merge_handler,
            register_panel,
        )

        self._register_pipeline_screens()

        post_migrate.connect(_seed, sender=self, dispatch_uid="accounts.seed_defaults")
        from accounts.imports import register_importers

        register_importers()
        for event in (
            EventType("account.created", _("Account created"), "building", "indigo"),
            EventType("contact.added", _("Contact added"), "user-plus", "cyan"),
            EventType("contact.left", _("Contact left"), "user-minus", "secondary"),
            EventType(
                "opportunity.stage_changed", _("Opportunity stage changed"), "chart-funnel", "lime"
            ),
        ):
            register_event_type(event)
        _register_credit()
        register_merge_handler(
            MergeHandler("accounts", _("Account data"), services.move_account_data)
        )
        _register_screens()
        from accounts.rules import register_rule_fields

        register_rule_fields()  # industry, size, credit rating… for rule tags and segments
        register_panel(
            CustomerPanel(
                "accounts",
                _("B2B account"),
                "accounts/panel.html",
                selectors.account_panel_context,
                permission="accounts.view_account",
                order=50,
            )
        )

    def _register_pipeline_screens(self) -> None:
        """The pipeline board in the navigation; the reps' "closing soon" home card."""
        from accounts.web.opportunities import closing_soon_work
        from crm.registry import NavItem, register_card, register_nav, work_list_card
        from crm.roles import SALES_REP

        register_nav(
            NavItem(
                "pipeline",
                _("Pipeline"),
                "accounts:pipeline",
                icon="target",
                permission="accounts.view_opportunity",
                order=30,
            )
        )
        register_card(
            work_list_card(
                "opportunities-closing-soon",
                _("My open opportunities closing soon"),
                closing_soon_work,
                permission="accounts.view_opportunity",
                roles=frozenset({SALES_REP}),
                order=12,
            )
        )
