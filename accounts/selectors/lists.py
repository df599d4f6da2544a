"""The account list: its filters as one value (read from a query string, so that saved views,
bulk actions and exports read the same filter), the accounts they match, and keyset pages.

Adding a filter (the credit rating, say) is three lines here: a field on ``AccountFilters``,
its parsing in ``from_params`` and its condition in ``matching_accounts``; then its name in
``ACCOUNT_FILTER_PARAMS`` and a field on the web form (``accounts.web.forms``), which the
template renders in a loop.

Search (``q``) is the customer master's (``crm.selectors.parse_search``): one or two
characters of a name through the name's character/pair index, longer names by trigram, a
full USCC or a fragment of it, and phones: the account's own identities or a contact's
(a full number or its last four digits for everybody; fragments for those who may reveal,
audited by the caller like the customer list's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, JSONObject

from accounts.models import Account, AccountStatus, Contact, Industry, Opportunity, Rating
from accounts.regions import PROVINCES
from crm.models import BlacklistEntry, Customer, Identity, IdentityType
from crm.models.blacklist import BINDING_STATUSES
from crm.selectors import may_reveal, parse_search
from crm.selectors.customers import _after, _decode, _encode

ACCOUNT_LIST_KEY = "accounts.accounts"
ACCOUNT_FILTER_PARAMS = (
    "q",
    "industry",
    "province",
    "city",
    "owner",
    "status",
    "blacklisted",
    "rating",
    "unit",
    "sort",
)
PAGE_SIZE = 25
SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "id": ("id",),
    "name": ("customer__display_name", "id"),
    "-name": ("-customer__display_name", "-id"),
}
_CURSOR_TYPES = {"customer__display_name": str}
YES_NO = ("yes", "no")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _text(params: Mapping[str, Any], key: str, limit: int = 40) -> str:
    return " ".join(str(params.get(key) or "").split())[:limit]


@dataclass(frozen=True)
class AccountFilters:
    query: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    owner: str = ""  # a user's id, "me" or "none" (no owner)
    status: str = ""
    blacklisted: str = ""  # "yes", "no" or "" (either)
    rating: str = ""  # a credit rating, "none" (no credit profile) or "" (any)
    unit: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AccountFilters:
        """The filters of a query string; anything invalid is dropped."""
        industry = _text(params, "industry", 1)
        status = _text(params, "status", 10)
        owner = _text(params, "owner", 12)
        blacklisted = _text(params, "blacklisted", 3)
        rating = _text(params, "rating", 4)
        return cls(
            query=str(params.get("q") or "").strip()[:100],
            industry=industry if industry in Industry.values else "",
            province=_text(params, "province"),
            city=_text(params, "city"),
            owner=owner if owner in ("me", "none") or owner.isdigit() else "",
            status=status if status in AccountStatus.values else "",
            blacklisted=blacklisted if blacklisted in YES_NO else "",
            rating=rating if rating in Rating.values or rating == "none" else "",
            unit=_int_or_none(params.get("unit")),
        )

    @property
    def active(self) -> bool:
        return bool(self.as_params())

    def as_params(self) -> dict[str, str]:
        values = {
            "q": self.query,
            "industry": self.industry,
            "province": self.province,
            "city": self.city,
            "owner": self.owner,
            "status": self.status,
            "blacklisted": self.blacklisted,
            "rating": self.rating,
            "unit": self.unit,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


# The matching identities' owners read once (a MATERIALIZED CTE), then the accounts they are
# and the accounts they are contacts at, each by ``= ANY(ARRAY(...))``: probes of the unique
# index on accounts.customer_id and of the contacts' person index, one per owner. With
# ``IN (SELECT ... FROM owners)`` PostgreSQL took the ~2,200 owners it expects of a 4-digit
# fragment for enough to hash-join them against a sequential scan of the 200,000 accounts
# (35-130 ms; the probes: ~3 ms).
_IDENTITY_ACCOUNTS_SQL = (
    "WITH owners (customer_id) AS MATERIALIZED ({owners})"
    " SELECT a.id FROM accounts_account a"
    " WHERE a.customer_id = ANY(ARRAY(SELECT customer_id FROM owners))"
    " UNION SELECT c.account_id FROM accounts_contact c"
    " WHERE c.person_id = ANY(ARRAY(SELECT customer_id FROM owners))"
)


class _IdAmong(Expression):
    """``<column> = ANY(ARRAY(<raw subquery>))``: the subquery runs once, first (an InitPlan),
    and its ids are probed in the column's index, whatever the planner guesses of their
    number (an ``IN (subquery)`` of ~1,000-2,000 accounts was at times hash-joined against a
    sequential scan of all 200,000 accounts, or answered by walking the accounts newest
    first and probing the subquery for each)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, sql: str, params: tuple[Any, ...] | list[Any]) -> None:
        super().__init__()
        self.column: Any = F(column)
        self.sql, self.params = sql, tuple(params)

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.column)
        return f"{column} = ANY(ARRAY({self.sql}))", (*params, *self.params)


def _search(query: str, user: Any) -> tuple[Q | None, str]:
    """The condition of ``q`` on accounts and the audit kind of an identity-fragment search
    (``""`` when none): the account's name or identities, or a contact's identities."""
    plan = parse_search(query, may_reveal=may_reveal(user))
    if plan.empty:
        return None, ""
    # One ``pk IN (... UNION ...)`` of the accounts each part finds (the name's, the
    # identities', their contacts'): an OR of subqueries made PostgreSQL walk every account
    # in scope and probe each one (454 ms for a USCC on 200k accounts, 31 ms as a union).
    if plan.name is None and plan.identities is not None:
        # Identities only (a phone, its last digits, an e-mail): the matching identities read
        # once (a MATERIALIZED CTE) for both the accounts' own and their contacts'; the union
        # below runs the trigram search twice (15-20 ms each for 4 digits on 1.2 M
        # identities).
        inner = plan.identities.order_by().values("customer_id")
        sql, params = inner.query.sql_with_params()
        # The ORM's own SQL with its parameters kept apart: nothing of the query is spliced.
        return Q(_IdAmong("pk", _IDENTITY_ACCOUNTS_SQL.format(owners=sql), params)), plan.audit
    parts: list[QuerySet[Any]] = []
    if plan.name is not None:
        names = Customer.objects.filter(plan.name).values("pk")
        parts.append(Account.objects.filter(customer__in=names).order_by().values("pk"))
    if plan.identities is not None:
        owners = plan.identities.values("customer_id")
        parts.append(Account.objects.filter(customer__in=owners).order_by().values("pk"))
        parts.append(Contact.objects.filter(person__in=owners).order_by().values("account_id"))
    if not parts:
        return None, plan.audit
    ids = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    return Q(pk__in=ids), plan.audit


def matching_accounts(*, user: Any, filters: AccountFilters) -> tuple[QuerySet[Account], str]:
    """Every account in the user's scope the filters match, and the audit kind of a search
    inside personal identities (the caller records it with the rows it shows)."""
    accounts = Account.objects.visible_to(user)
    audit = ""
    if filters.query:
        condition, audit = _search(filters.query, user)
        accounts = accounts.none() if condition is None else accounts.filter(condition)
    for name in ("industry", "province", "city", "status"):
        value = getattr(filters, name)
        if value:
            accounts = accounts.filter(**{name: value})
    if filters.owner == "me":
        accounts = accounts.filter(owner=getattr(user, "pk", None))
    elif filters.owner == "none":
        accounts = accounts.filter(owner__isnull=True)
    elif filters.owner:
        accounts = accounts.filter(owner_id=int(filters.owner))
    if filters.unit:
        accounts = accounts.filter(
            Exists(
                Account.business_units.through.objects.filter(
                    account_id=OuterRef("pk"), businessunit_id=filters.unit
                )
            )
        )
    if filters.blacklisted:
        binding = Exists(
            BlacklistEntry.objects.filter(
                customer_id=OuterRef("customer_id"), status__in=BINDING_STATUSES
            )
        )
        accounts = accounts.filter(binding if filters.blacklisted == "yes" else ~binding)
    if filters.rating == "none":
        accounts = accounts.filter(credit_profile__isnull=True)
    elif filters.rating:
        accounts = accounts.filter(credit_profile__rating=filters.rating)
    return accounts, audit


def with_figures(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """What a row shows, in the page's query: the USCC, the credit rating, active contacts,
    open opportunities."""
    return accounts.select_related("customer", "owner", "credit_profile").annotate(
        uscc=Subquery(
            Identity.objects.filter(customer=OuterRef("customer_id"), type=IdentityType.USCC)
            .order_by("id")
            .values("value")[:1]
        ),
        contact_count=Coalesce(
            Subquery(
                Contact.objects.filter(account=OuterRef("pk"), left_on__isnull=True)
                .order_by()
                .values("account")
                .annotate(n=Count("id"))
                .values("n"),
                output_field=IntegerField(),
            ),
            0,
        ),
        open_count=Coalesce(
            Subquery(
                Opportunity.objects.open()
                .filter(account=OuterRef("pk"))
                .order_by()
                .values("account")
                .annotate(n=Count("id"))
                .values("n"),
                output_field=IntegerField(),
            ),
            0,
        ),
    )


def unit_badges() -> ArraySubquery:
    """An account's units as its badges show them, ``[{"code", "name"}]`` by code, as an
    annotation (in the account's own query: no prefetch query)."""
    return ArraySubquery(
        Account.business_units.through.objects.filter(account_id=OuterRef("pk"))
        .order_by("businessunit__code")
        .values(badge=JSONObject(code="businessunit__code", name="businessunit__name"))
    )


@dataclass
class AccountPage:
    rows: list[Account]
    has_next: bool
    next_cursor: str
    sort: str
    audit: str = ""


def _cursor_fits(fields: tuple[str, ...], values: list[Any]) -> bool:
    if len(values) != len(fields):
        return False
    return all(
        type(value) is _CURSOR_TYPES.get(f.lstrip("-"), int)
        for f, value in zip(fields, values, strict=True)
    )


def account_page(
    *,
    user: Any,
    filters: AccountFilters,
    sort: str = "-id",
    after: str = "",
    page_size: int = PAGE_SIZE,
) -> AccountPage:
    """One keyset page of the filtered accounts (no count: the list never counts): one query
    whatever the page holds (the rows with their blacklist marks, ``blacklisted``, and their
    units as ``unit_badges``: ``{"code", "name"}`` by code)."""
    sort = sort if sort in SORTS else "-id"
    fields = SORTS[sort]
    cursor = _decode(after) if after else None
    accounts, audit = matching_accounts(user=user, filters=filters)
    if cursor and _cursor_fits(fields, cursor):
        accounts = accounts.filter(_after(fields, cursor))
    rows: list[Account] = list(
        with_figures(accounts)
        .annotate(
            # The row's blacklist mark and its units' badges in the page's query (a query
            # each after it before: two round trips of a loaded machine's 2-5 ms).
            blacklisted=Exists(
                BlacklistEntry.objects.filter(
                    customer_id=OuterRef("customer_id"), status__in=BINDING_STATUSES
                )
            ),
            unit_badges=unit_badges(),
        )
        .order_by(*fields)[: page_size + 1]
    )
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = ""
    if has_next and rows:
        last = rows[-1]
        values = [
            last.customer.display_name if f.lstrip("-") == "customer__display_name" else last.pk
            for f in fields
        ]
        next_cursor = _encode(values)
    return AccountPage(rows, has_next, next_cursor, sort, audit)


def owned_accounts(*, user: Any) -> QuerySet[Account]:
    """The user's own accounts, the most recently touched first (the home page's card)."""
    return (
        Account.objects.visible_to(user)
        .filter(owner=getattr(user, "pk", None))
        .select_related("customer")
        .order_by("-updated_at", "-id")
    )


def search_accounts(*, user: Any, query: str, limit: int) -> tuple[list[Account], str]:
    """The global search's accounts (the list's search rule), and its audit kind."""
    accounts, audit = matching_accounts(user=user, filters=AccountFilters(query=query))
    rows = list(accounts.select_related("customer").order_by("-id")[:limit])
    return rows, audit


def province_choices(*, selected: str = "") -> list[str]:
    """The province filter's options, the same for everybody and without a query (no
    distinct scan of the accounts in scope): China's provincial-level divisions, and the
    value filtered on when it is none of them (a spelling an import brought in)."""
    return [*PROVINCES, selected] if selected and selected not in PROVINCES else list(PROVINCES)
