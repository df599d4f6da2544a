"""The 360 view's small lists (identities, consents, tags, merges, open duplicates) in ONE
statement: each list a JSON array from its own subquery, the rows turned back into model
instances here (with their related user, tag, category and customers attached).

Five ORM queries cost more in Python (compiling each, ``select_related`` of whole users and
customers) and in round trips than reading the rows: most customers have none of them, and
the view is the desk's most frequent page. Each subquery reads its own index, in the order
the ORM read it; a field not read here (a user's password, a customer's ``name_grams``) is
deferred on the instance, loaded if ever asked for.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models

from crm.models import (
    Consent,
    Customer,
    CustomerTag,
    DuplicateCandidate,
    DuplicateStatus,
    Identity,
    Merge,
    Tag,
    TagCategory,
)

CONSENT_HISTORY = 20  # the latest grants and withdrawals (``customer_360.CONSENT_HISTORY``)
OPEN_DUPLICATES = 5

_USER = "json_build_object('id', {u}.id, 'username', {u}.username, 'first_name', {u}.first_name, 'last_name', {u}.last_name)"  # noqa: E501
_CUSTOMER = "json_build_object('id', {c}.id, 'kind', {c}.kind, 'display_name', {c}.display_name, 'name_is_generated', {c}.name_is_generated, 'merged_into_id', {c}.merged_into_id)"  # noqa: E501

_SQL = f"""
SELECT
 (SELECT json_agg(row_to_json(i) ORDER BY i.type, i.id)
    FROM crm_identity i WHERE i.customer_id = %(c)s)::text,
 (SELECT json_agg(json_build_object('row', row_to_json(x), 'actor', {_USER.format(u="u")})
                  ORDER BY x.occurred_at DESC, x.id DESC)
    FROM (SELECT k.*,
                 row_number() OVER (PARTITION BY k.channel, k.purpose
                                    ORDER BY k.occurred_at DESC, k.id DESC) AS pair_rank,
                 row_number() OVER (ORDER BY k.occurred_at DESC, k.id DESC) AS rank
            FROM crm_consent k WHERE k.customer_id = %(c)s) x
    LEFT JOIN crm_user u ON u.id = x.actor_id
   WHERE x.pair_rank = 1 OR x.rank <= %(history)s)::text,
 (SELECT json_agg(json_build_object('row', row_to_json(ct), 'tag', row_to_json(t),
                                    'category', row_to_json(g),
                                    'set_by', {_USER.format(u="u")})
                  ORDER BY g.name, t.name)
    FROM crm_customertag ct JOIN crm_tag t ON t.id = ct.tag_id
    JOIN crm_tagcategory g ON g.id = t.category_id
    LEFT JOIN crm_user u ON u.id = ct.set_by_id
   WHERE ct.customer_id = %(c)s)::text,
 (SELECT json_agg(json_build_object('row', row_to_json(m), 'actor', {_USER.format(u="u")},
                                    'loser', {_CUSTOMER.format(c="l")})
                  ORDER BY m.created_at DESC)
    FROM crm_merge m JOIN crm_customer l ON l.id = m.loser_id
    LEFT JOIN crm_user u ON u.id = m.actor_id
   WHERE m.survivor_id = %(c)s)::text,
 (SELECT json_agg(json_build_object('row', row_to_json(d), 'customer_a', {_CUSTOMER.format(c="a")},
                                    'customer_b', {_CUSTOMER.format(c="b")})
                  ORDER BY d.score DESC, d.id DESC)
    FROM (SELECT * FROM crm_duplicatecandidate
           WHERE status = %(open)s AND (customer_a_id = %(c)s OR customer_b_id = %(c)s)
           ORDER BY score DESC, id DESC LIMIT %(duplicates)s) d
    JOIN crm_customer a ON a.id = d.customer_a_id
    JOIN crm_customer b ON b.id = d.customer_b_id)::text,
 (SELECT json_agg(json_build_object('id', u.id, 'code', u.code, 'name', u.name))
    FROM crm_businessunit u)::text
"""  # noqa: S608 (a constant)


def _instance(model: type[models.Model], row: dict[str, Any] | None) -> Any:
    """A model instance from a row read as JSON (column names as keys), the way the ORM
    makes one (``from_db``): dates and times parsed, the columns not read deferred."""
    if row is None or row.get("id") is None:
        return None
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.column not in row:
            continue
        value = row[field.column]
        if value is not None and isinstance(field, models.DateField | models.DecimalField):
            value = field.to_python(value)  # DateTimeField is a DateField
        names.append(field.attname)
        values.append(value)
    return model.from_db(connection.alias, names, values)


def _load(text: str | None) -> list[dict[str, Any]]:
    return json.loads(text, parse_float=Decimal) if text else []


def overview_rows(customer_id: int) -> dict[str, Any]:
    """``identities``, ``consents`` (the latest per channel and purpose, with ``pair_rank``
    and ``rank``, newest first), ``tags``, ``merged_from`` and ``open_duplicates``: the
    lists ``customer_overview`` returned from five queries, in one; and ``unit_names``
    (code, name) by id for the per-unit figures (a handful of rows)."""
    user_model = get_user_model()
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL,
            {
                "c": customer_id,
                "history": CONSENT_HISTORY,
                "open": DuplicateStatus.OPEN.value,
                "duplicates": OPEN_DUPLICATES,
            },
        )
        identities, consents, tags, merges, duplicates, units = cursor.fetchone()
    consent_rows = []
    for item in _load(consents):
        consent = _instance(Consent, item["row"])
        consent.actor = _instance(user_model, item["actor"])
        consent.pair_rank = item["row"]["pair_rank"]
        consent.rank = item["row"]["rank"]
        consent_rows.append(consent)
    tag_rows = []
    for item in _load(tags):
        link = _instance(CustomerTag, item["row"])
        tag = _instance(Tag, item["tag"])
        tag.category = _instance(TagCategory, item["category"])
        link.tag = tag
        link.set_by = _instance(user_model, item["set_by"])
        tag_rows.append(link)
    merge_rows = []
    for item in _load(merges):
        merge = _instance(Merge, item["row"])
        merge.actor = _instance(user_model, item["actor"])
        merge.loser = _instance(Customer, item["loser"])
        merge_rows.append(merge)
    duplicate_rows = []
    for item in _load(duplicates):
        pair = _instance(DuplicateCandidate, item["row"])
        pair.customer_a = _instance(Customer, item["customer_a"])
        pair.customer_b = _instance(Customer, item["customer_b"])
        duplicate_rows.append(pair)
    return {
        "identities": [_instance(Identity, row) for row in _load(identities)],
        "consents": consent_rows,
        "tags": tag_rows,
        "merged_from": merge_rows,
        "open_duplicates": duplicate_rows,
        "unit_names": {u["id"]: (u["code"], u["name"]) for u in _load(units)},
    }
