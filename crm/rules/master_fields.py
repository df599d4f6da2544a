"""The customer master's own rule fields: what a customer is, its tags, identities, consents
and blacklisting, and its purchases (the one definition of ``crm.models.COMPLETED_PURCHASE``:
a purchase with a positive amount not refunded as a whole), optionally in a window of days
and in one business unit.

Net spend counts every transaction in CNY (purchases and the negative cancellations), so
that it is what the customer really paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.rules.fields import (
    BOOL,
    CHOICE,
    DATETIME,
    MONEY,
    NUMBER,
    PARAM_DAYS,
    PARAM_UNIT,
    SET,
    TEXT,
    Facts,
    Params,
    RuleField,
    Sql,
    TxFact,
    register_rule_field,
)

PURCHASES = _("Purchases")
CUSTOMER = _("Customer")
# crm.models.COMPLETED_PURCHASE in SQL (constants of the code, no user value).
_PURCHASE_SQL = "t.kind = 'purchase' AND t.amount > 0 AND t.status <> 'refunded'"


def _is_purchase(tx: TxFact) -> bool:
    return tx.kind == "purchase" and tx.amount > 0 and tx.status != "refunded"


def _owner(params: Params) -> str:
    """Whose transactions: the customer's; as of a past month, a customer merged since (still
    a customer of that month's snapshot) reads its survivor's, to which the merge moved its
    transactions (they cannot be told apart from the survivor's own any more)."""
    return "COALESCE(c.merged_into_id, c.id)" if params.past else "c.id"


def _window_sql(params: Params, *, days: bool = True) -> Sql:
    sql, values = "", list[Any]()
    if params.past:  # as of a past month: nothing from its reference time on
        sql += " AND t.occurred_at < %s"
        values.append(params.now)
    if days and params.since is not None:
        sql += " AND t.occurred_at >= %s"
        values.append(params.since)
    if params.unit is not None:
        sql += " AND t.business_unit_id = %s"
        values.append(params.unit)
    return sql, values


def _in_window(tx: TxFact, params: Params, *, days: bool = True) -> bool:
    if params.past and tx.occurred_at >= params.now:
        return False
    since = params.since if days else None
    if since is not None and tx.occurred_at < since:
        return False
    return params.unit is None or tx.business_unit_id == params.unit


def _purchases(facts: Facts, params: Params, *, days: bool = True) -> list[TxFact]:
    return [t for t in facts.transactions if _is_purchase(t) and _in_window(t, params, days=days)]


def _aggregate(select: str, *, purchases: bool = True, days: bool = True) -> Any:
    def sql(params: Params) -> Sql:
        window, values = _window_sql(params, days=days)
        condition = f" AND {_PURCHASE_SQL}" if purchases else " AND t.currency = 'CNY'"
        return (
            f"(SELECT {select} FROM crm_transaction t "  # noqa: S608 (code, not input)
            f"WHERE t.customer_id = {_owner(params)}{condition}{window})",
            values,
        )

    return sql


def _units_sql(params: Params) -> Sql:
    window, values = _window_sql(params)
    return (
        "SELECT t.business_unit_id FROM crm_transaction t "  # noqa: S608 (code, not input)
        f"WHERE t.customer_id = {_owner(params)} AND {_PURCHASE_SQL}{window}",
        values,
    )


def _consents_sql(params: Params) -> Sql:
    return (
        "SELECT x.channel || ':' || x.purpose FROM ("
        "SELECT DISTINCT ON (k.channel, k.purpose) k.channel, k.purpose, k.granted "
        "FROM crm_consent k WHERE k.customer_id = c.id "
        "ORDER BY k.channel, k.purpose, k.occurred_at DESC, k.id DESC) x WHERE x.granted",
        [],
    )


def _consents(facts: Facts, params: Params) -> set[str]:
    state: dict[str, bool] = {}
    for channel, purpose, granted, _at, _id in sorted(facts.consents, key=lambda r: (r[3], r[4])):
        state[f"{channel}:{purpose}"] = granted
    return {key for key, granted in state.items() if granted}


def _tag_choices() -> list[tuple[Any, Any]]:
    from crm.models import Tag

    return [(t.pk, str(t)) for t in Tag.objects.select_related("category")]


def _unit_choices() -> list[tuple[Any, Any]]:
    from crm.models import BusinessUnit

    return [(u.pk, f"{u.code} {u.name}") for u in BusinessUnit.objects.order_by("code")]


def _consent_choices() -> list[tuple[Any, Any]]:
    from crm.models import ConsentChannel, ConsentPurpose

    return [
        (f"{channel}:{purpose}", f"{channel_label} · {purpose_label}")
        for channel, channel_label in ConsentChannel.choices
        for purpose, purpose_label in ConsentPurpose.choices
    ]


def _identity_choices() -> list[tuple[Any, Any]]:
    from crm.models import IdentityType

    return list(IdentityType.choices)


def _kind_choices() -> list[tuple[Any, Any]]:
    from crm.models import CustomerKind

    return list(CustomerKind.choices)


def _gender_choices() -> list[tuple[Any, Any]]:
    from crm.models import Gender

    return [(value, label) for value, label in Gender.choices]


def _column(name: str) -> Any:
    return lambda params: (f"c.{name}", [])


MASTER_FIELDS = [
    RuleField(
        "customer.kind",
        _("Customer kind"),
        CHOICE,
        sql=_column("kind"),
        value=lambda f, p: f.kind,
        choices=_kind_choices,
        order=10,
    ),
    RuleField(
        "customer.gender",
        _("Gender"),
        CHOICE,
        sql=_column("gender"),
        value=lambda f, p: f.gender,
        choices=_gender_choices,
        order=11,
    ),
    RuleField(
        "customer.region",
        _("Region"),
        TEXT,
        sql=_column("region"),
        value=lambda f, p: f.region,
        order=12,
    ),
    RuleField(
        "customer.source",
        _("First source"),
        TEXT,
        sql=_column("source"),
        value=lambda f, p: f.source,
        order=13,
    ),
    RuleField(
        "customer.created",
        _("Added to the master"),
        DATETIME,
        sql=_column("created_at"),
        value=lambda f, p: f.created_at,
        order=14,
        past=True,  # never changes
    ),
    RuleField(
        "customer.tags",
        _("Tags"),
        SET,
        sql=lambda p: ("SELECT ct.tag_id FROM crm_customertag ct WHERE ct.customer_id = c.id", []),
        value=lambda f, p: f.tag_ids,
        choices=_tag_choices,
        sql_type="bigint",
        order=15,
    ),
    RuleField(
        "customer.identities",
        _("Identities on record"),
        SET,
        sql=lambda p: ("SELECT i.type FROM crm_identity i WHERE i.customer_id = c.id", []),
        value=lambda f, p: f.identity_types,
        choices=_identity_choices,
        help=_("The kinds of identity the customer has: mobile, e-mail, WeChat…"),
        order=16,
    ),
    RuleField(
        "customer.consents",
        _("Consent granted"),
        SET,
        sql=_consents_sql,
        value=_consents,
        choices=_consent_choices,
        help=_("The latest decision per channel and purpose: granted and not withdrawn since."),
        order=17,
    ),
    RuleField(
        "customer.blacklisted",
        _("Blacklisted"),
        BOOL,
        sql=lambda p: (
            "EXISTS (SELECT 1 FROM crm_blacklistentry b WHERE b.customer_id = c.id "
            "AND b.status IN ('active', 'lifting'))",
            [],
        ),
        value=lambda f, p: f.blacklisted,
        order=18,
    ),
    RuleField(
        "purchases.units",
        _("Bought in business units"),
        SET,
        sql=_units_sql,
        value=lambda f, p: {t.business_unit_id for t in _purchases(f, p)},
        group=PURCHASES,
        past=True,
        past_params=(PARAM_DAYS,),
        choices=_unit_choices,
        params=(PARAM_DAYS,),
        help=_("The units where the customer made a completed purchase (in the window)."),
        sql_type="bigint",
        order=30,
    ),
    RuleField(
        "purchases.unit_count",
        _("Number of business units bought in"),
        NUMBER,
        sql=_aggregate("count(DISTINCT t.business_unit_id)"),
        value=lambda f, p: len({t.business_unit_id for t in _purchases(f, p)}),
        group=PURCHASES,
        past=True,
        past_params=(PARAM_DAYS,),
        params=(PARAM_DAYS,),
        order=31,
    ),
    RuleField(
        "purchases.count",
        _("Number of purchases"),
        NUMBER,
        sql=_aggregate("count(*)"),
        value=lambda f, p: len(_purchases(f, p)),
        group=PURCHASES,
        past=True,
        past_params=(PARAM_DAYS, PARAM_UNIT),
        params=(PARAM_DAYS, PARAM_UNIT),
        help=_("Completed purchases: cancellations, refunds and zero amounts do not count."),
        order=32,
    ),
    RuleField(
        "purchases.spend",
        _("Net spend (CNY)"),
        MONEY,
        sql=_aggregate("COALESCE(sum(t.amount), 0)", purchases=False),
        value=lambda f, p: sum(
            (t.amount for t in f.transactions if t.currency == "CNY" and _in_window(t, p)),
            Decimal(0),
        ),
        group=PURCHASES,
        past=True,
        past_params=(PARAM_DAYS, PARAM_UNIT),
        params=(PARAM_DAYS, PARAM_UNIT),
        help=_("Purchases minus cancellations and refunds, in CNY."),
        order=33,
    ),
    RuleField(
        "purchases.last",
        _("Last purchase"),
        DATETIME,
        sql=_aggregate("max(t.occurred_at)", days=False),
        value=lambda f, p: max((t.occurred_at for t in _purchases(f, p, days=False)), default=None),
        group=PURCHASES,
        past=True,
        past_params=(PARAM_UNIT,),
        params=(PARAM_UNIT,),
        order=34,
    ),
    RuleField(
        "purchases.first",
        _("First purchase"),
        DATETIME,
        sql=_aggregate("min(t.occurred_at)", days=False),
        value=lambda f, p: min((t.occurred_at for t in _purchases(f, p, days=False)), default=None),
        group=PURCHASES,
        past=True,
        past_params=(PARAM_UNIT,),
        params=(PARAM_UNIT,),
        order=35,
    ),
]


def register_master_fields() -> None:
    for spec in MASTER_FIELDS:
        register_rule_field(spec)
