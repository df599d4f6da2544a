from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    """After every migrate: role groups get the permissions their patterns name."""
    from crm.roles import sync_roles

    sync_roles()


def _register_event_types() -> None:
    from crm.registry import EventType, register_event_type
    from crm.web import timeline

    for event in (
        EventType(
            "customer.created",
            _("Customer created"),
            "user-plus",
            "green",
            describe=timeline.describe_created,
        ),
        EventType(
            "customer.merged",
            _("Customers merged"),
            "git-merge",
            "purple",
            describe=timeline.describe_merged,
        ),
        EventType(
            "identity.added",
            _("Identity added"),
            "id",
            "blue",
            describe=timeline.describe_identities_added,
        ),
        # Timeline entries that are not events: purchases, cancellations and notes.
        EventType("transaction.purchase", _("Purchase"), "shopping-cart", "teal"),
        EventType(
            "transaction.cancellation", _("Cancellation / refund"), "receipt-refund", "orange"
        ),
        EventType("note", _("Note"), "note", "yellow"),
        EventType("consent.granted", _("Consent granted"), "circle-check", "green"),
        EventType("consent.withdrawn", _("Consent withdrawn"), "circle-x", "red"),
        EventType("tag.added", _("Tag added"), "tag", "azure"),
        EventType("tag.removed", _("Tag removed"), "tag-off", "secondary"),
    ):
        register_event_type(event)


def _register_blacklist() -> None:
    """The blacklist's timeline events, merge handler, queue (nav + home card)."""
    from crm import services
    from crm.registry import (
        EventType,
        MergeHandler,
        NavItem,
        register_card,
        register_event_type,
        register_merge_handler,
        register_nav,
        work_list_card,
    )
    from crm.web import blacklist, blacklist_timeline

    for code, label, icon, color in (
        ("blacklist.proposed", _("Blacklisting proposed"), "alert-triangle", "orange"),
        ("blacklist.activated", _("Customer blacklisted"), "ban", "red"),
        ("blacklist.rejected", _("Blacklisting rejected"), "circle-x", "secondary"),
        ("blacklist.lifting_proposed", _("Lifting proposed"), "alert-triangle", "orange"),
        ("blacklist.lifted", _("Blacklisting lifted"), "circle-check", "green"),
        ("blacklist.lifting_rejected", _("Lifting rejected"), "ban", "red"),
    ):
        register_event_type(
            EventType(code, label, icon, color, describe=blacklist_timeline.describe)
        )
    register_merge_handler(
        MergeHandler("blacklist_entries", _("Blacklist entries"), services.move_blacklist_entries)
    )
    register_nav(
        NavItem(
            "blacklist",
            _("Blacklist"),
            "blacklist-queue",
            icon="ban",
            permission="crm.view_blacklistentry",
            order=20,
        )
    )
    register_card(
        work_list_card(
            "blacklist-pending",
            _("Blacklist proposals waiting for approval"),
            blacklist.pending_work,
            permission="crm.approve_blacklistentry",
            order=4,
        )
    )


def _register_housekeeping() -> None:
    """Clean-ups of the parts above the services (which never import them) for the nightly
    housekeeping job; the job's own steps are in ``crm.services.platform.housekeeping``."""
    from crm.exports import purge_old_exports
    from crm.imports import purge_stale_uploads
    from crm.imports.reports import purge_error_reports
    from crm.registry import HousekeepingStep, register_housekeeping

    for step in (
        HousekeepingStep(
            "uploads_deleted",
            _("Stale import uploads deleted"),
            _("Deleting uploads whose import never ran"),
            purge_stale_uploads,
            order=10,
        ),
        HousekeepingStep(
            "exports_deleted",
            _("Old export files deleted"),
            _("Deleting old export files"),
            purge_old_exports,
            order=20,
        ),
        HousekeepingStep(
            "error_reports_deleted",
            _("Old import error files deleted"),
            _("Deleting old import error files"),
            purge_error_reports,
            order=30,
        ),
    ):
        register_housekeeping(step)


def _register_workspace() -> None:
    """The customer list's saved views and export; the home page's work lists."""
    from crm import exports, selectors
    from crm.exports_customers import CUSTOMER_EXPORT
    from crm.registry import ListSpec, register_card, register_list, work_list_card
    from crm.web import home_cards

    register_list(
        ListSpec(
            selectors.CUSTOMER_LIST_KEY,
            _("Customers"),
            "customer-list",
            selectors.CUSTOMER_FILTER_PARAMS,
            permission="crm.view_customer",
            defaults=(("sort", "-id"),),
        )
    )
    exports.register_export(CUSTOMER_EXPORT)
    for card in (
        work_list_card(
            "duplicates-waiting",
            _("Duplicates waiting for review"),
            home_cards.duplicates_work,
            permission="crm.view_duplicatecandidate",
            order=5,
        ),
        work_list_card(
            "import-errors",
            _("Imports with errors"),
            home_cards.import_errors_work,
            permission="crm.view_job",
            roles=home_cards.DATA_STEWARD_ROLES,
            order=6,
        ),
        work_list_card(
            "recent-customers",
            _("Recently viewed customers"),
            home_cards.recent_customers_work,
            permission="crm.view_customer",
            order=7,
        ),
        work_list_card(
            "saved-views",
            _("Your saved views"),
            home_cards.saved_views_work,
            permission="crm.view_customer",  # the lists that can be saved need it
            order=8,
        ),
    ):
        register_card(card)


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customer master and platform")
    # Notes on customers (added to crm.roles' patterns by role_permission_patterns): those
    # who serve customers write and pin them; every role that reads customers reads them.
    role_permissions = {
        role: ["crm.view_customernote", "crm.add_customernote", "crm.change_customernote"]
        for role in ("sales_manager", "sales_rep", "member_service", "data_steward")
    } | {"marketing": ["crm.view_customernote"]}

    def ready(self) -> None:
        import psycopg

        from crm.prepared import warm_dumpers

        # Before any connection copies psycopg's adapters, while one thread runs: see
        # warm_dumpers (the by-name dumpers are swapped for their types on first use).
        warm_dumpers(psycopg.adapters)

        from crm import (
            selectors,
            services,  # registers the crm job handlers; the customer search
        )
        from crm.registry import (
            DashboardCard,
            NavItem,
            SearchProvider,
            register_card,
            register_nav,
            register_search,
        )
        from crm.roles import ADMIN
        from crm.web import views

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="crm.sync_roles")
        from crm import imports  # noqa: F401  (registers the transaction import job)

        _register_housekeeping()

        _register_event_types()
        _register_blacklist()

        register_nav(NavItem("home", _("Dashboard"), "home", icon="home", order=0))
        register_nav(
            NavItem(
                "customers",
                _("Customers"),
                "customer-list",
                icon="users",
                permission="crm.view_customer",
                order=10,
            )
        )
        register_nav(
            NavItem(
                "duplicates",
                _("Duplicate review"),
                "duplicate-list",
                icon="copy",
                permission="crm.view_duplicatecandidate",
                order=15,
            )
        )
        register_nav(
            NavItem(
                "transaction-import",
                _("Import transactions"),
                "transaction-import",
                icon="upload",
                permission="crm.add_transaction",
                order=70,
            )
        )
        register_nav(
            NavItem(
                "business-units",
                _("Business units"),
                "business-unit-list",
                icon="building",
                permission="crm.view_businessunit",
                order=80,
            )
        )
        register_nav(
            NavItem(
                "jobs",
                _("Background jobs"),
                "job-list",
                icon="clock",
                permission="crm.view_job",
                order=90,
            )
        )
        register_nav(
            NavItem(
                "api-docs",
                _("API documentation"),
                "api-docs",
                icon="book",
                permission="crm.add_apikey",  # the roles that issue keys to partners
                order=95,
            )
        )
        register_search(
            SearchProvider(
                "customers",
                _("Customers"),
                services.search_customers,
                permission="crm.view_customer",
                order=10,
            )
        )
        register_search(
            SearchProvider(
                "business-units",
                _("Business units"),
                selectors.search_business_units,
                permission="crm.view_businessunit",
                order=80,
            )
        )
        register_search(
            SearchProvider(
                "users", _("Users"), selectors.search_users, permission="crm.view_user", order=90
            )
        )
        register_card(
            DashboardCard(
                "my-units",
                _("Your business units"),
                "crm/cards/units.html",
                views.context_for_units_card,
                permission="crm.view_businessunit",
                order=10,
            )
        )
        register_card(
            DashboardCard(
                "team",
                _("Active users per role"),
                "crm/cards/team.html",
                views.context_for_team_card,
                roles=frozenset({ADMIN}),
                order=20,
            )
        )
        _register_workspace()
        from crm import registrations

        registrations.register_metrics()
        registrations.register_segments()
        register_card(
            DashboardCard(
                "jobs",
                _("Recent background jobs"),
                "crm/cards/jobs.html",
                views.context_for_jobs_card,
                permission="crm.view_job",
                order=90,
                width=12,
            )
        )
