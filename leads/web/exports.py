"""The pool list's export (``crm.exports``): the list's filters, one row per lead. Phones
are masked unless the user may reveal them and asked to (then audited, one ``PiiAccess``
row per lead exported)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import selectors
from crm.exports import Column, ExportSpec
from crm.models import PiiAccess
from leads.models import Lead
from leads.web.common import masked, person
from leads.web.queries import POOL_LIST_KEY, LeadFilters, pool_leads, pools_for

EXPORT_BATCH = 1000


def lead_columns(reveal: bool) -> list[Column]:
    return [
        Column("id", gettext_lazy("Lead number"), "int"),
        Column("name", gettext_lazy("Name")),
        Column("company", gettext_lazy("Company")),
        Column("phone", gettext_lazy("Phone")),
        Column("source", gettext_lazy("Source")),
        Column("channel", gettext_lazy("Channel")),
        Column("region", gettext_lazy("Region")),
        Column("industry", gettext_lazy("Industry")),
        Column("status", gettext_lazy("Status")),
        Column("owner", gettext_lazy("Owner")),
        Column("score", gettext_lazy("Score"), "int"),
        Column("existing", gettext_lazy("Existing customer")),
        Column("quarantined", gettext_lazy("Quarantined")),
        Column("created", gettext_lazy("Arrived"), "datetime"),
    ]


def _matching(user: Any, params: dict[str, str]) -> Any:
    pools = pools_for(user)
    raw = params.get("pool", "")
    pool = next((p for p in pools if str(p.pk) == raw), pools[0] if pools else None)
    if pool is None:
        return Lead.objects.none()
    return pool_leads(user=user, pool=pool, filters=LeadFilters.from_params(params))


def count_leads(user: Any, params: dict[str, str]) -> int:
    return int(_matching(user, params).count())


def lead_rows(user: Any, params: dict[str, str], reveal: bool) -> Iterator[list[dict[str, Any]]]:
    """Batches of leads by number: one query per batch (and the audit rows of a reveal)."""
    leads = _matching(user, params)
    yes, no = _("Yes"), _("No")
    for ids in selectors.id_batches(leads, EXPORT_BATCH):
        batch = list(Lead.objects.filter(pk__in=ids).select_related("owner").order_by("id"))
        if reveal:
            PiiAccess.objects.bulk_create(
                PiiAccess(user=user, customer_id=lead.customer_id, identity_type=f"lead:{lead.pk}")
                for lead in batch
            )
        yield [
            {
                "id": lead.pk,
                "name": lead.name,
                "company": lead.company,
                "phone": lead.phone if reveal else masked(lead.phone),
                "source": lead.get_source_display(),
                "channel": lead.channel,
                "region": lead.region,
                "industry": lead.industry,
                "status": lead.get_status_display(),
                "owner": person(lead.owner),
                "score": lead.score,
                "existing": yes if lead.existing_customer else no,
                "quarantined": yes if lead.quarantined else no,
                "created": lead.created_at,
            }
            for lead in batch
        ]


POOL_EXPORT = ExportSpec(
    list_key=POOL_LIST_KEY,
    label=gettext_lazy("Lead pool"),
    filename="leads",
    permission="leads.view_lead",
    columns=lead_columns,
    count=count_leads,
    rows=lead_rows,
)
