"""Roles are Django groups with permissions.

The groups are created by a migration; their permissions are declared here for ``crm`` and by
each app in its ``AppConfig.role_permissions`` (so that ``crm`` never names the apps built on
it), and synchronised after every ``migrate``. A pattern is ``app_label.codename`` where
either part may be ``*`` or end in ``*`` (``crm.view_*``, ``*.view_*``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.utils.translation import gettext_lazy as _

ADMIN = "admin"
SALES_MANAGER = "sales_manager"
SALES_REP = "sales_rep"
MEMBER_SERVICE = "member_service"
MARKETING = "marketing"
AUDITOR = "auditor"
DATA_STEWARD = "data_steward"

ROLE_LABELS = {
    ADMIN: _("Administrator"),
    SALES_MANAGER: _("Sales manager"),
    SALES_REP: _("Sales rep"),
    MEMBER_SERVICE: _("Member service"),
    MARKETING: _("Marketing"),
    AUDITOR: _("Auditor (read-only)"),
    DATA_STEWARD: _("Data steward"),
}
ROLES = tuple(ROLE_LABELS)


def role_label(name: str) -> str:
    """A role's name in the current language (its group's name is a stable code)."""
    return str(ROLE_LABELS.get(name, name))


# Roles that work in the Django admin (the configuration UI); the others use the web UI only.
# The data steward names the source systems and keeps the saved column mappings there.
STAFF_ROLES = frozenset({ADMIN, MARKETING, AUDITOR, DATA_STEWARD})

# Reading the customer master: customers, identities (masked), transactions, timeline, tags.
CUSTOMER_READ = [
    "crm.view_customer",
    "crm.view_identity",
    "crm.view_transaction",
    "crm.view_timelineevent",
    "crm.view_consent",
    "crm.view_customertag",
    "crm.view_tag",
    "crm.view_merge",
    "crm.view_customermetrics",
]

# Staff who serve customers at a desk or in sales create the customers they meet.
CUSTOMER_CREATE = ["crm.add_customer"]

# Putting a tag on a customer and taking it off (the tags themselves are marketing's: their
# definitions and categories are managed in the admin). Everyone who serves customers does it
# from the 360 view, on the customers they see.
CUSTOMER_TAGGING = ["crm.add_customertag", "crm.delete_customertag"]

# The group-wide blacklist (crm.services.blacklist): sales managers and data stewards propose
# a blacklisting or its lifting; data stewards (group-wide, no sales targets of their own) and
# administrators approve or reject, never their own proposal (four eyes, in the service).
# Whoever sees a customer sees its blacklist banner; the evidence and the queue need
# view_blacklistentry (proposers, approvers, auditors).
BLACKLIST_PROPOSE = ["crm.view_blacklistentry", "crm.add_blacklistentry"]
BLACKLIST_APPROVE = ["crm.view_blacklistentry", "crm.approve_blacklistentry"]

CRM_ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMIN: ["*.*"],
    SALES_MANAGER: [
        "crm.view_businessunit",
        "crm.view_user",
        "crm.view_job",
        "crm.add_job",
        *CUSTOMER_READ,
        *CUSTOMER_CREATE,
        "crm.reveal_customer_pii",
        "crm.view_duplicatecandidate",
        "crm.merge_customer",
        *CUSTOMER_TAGGING,
        *BLACKLIST_PROPOSE,
    ],
    SALES_REP: [
        "crm.view_businessunit",
        "crm.view_job",
        *CUSTOMER_READ,
        *CUSTOMER_CREATE,
        *CUSTOMER_TAGGING,
    ],
    MEMBER_SERVICE: [
        "crm.view_businessunit",
        "crm.view_job",
        "crm.add_job",
        *CUSTOMER_READ,
        *CUSTOMER_CREATE,
        "crm.reveal_customer_pii",
        "crm.add_consent",
        *CUSTOMER_TAGGING,
        "crm.view_duplicatecandidate",
        "crm.merge_customer",
    ],
    MARKETING: [
        "crm.view_businessunit",
        "crm.view_job",
        "crm.add_job",
        *CUSTOMER_READ,
        *[
            f"crm.{verb}_{model}"
            for verb in ("add", "change", "delete")
            for model in ("tag", "tagcategory")
        ],
        *CUSTOMER_TAGGING,
        "crm.add_transaction",
        # The customer metrics (crm/METRICS.md): their dashboards, settings and recompute.
        "crm.view_metricssnapshot",
        "crm.view_metricssettings",
        "crm.change_metricssettings",
        "crm.recompute_customermetrics",
    ],
    AUDITOR: ["*.view_*"],
    # Keeps the master clean across the group: reviews and merges duplicates (oldest first on
    # the home page), imports transactions and follows the imports that rejected rows, names
    # the source systems; reveals identities (audited) to tell two customers apart.
    DATA_STEWARD: [
        "crm.view_businessunit",
        "crm.view_user",
        "crm.view_job",
        "crm.add_job",
        *CUSTOMER_READ,
        *CUSTOMER_CREATE,
        "crm.change_customer",
        "crm.reveal_customer_pii",
        "crm.view_duplicatecandidate",
        "crm.merge_customer",
        "crm.add_transaction",
        "crm.view_importmapping",
        "crm.add_importmapping",
        "crm.change_importmapping",
        "crm.delete_importmapping",
        "crm.view_sourcesystem",
        "crm.add_sourcesystem",
        "crm.change_sourcesystem",
        *CUSTOMER_TAGGING,
        *BLACKLIST_PROPOSE,
        *BLACKLIST_APPROVE,
    ],
}


def role_permission_patterns() -> dict[str, list[str]]:
    """Patterns per role: crm's own plus what every installed app declares."""
    merged: dict[str, list[str]] = {role: list(p) for role, p in CRM_ROLE_PERMISSIONS.items()}
    for config in apps.get_app_configs():
        for role, patterns in getattr(config, "role_permissions", {}).items():
            merged.setdefault(role, []).extend(patterns)
    return merged


def _matches(pattern: str, value: str) -> bool:
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def expand(patterns: Iterable[str], permissions: Iterable[tuple[int, str, str]]) -> set[int]:
    """Permission ids of ``(id, app_label, codename)`` rows that match any pattern."""
    wanted = [p.split(".", 1) for p in patterns]
    return {
        pk
        for pk, app_label, codename in permissions
        if any(_matches(a, app_label) and _matches(c, codename) for a, c in wanted)
    }


def sync_roles(group_model=None, permission_model=None) -> None:  # type: ignore[no-untyped-def]
    """Create the role groups and give each exactly the permissions its patterns name."""
    if group_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    rows = list(permission_model.objects.values_list("id", "content_type__app_label", "codename"))
    for role, patterns in role_permission_patterns().items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.set(expand(patterns, rows))
