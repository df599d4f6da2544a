"""The B2B accounts figures (issue 17), each a p95 beside bare SQL of the same work.

- ``accounts_list``: the account list as the sales manager of one unit sees it, page 1 (25
  rows, newest first): two filters (industry + province) with a two-character name search
  through the master's gram index, and on their own a USCC (exact) and 4 digits of a
  contact's phone (the manager may reveal: anywhere in its national number);
- ``accounts_page``: the page of the showcase account (500 contacts, 40 opportunities);
- ``accounts_pipeline``: the pipeline board of that manager (per-stage sums, the weighted
  forecast by month and by rep, the first cards of every stage).

The product side is measured twice when it can be: through the selectors
(``accounts.selectors``) and through the screen itself (Django test client, URL resolved by
name, the manager logged in). A URL name that does not exist yet is recorded as skipped.
"""

from __future__ import annotations

import random
from typing import Any

from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts import selectors as account_selectors
from accounts.models import Account, Contact, Opportunity, OpportunityStage
from accounts.selectors import account_page as pages
from accounts.selectors import lists
from accounts.selectors.lists import AccountFilters
from crm.models import User
from tests.bench.accounts_data import MANAGER, org_id
from tests.bench.measure import Series, captured_sql, compare, explain, figure, rows

PAGE = 25
# Candidate URL names of the screens (the first that resolves is measured).
LIST_URLS = ("accounts:account-list", "accounts:list", "accounts:account_list", "accounts:index")
PAGE_URLS = ("accounts:account-detail", "accounts:detail", "accounts:account_detail")
BOARD_URLS = ("accounts:pipeline", "accounts:pipeline-board", "accounts:board")

# -- bare SQL -----------------------------------------------------------------------------

# The rows the list shows: account, name, owner, parent's name, its units.
_LIST_SQL = """
SELECT a.id, a.industry, a.province, a.city, a.status, c.display_name, c.id,
       u.username, u.first_name, u.last_name, pc.display_name,
       ARRAY(SELECT b.businessunit_id FROM accounts_account_business_units b
             WHERE b.account_id = a.id) AS units
FROM accounts_account a
JOIN crm_customer c ON c.id = a.customer_id
LEFT JOIN crm_user u ON u.id = a.owner_id
LEFT JOIN accounts_account p ON p.id = a.parent_id
LEFT JOIN crm_customer pc ON pc.id = p.customer_id
WHERE EXISTS (SELECT 1 FROM accounts_account_business_units s
              WHERE s.account_id = a.id AND s.businessunit_id = ANY(%(units)s))
  AND {where}
ORDER BY a.id DESC
LIMIT {limit}
"""
LIST_WHERE = {
    "filters_name2": "a.industry = %(industry)s AND a.province = %(province)s "
    "AND c.name_grams @> ARRAY[%(q)s]::text[]",
    "filters": "a.industry = %(industry)s AND a.province = %(province)s",
    "uscc": "a.customer_id IN (SELECT customer_id FROM crm_identity "
    "WHERE type = 'uscc' AND value = %(q)s)",
    # The owners first, then their contacts' accounts, each step an index probe per id
    # (``= ANY(ARRAY(...))``: an ``IN`` of the ~2,000 matches was at times hash-joined
    # against a sequential scan of the accounts: 200+ ms p95 for this "floor" before
    # accounts17).
    "contact_phone": "a.id = ANY(ARRAY(SELECT ct.account_id FROM accounts_contact ct "
    "WHERE ct.person_id = ANY(ARRAY(SELECT i.customer_id FROM crm_identity i "
    "WHERE i.type = 'mobile' AND crm_phone_national(i.value) LIKE %(like)s))))",
}

_PAGE_SQL = [
    # header: account, customer, owner, parent, USCC, active blacklist entry
    "SELECT a.*, c.display_name, c.registered_name, u.username, u.first_name, u.last_name, "
    "p.id, pc.display_name FROM accounts_account a JOIN crm_customer c ON c.id = a.customer_id "
    "LEFT JOIN crm_user u ON u.id = a.owner_id LEFT JOIN accounts_account p ON p.id = a.parent_id "
    "LEFT JOIN crm_customer pc ON pc.id = p.customer_id WHERE a.id = %(a)s",
    "SELECT type, value FROM crm_identity WHERE customer_id = %(c)s ORDER BY type, id",
    "SELECT id, status, reason, decided_at FROM crm_blacklistentry "
    "WHERE customer_id = %(c)s AND status IN ('active', 'lifting')",
    "SELECT b.businessunit_id, bu.code, bu.name FROM accounts_account_business_units b "
    "JOIN crm_businessunit bu ON bu.id = b.businessunit_id WHERE b.account_id = %(a)s",
    # contacts by department with their roles and their person's name
    "SELECT ct.id, ct.department, ct.title, ct.is_primary, ct.left_on, pc.id, pc.display_name, "
    "ARRAY(SELECT r.contactrole_id FROM accounts_contact_roles r WHERE r.contact_id = ct.id) "
    "FROM accounts_contact ct JOIN crm_customer pc ON pc.id = ct.person_id "
    "WHERE ct.account_id = %(a)s ORDER BY ct.department, ct.is_primary DESC, ct.id",
    "SELECT id, code, name_zh, name_en FROM accounts_contactrole WHERE is_active ORDER BY position",
    # hierarchy: up to the top, then the top's subsidiaries two levels down
    "WITH RECURSIVE up(id, parent_id, depth) AS (SELECT id, parent_id, 0 FROM accounts_account "
    "WHERE id = %(a)s UNION ALL SELECT x.id, x.parent_id, up.depth + 1 FROM accounts_account x "
    "JOIN up ON x.id = up.parent_id WHERE up.depth < 20) SELECT up.id, c.display_name "
    "FROM up JOIN accounts_account y ON y.id = up.id JOIN crm_customer c ON c.id = y.customer_id",
    "SELECT a.id, a.parent_id, c.display_name FROM accounts_account a JOIN crm_customer c "
    "ON c.id = a.customer_id WHERE a.parent_id = ANY(ARRAY[%(a)s, (SELECT parent_id FROM "
    "accounts_account WHERE id = %(a)s)]) ORDER BY c.display_name LIMIT 100",
    "SELECT r.id, r.kind, r.from_account_id, r.to_account_id, r.valid_from, r.valid_to, r.note "
    "FROM accounts_accountrelation r WHERE r.from_account_id = %(a)s OR r.to_account_id = %(a)s",
    # opportunities with their stage, the open ones' weighted total
    "SELECT o.id, o.name, o.amount, o.currency, o.expected_close, s.code, s.name_zh, "
    "s.probability, u.username FROM accounts_opportunity o "
    "JOIN accounts_opportunitystage s ON s.id = o.stage_id "
    "JOIN crm_user u ON u.id = o.owner_id WHERE o.account_id = %(a)s ORDER BY o.id DESC LIMIT 50",
    "SELECT o.currency, count(*), sum(o.amount * s.probability / 100.0) "
    "FROM accounts_opportunity o JOIN accounts_opportunitystage s ON s.id = o.stage_id "
    "WHERE o.account_id = %(a)s "
    "AND NOT s.is_won AND NOT s.is_lost GROUP BY o.currency",
]

# The opportunities' own column sums: what the heads cost without the maintained totals
# (kept as the forecast's first query and for comparison in README.md).
_OPPORTUNITY_SUMS_SQL = (
    "SELECT o.stage_id, count(*), sum(o.amount), sum(o.amount * s.probability / 100.0) "
    "FROM accounts_opportunity o JOIN accounts_opportunitystage s ON s.id = o.stage_id "
    "WHERE o.business_unit_id = ANY(%(units)s) AND o.currency = 'CNY' GROUP BY o.stage_id"
)
# The cards: the 51 largest of one stage in one of the manager's units (one part per active
# stage and unit, UNION ALL: each an index scan of the (unit, stage, amount, id) index;
# ``= ANY(array)`` would make PostgreSQL sort every opportunity of the stage), their
# account's name and owner.
_CARDS_PART = (
    "(SELECT o.id, o.stage_id, o.name, o.amount, o.currency, o.expected_close, o.account_id,"
    " o.owner_id FROM accounts_opportunity o WHERE o.stage_id = {stage}"
    " AND o.business_unit_id = {unit} AND o.currency = 'CNY'"
    " ORDER BY o.amount DESC, o.id DESC LIMIT 51)"
)


def _cards_sql(stage_ids: list[int], units: list[int]) -> str:
    union = " UNION ALL ".join(
        _CARDS_PART.format(stage=int(pk), unit=int(unit)) for pk in stage_ids for unit in units
    )
    return (
        "SELECT o.stage_id, o.id, o.name, o.amount, o.currency, o.expected_close,"
        f" c.display_name, u.username FROM ({union}) o"
        " JOIN accounts_account a ON a.id = o.account_id"
        " JOIN crm_customer c ON c.id = a.customer_id JOIN crm_user u ON u.id = o.owner_id"
    )


_BOARD_SQL = [
    # the column heads: per stage count and sum from the maintained totals (the weighted
    # sum is the stage's probability times the sum)
    "SELECT t.stage_id, sum(t.count), sum(t.amount) FROM accounts_opportunitytotal t "
    "WHERE t.business_unit_id = ANY(%(units)s) AND t.currency = 'CNY' GROUP BY t.stage_id",
    "SELECT id, code, name_zh, name_en, position, probability, is_won, is_lost "
    "FROM accounts_opportunitystage WHERE is_active ORDER BY position, id",
]


def _first_url(names: tuple[str, ...], *args: Any) -> tuple[str, str] | None:
    for name in names:
        try:
            return name, reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


class AccountsContext:
    def __init__(self, ctx: Any) -> None:
        self.ctx, self.conn, self.cfg = ctx, ctx.conn, ctx.cfg
        self.manager = User.objects.get(username=MANAGER)
        self.units = sorted(self.manager.business_units.values_list("id", flat=True))
        self.stage_ids = list(
            OpportunityStage.objects.filter(is_active=True).values_list("id", flat=True)
        )
        self.client = Client()
        self.client.force_login(self.manager, backend="crm.auth_backends.CrmModelBackend")
        self.showcase = Account.objects.get(customer_id=org_id(self.cfg, 1))
        self.rng = random.Random(f"{self.cfg.seed}-accounts")

    def sample_accounts(self, n: int) -> list[tuple]:
        """Accounts the manager sees: (industry, province, name, uscc)."""
        found = rows(
            self.conn,
            "SELECT a.industry, a.province, c.display_name, i.value FROM accounts_account a "
            "TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (%(seed)s) "
            "JOIN crm_customer c ON c.id = a.customer_id "
            "JOIN crm_identity i ON i.customer_id = c.id AND i.type = 'uscc' "
            "WHERE EXISTS (SELECT 1 FROM accounts_account_business_units s "
            "WHERE s.account_id = a.id AND s.businessunit_id = ANY(%(units)s)) LIMIT 2000",
            {
                "seed": self.cfg.seed % 1000,
                "units": self.units,
                "percent": min(100.0, 400_000 / self.cfg.accounts),
            },
        )
        if not found:
            raise SystemExit("no account visible to the bench manager")
        return [self.rng.choice(found) for _ in range(n)]


def _explain(actx: AccountsContext, label: str, orm_sql: str, bare: str, params: Any) -> dict:
    """EXPLAIN (ANALYZE) of the product's SQL and of the bare SQL; the texts go to
    ``explain_accounts.txt`` beside the results, the summaries into the figure."""
    plans = actx.ctx.__dict__.setdefault("account_plans", [])
    ours, floor = explain(actx.conn, orm_sql), explain(actx.conn, bare, params)
    plans.append((f"{label}: product (the ORM's SQL)", ours.pop("text")))
    plans.append((f"{label}: bare SQL", floor.pop("text")))
    return {"product": ours, "bare_sql": floor}


def _list_inputs(actx: AccountsContext) -> dict[str, list[dict[str, Any]]]:
    n = actx.cfg.iterations
    picked = actx.sample_accounts(n)
    digits = [f"{actx.rng.randrange(10_000):04d}" for _ in range(n)]
    return {
        "filters_name2": [
            {"industry": i, "province": p, "q": name[2:4]} for i, p, name, _ in picked
        ],
        "filters": [{"industry": i, "province": p, "q": ""} for i, p, _n, _u in picked],
        "uscc": [{"industry": "", "province": "", "q": uscc} for *_x, uscc in picked],
        "contact_phone": [{"industry": "", "province": "", "q": d} for d in digits],
    }


def _selector_page(actx: AccountsContext, kind: str, x: dict[str, Any]) -> list[Any]:
    """The list's page as the screen reads it (``account_page`` with the filters of the query
    string: the rows, their units and blacklist marks), without the HTML."""
    filters = AccountFilters(query=x["q"], industry=x["industry"], province=x["province"])
    return lists.account_page(user=actx.manager, filters=filters).rows


def _bare_list(actx: AccountsContext, kind: str, x: dict[str, Any]) -> list[tuple]:
    sql = _LIST_SQL.format(where=LIST_WHERE[kind], limit=PAGE + 1)
    params = {**x, "units": actx.units, "like": f"%{x['q']}%"}
    found = rows(actx.conn, sql, params)
    ids = [r[0] for r in found]
    # what the page prefetches beside the rows: the units' names
    rows(actx.conn, "SELECT id, code, name FROM crm_businessunit WHERE id = ANY(%s)", [ids])
    return found


def _view_params(x: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in x.items() if v}


def _get(client: Client, url: str, params: dict[str, str] | None = None) -> int:
    response = client.get(url, params or {})
    if response.status_code != 200:
        raise SystemExit(f"{url} {params} answered {response.status_code}")
    return len(response.content)


def accounts_list(ctx: Any) -> dict[str, Any]:
    actx = AccountsContext(ctx)
    inputs = _list_inputs(actx)
    url = _first_url(LIST_URLS)
    result: dict[str, Any] = {"manager_units": actx.units}
    labels = {
        "filters_name2": "industry + province + a 2-character name (gram index)",
        "filters": "industry + province",
        "uscc": "a full USCC",
        # The manager may reveal: 4 digits anywhere in the national number, not the last 4.
        "contact_phone": "4 digits of a contact's phone (inside its national number)",
    }
    for kind, label in labels.items():
        xs = inputs[kind]
        matches = [len(_bare_list(actx, kind, x)) for x in xs[:20]]
        ours, floor = compare(
            xs,
            lambda x, k=kind: _selector_page(actx, k, x),
            lambda x, k=kind: _bare_list(actx, k, x),
        )
        sample = xs[0]
        orm_sql = next(
            sql
            for sql in captured_sql(lambda k=kind, x=sample: _selector_page(actx, k, x))
            if 'FROM "accounts_account"' in sql
        )
        bare_sql = _LIST_SQL.format(where=LIST_WHERE[kind], limit=PAGE + 1)
        params = {**sample, "units": actx.units, "like": f"%{sample['q']}%"}
        entry = {
            "selector": figure(f"account_page(filters) + {label}, page 1", ours, floor),
            "explain": _explain(actx, f"account list, {kind} {sample}", orm_sql, bare_sql, params),
            "rows_on_page": {"min": min(matches), "max": max(matches)},
            "inputs": [x["q"] or f"{x['industry']}/{x['province']}" for x in xs[:8]],
        }
        if url:
            view, floor2 = compare(
                xs,
                lambda x: _get(actx.client, url[1], _view_params(x)),
                lambda x, k=kind: _bare_list(actx, k, x),
            )
            entry["view"] = figure(f"GET {url[1]} ({label})", view, floor2, url_name=url[0])
        else:
            entry["view"] = {"skipped": f"none of {', '.join(LIST_URLS)} exists yet"}
        result[kind] = entry
    return result


def _bare_page(actx: AccountsContext, account: Account) -> None:
    for sql in _PAGE_SQL:
        actx.conn.execute(sql, {"a": account.pk, "c": account.customer_id}).fetchall()


def _selector_page_reads(actx: AccountsContext, account: Account) -> None:
    """What the account page reads (header, contacts by department, hierarchy, relations,
    opportunities, the role list), without the HTML and the master's timeline tab."""
    user = actx.manager
    page = pages.page_account(user=user, pk=account.pk)  # with its units since accounts17
    pages.contacts_by_department(account=page)  # with the role names since accounts17
    pages.flatten(pages.hierarchy(user=user, account=page))
    pages.relations(account=page)
    pages.opportunities(user=user, account=page)


def accounts_page(ctx: Any) -> dict[str, Any]:
    actx = AccountsContext(ctx)
    account = actx.showcase
    n = ctx.cfg.iterations
    contacts = Contact.objects.filter(account=account).count()
    opportunities = Opportunity.objects.filter(account=account).count()
    ours, floor = compare(
        range(n),
        lambda _: _selector_page_reads(actx, account),
        lambda _: _bare_page(actx, account),
    )
    result: dict[str, Any] = {
        "account": account.pk,
        "contacts": contacts,
        "opportunities": opportunities,
        "selector": figure(
            "page_account + contacts_by_department + hierarchy + relations + opportunities",
            ours,
            floor,
        ),
    }
    result["explain_contacts"] = _explain(
        actx,
        "account page contacts (showcase)",
        next(
            sql
            for sql in captured_sql(lambda: _selector_page_reads(actx, account))
            if 'FROM "accounts_contact"' in sql or "FROM accounts_contact c" in sql
        ),
        _PAGE_SQL[4],
        {"a": account.pk, "c": account.customer_id},
    )
    url = _first_url(PAGE_URLS, account.pk)
    if url:
        view, floor2 = compare(
            range(n), lambda _: _get(actx.client, url[1]), lambda _: _bare_page(actx, account)
        )
        result["view"] = figure(f"GET {url[1]} (showcase)", view, floor2, url_name=url[0])
    else:
        result["view"] = {"skipped": f"none of {', '.join(PAGE_URLS)} exists yet"}
    return result


# Before the board screen: the stage sums and the forecasts by month and by rep.
_FORECAST_SQL = [
    _OPPORTUNITY_SUMS_SQL,
    "SELECT date_trunc('month', o.expected_close), count(*), sum(o.amount), "
    "sum(o.amount * s.probability / 100.0) FROM accounts_opportunity o "
    "JOIN accounts_opportunitystage s ON s.id = o.stage_id "
    "WHERE o.business_unit_id = ANY(%(units)s) AND o.currency = 'CNY' "
    "AND NOT s.is_won AND NOT s.is_lost GROUP BY 1 ORDER BY 1 NULLS LAST",
    "SELECT o.owner_id, count(*), sum(o.amount), sum(o.amount * s.probability / 100.0) "
    "FROM accounts_opportunity o JOIN accounts_opportunitystage s ON s.id = o.stage_id "
    "WHERE o.business_unit_id = ANY(%(units)s) AND o.currency = 'CNY' AND NOT s.is_won "
    "AND NOT s.is_lost GROUP BY 1",
]


def _bare_board(actx: AccountsContext) -> None:
    board = hasattr(account_selectors, "board_cards")
    if not board:
        for sql in _FORECAST_SQL:
            actx.conn.execute(sql, {"units": actx.units}).fetchall()
        return
    for sql in _BOARD_SQL:
        actx.conn.execute(sql, {"units": actx.units}).fetchall()
    actx.conn.execute(_cards_sql(actx.stage_ids, actx.units), {"units": actx.units}).fetchall()


def _selector_board(actx: AccountsContext) -> None:
    """The board's reads for the manager's team view: per-stage heads and top cards (before
    the board screen: the stage sums and the forecasts by month and by rep)."""
    if not hasattr(account_selectors, "board_cards"):
        account_selectors.stage_sums(user=actx.manager)
        account_selectors.weighted_forecast(user=actx.manager, group_by="month")
        account_selectors.weighted_forecast(user=actx.manager, group_by="owner")
        return
    stages = list(OpportunityStage.objects.filter(is_active=True))
    filters = account_selectors.PipelineFilter()
    sums = account_selectors.stage_sums(user=actx.manager, filters=filters, stages=stages)
    account_selectors.board_cards(
        user=actx.manager, filters=filters, stage_ids=[row["stage"].pk for row in sums]
    )


def accounts_pipeline(ctx: Any) -> dict[str, Any]:
    actx = AccountsContext(ctx)
    n = ctx.cfg.iterations
    visible = rows(
        actx.conn,
        "SELECT count(*) FROM accounts_opportunity WHERE business_unit_id = ANY(%s)",
        [actx.units],
    )[0][0]
    ours, floor = compare(range(n), lambda _: _selector_board(actx), lambda _: _bare_board(actx))
    result: dict[str, Any] = {
        "manager_units": actx.units,
        "opportunities_in_scope": visible,
        "selector": figure(
            "stage_sums + board_cards, the manager's team view (all units of the manager)",
            ours,
            floor,
        ),
    }
    orm_sql = next(
        sql
        for sql in captured_sql(lambda: _selector_board(actx))
        if "GROUP BY" in sql and "accounts_opportunity" in sql
    )
    result["explain_stage_sums"] = _explain(
        actx, "pipeline stage sums (manager)", orm_sql, _BOARD_SQL[0], {"units": actx.units}
    )
    cards_sql = next(
        (sql for sql in captured_sql(lambda: _selector_board(actx)) if "UNION" in sql), None
    )
    if cards_sql:
        result["explain_cards"] = _explain(
            actx,
            "pipeline cards (manager)",
            cards_sql,
            _cards_sql(actx.stage_ids, actx.units),
            {"units": actx.units},
        )
    url = _first_url(BOARD_URLS)
    if url:
        view, floor2 = compare(
            range(n), lambda _: _get(actx.client, url[1]), lambda _: _bare_board(actx)
        )
        result["view"] = figure(f"GET {url[1]} (manager)", view, floor2, url_name=url[0])
    else:
        result["view"] = {"skipped": f"none of {', '.join(BOARD_URLS)} exists yet"}
    return result


def _row(label: str, f: dict[str, Any]) -> str:
    if "skipped" in f:
        return f"| {label} | skipped: {f['skipped']} | | | |"
    p, b = f["product"], f["bare_sql"]
    q = p.get("queries", {})
    queries = (
        f"{q.get('min')}" if q.get("min") == q.get("max") else f"{q.get('min')}-{q.get('max')}"
    )
    return (
        f"| {label} | {p['p50_ms']:.2f} / {p['p95_ms']:.2f} / {p['max_ms']:.1f} | {queries} "
        f"| {b['p50_ms']:.2f} / {b['p95_ms']:.2f} | {f['ratio_p50']}x / {f['ratio_p95']}x |"
    )


def table(figures: dict[str, Any]) -> str:
    """The accounts figures as a Markdown table."""
    lines = [
        "| accounts benchmark | product p50 / p95 / max (ms) | queries | bare SQL p50 / p95 (ms) "
        "| ratio p50 / p95 |",
        "|---|---|---|---|---|",
    ]
    lst = figures.get("accounts_list")
    if lst:
        for kind in ("filters_name2", "filters", "uscc", "contact_phone"):
            for side in ("selector", "view"):
                lines.append(_row(f"list: {kind} ({side})", lst[kind][side]))
    for key, label in (
        ("accounts_page", "account page, 500 contacts"),
        ("accounts_pipeline", "pipeline board, manager"),
    ):
        f = figures.get(key)
        if f:
            for side in ("selector", "view"):
                lines.append(_row(f"{label} ({side})", f[side]))
    return "\n".join(lines) if len(lines) > 2 else ""


__all__ = ["Series", "accounts_list", "accounts_page", "accounts_pipeline", "table"]
