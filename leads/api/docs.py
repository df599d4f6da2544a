"""What the leads API's schema says besides its serializers: the examples and where a
submitted lead goes (the intake endpoints' description, translated like every string)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample

LEAD_EXAMPLE = OpenApiExample(
    "Lead",
    value={
        "id": 1042,
        "status": "new",
        "kind": "person",
        "name": "韩梅梅",
        "company": "",
        "phone": "138****8000",
        "email": "",
        "source": "partner_api",
        "channel": "汽车之家",
        "campaign_code": "AUTO-2026-SPRING",
        "external_ref": "V-88123",
        "business_unit": "AUTO",
        "existing_customer": False,
        "quarantined": False,
        "lost_reason": "",
        "created_at": "2026-03-01T09:30:00+08:00",
        "updated_at": "2026-03-01T09:30:00+08:00",
        "converted_at": None,
    },
    response_only=True,
)
SUBMIT_EXAMPLE = OpenApiExample(
    "A lead from a car portal",
    value={
        "name": "韩梅梅",
        "phone": "138 0013 8000",
        "channel": "汽车之家",
        "campaign_code": "AUTO-2026-SPRING",
        "external_ref": "V-88123",
    },
    request_only=True,
)

# Where a submitted lead goes (``leads.services.routing``), in the intake endpoints' docs.
ROUTING_DOC = gettext_lazy(
    "Routing: a lead submitted without `pool` goes where your unit's routing rules send it. "
    "The active rules are tried by priority, lowest number first, and the first that matches "
    "decides: a rule matches when the lead's region, industry and source are among the "
    "rule's (a condition the rule leaves empty matches any). The lead goes to the rule's "
    "pool; when the rule names a rep, the rep gets it at once if they are still a rep of "
    "that pool and under their hold limit, otherwise it waits in the rule's pool, whose own "
    "assignment then applies. When no rule matches, the lead goes to the unit's public pool. "
    "A `pool` you name (an active pool of your unit, by name) overrides the rules. A "
    "duplicate is not routed (the existing lead stays where it is), and a quarantined lead "
    "is never given to a rep."
)
