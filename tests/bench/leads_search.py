"""The lead lists' search inputs (``q``: a fragment of a lead's name or company, 2 and 3
characters), for the figures ``leads_pool_list`` and ``leads_my_leads`` of ``leads.py``.

Fragments are cut from the leads themselves (what a rep types is a part of a name they saw):
two characters anywhere in a person's name (王伟, 伟华) or a company's (贸易, 有限), three
characters (a whole 3-character name such as 王建国, or a piece of a company name). The pool
list's half from the pool's own waiting leads, half from any lead of the data set (often no
match in that pool: the index must say so without walking the pool); "my leads" from the
rep's own held leads, and a quarter from any lead. Each input is timed through the screen and
its selector beside the bare SQL of the same 26 rows through the same indexes
(``name_grams @> ARRAY[q]``, or ``ILIKE '%q%'`` on the trigram index)."""

from __future__ import annotations

import random
from typing import Any

GRAMS_WHERE = "l.name_grams @> ARRAY[%(q)s]::text[]"
# A data set of the code before the stored column (the old code's run, same minutes):
# the same characters and pairs through an index on the expression, where there is one.
GRAMS_EXPRESSION_WHERE = "crm_name_grams(l.name || ' ' || l.company) @> ARRAY[%(q)s]::text[]"
ILIKE_WHERE = "(l.name || ' ' || l.company) ILIKE %(like)s"
SAMPLE_SQL = (
    "SELECT pool_id, owner_id, status, name, company FROM leads_lead "
    "TABLESAMPLE BERNOULLI (%s) REPEATABLE (7)"
)


def search_params(fragment: str) -> dict[str, str]:
    return {"q": fragment, "like": f"%{fragment}%"}


_STORED: list[bool] = []


def stored_grams(conn: Any) -> bool:
    if not _STORED:
        sql = (
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'leads_lead' AND column_name = 'name_grams')"
        )
        _STORED.append(bool(conn.execute(sql).fetchone()[0]))
    return _STORED[0]


def where(fragment: str) -> str:
    if len(fragment) > 2:
        return ILIKE_WHERE
    return GRAMS_WHERE if not _STORED or _STORED[0] else GRAMS_EXPRESSION_WHERE


def fragment(rng: random.Random, name: str, company: str, size: int) -> str:
    """``size`` consecutive characters of the company (a third of company leads) or the
    name; the whole text when it is shorter."""
    text = company if company and rng.random() < 0.34 else (name or company)
    if len(text) <= size:
        return text
    start = rng.randrange(len(text) - size + 1)
    return text[start : start + size]


def sample(conn: Any, leads: int) -> list[tuple]:
    """About 20,000 leads (all of a small data set), every kind and status."""
    stored_grams(conn)
    percent = min(100.0, 2_000_000 / max(leads, 1))
    return conn.execute(SAMPLE_SQL, [percent]).fetchall()


def pool_inputs(
    conn: Any, setup: Any, leads: int, iterations: int, run: str
) -> list[tuple[int, int, dict[str, str]]]:
    """(rep, pool, query string) per input: a random rep, their public pool (every fourth
    input their team pool), a 2- or 3-character fragment in turn."""
    rng = random.Random(f"{run}-pool-search")
    rows = sample(conn, leads)
    waiting: dict[int, list[tuple]] = {}
    for row in rows:
        if row[1] is None and row[2] == "new":
            waiting.setdefault(row[0], []).append(row)
    inputs = []
    for i in range(iterations):
        u = rng.randrange(len(setup.units))
        k = rng.randrange(len(setup.reps[u]))
        team = setup.team_pools[u][k % len(setup.team_pools[u])]
        pool = team if i % 4 == 3 else setup.public_pools[u]
        own = waiting.get(pool) or rows
        _pool, _owner, _status, name, company = rng.choice(own if i % 2 == 0 else rows)
        size = 2 if i % 4 in (0, 1) else 3
        params = {"pool": str(pool), "q": fragment(rng, name, company, size)}
        inputs.append((setup.reps[u][k], pool, params))
    return inputs


def my_inputs(
    conn: Any, setup: Any, leads: int, iterations: int, run: str
) -> list[tuple[int, dict[str, str]]]:
    """(rep, query string) per input: a random rep, a 2- or 3-character fragment in turn
    of one of their held leads (every fourth input: of any lead)."""
    rng = random.Random(f"{run}-mine-search")
    held: dict[int, list[tuple[str, str]]] = {}
    for owner, name, company in conn.execute(
        "SELECT owner_id, name, company FROM leads_lead WHERE owner_id = ANY(%s) "
        "AND status IN ('assigned', 'contacted', 'qualified')",
        [setup.all_reps],
    ):
        held.setdefault(owner, []).append((name, company))
    anyone = [(row[3], row[4]) for row in sample(conn, leads)]
    inputs = []
    for i in range(iterations):
        rep = rng.choice([r for r in setup.all_reps if r in held] or setup.all_reps)
        name, company = rng.choice(anyone if i % 4 == 3 else held.get(rep) or anyone)
        size = 2 if i % 2 == 0 else 3
        inputs.append((rep, {"q": fragment(rng, name, company, size)}))
    return inputs


POOL_COUNT_SQL = (
    "SELECT count(*) FROM leads_lead l WHERE l.pool_id = %(pool)s AND l.owner_id IS NULL "
    "AND l.status = 'new' AND {where}"
)
MINE_COUNT_SQL = (
    "SELECT count(*) FROM leads_lead l WHERE l.owner_id = %(rep)s "
    "AND l.status IN ('assigned', 'contacted', 'qualified') AND {where}"
)


def searched(sql: str, fragment: str) -> str:
    """A list's bare SQL narrowed to the fragment's condition."""
    return sql.replace("ORDER BY", f"  AND {where(fragment)}\nORDER BY", 1)


def matches(conn: Any, count_sql: str, params: dict[str, Any]) -> int:
    """How many rows of the list the fragment matches (not only the page's)."""
    sql = count_sql.format(where=where(params["q"]))
    return int(conn.execute(sql, params).fetchone()[0])


def summary(counts: list[int]) -> dict[str, int]:
    ordered = sorted(counts)
    return {
        "min": ordered[0],
        "p50": ordered[len(ordered) // 2],
        "max": ordered[-1],
        "none": sum(1 for n in ordered if n == 0),
    }
