"""The metrics of every Online Retail customer, recomputed independently with pandas.

The product computes them in one SQL statement (``crm.services.metrics``); this file computes
R, F, M, the scores, the RFM segment, the lifecycle stage, the churn warning and both lifetime
values from the CSV file itself, following ``crm/METRICS.md`` word for word, and finds the
same figures for all 3,569 customers. Cancellations that the loader links to an original
(``crm.demo_retail``: the customer's latest earlier invoice with the same stock code that has
enough left) make that original "refunded as a whole" when they cancel all of it; guest
invoices have no customer and count nowhere.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crm.demo_retail import RETAIL_FILE, RETAIL_SOURCE, _originals, load_online_retail
from crm.demo_retail import read_online_retail as read_invoices_for_links
from crm.models import CustomerMetrics, Identity
from crm.services import recompute_metrics

pytestmark = pytest.mark.django_db

AS_OF = date(2011, 12, 10)  # the day after the file's last invoice
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "online_retail_30k.csv"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")

# The segment table of crm/METRICS.md, written out again (rows R 1-5, columns F 1-5).
GRID = """
lost            hibernating         at_risk             at_risk  cannot_lose
hibernating     hibernating         at_risk             at_risk  cannot_lose
about_to_sleep  about_to_sleep      need_attention      loyal    loyal
promising       potential_loyalist  potential_loyalist  loyal    loyal
new             potential_loyalist  potential_loyalist  champions champions
"""
SEGMENTS = {
    (r, f): name
    for r, line in enumerate(GRID.strip().splitlines(), start=1)
    for f, name in enumerate(line.split(), start=1)
}


def _score(values: pd.Series, *, ascending: bool) -> pd.Series:
    ranks = values.rank(method="min", ascending=ascending).astype(int)
    return 1 + (5 * (ranks - 1)) // len(values)


def expected_metrics() -> pd.DataFrame:
    """Per CustomerID, from the file (default settings of crm/METRICS.md)."""
    path = SHARED if SHARED.exists() else RETAIL_FILE
    lines = pd.read_csv(path, dtype=str, keep_default_na=False)
    # What the loader rejects is not a sale: a price ≤ 0 or a quantity 0.
    lines = lines[(lines.UnitPrice.astype(float) > 0) & (lines.Quantity.astype(int) != 0)]
    lines = lines.assign(
        spend=[
            Decimal(q) * Decimal(p) for q, p in zip(lines.Quantity, lines.UnitPrice, strict=True)
        ]
    )
    invoices = lines.groupby("InvoiceNo", sort=False).agg(
        customer=("CustomerID", "first"), when=("InvoiceDate", "first"), amount=("spend", "sum")
    )
    invoices = invoices[invoices.customer != ""]  # guests: no customer
    invoices["customer"] = invoices.customer.map(lambda c: str(int(float(c))))
    invoices["cancel"] = invoices.index.str.startswith("C")
    invoices["at"] = pd.to_datetime(invoices.when).dt.tz_localize(LONDON)
    invoices["day"] = invoices["at"].dt.tz_convert(SHANGHAI).dt.date
    # Orders cancelled as a whole by the cancellations linked to them.
    links = _originals(read_invoices_for_links(path)[0])
    refunds = Counter()
    for cancellation, original in links.items():
        refunds[original] += invoices.amount[cancellation]
    invoices["refunded"] = [
        not c and a + refunds.get(n, Decimal(0)) <= 0 and n in refunds
        for n, a, c in zip(invoices.index, invoices.amount, invoices.cancel, strict=True)
    ]
    invoices["purchase"] = ~invoices.cancel & (invoices.amount > 0) & ~invoices.refunded
    assert (invoices.day <= AS_OF).all()

    rows = []
    for customer, group in invoices.groupby("customer"):
        bought = group[group.purchase].sort_values("at")
        days = sorted(bought.day)
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        rows.append(
            {
                "customer": customer,
                "frequency": len(bought),
                "monetary": sum(group.amount, Decimal(0)),
                "recency": (AS_OF - days[-1]).days if days else None,
                "first_day": days[0] if days else None,
                "first_at": bought["at"].min() if days else None,
                "last_at": bought["at"].max() if days else None,
                "median_gap": Decimal(str(pd.Series(gaps).median())) if gaps else None,
            }
        )
    frame = pd.DataFrame(rows).set_index("customer")
    buyers = frame[frame.frequency > 0]
    frame["r"] = _score(buyers.recency, ascending=False)
    frame["f"] = _score(buyers.frequency, ascending=True)
    frame["m"] = _score(buyers.monetary.astype(float), ascending=True)
    # Monetary ranks must not depend on float rounding: equal floats are equal Decimals here.
    assert buyers.monetary.nunique() == buyers.monetary.astype(float).nunique()
    frame["segment"] = [
        SEGMENTS[(int(r), int(f))] if f == f else "no_purchase"
        for r, f in zip(frame.r, frame.f, strict=True)
    ]

    def stage(row: pd.Series) -> str:
        if row.frequency == 0:
            return "prospect"
        if (AS_OF - row.first_day).days <= 30:
            return "new"
        for name, limit in (("active", 90), ("at_risk", 180), ("dormant", 365)):
            if row.recency <= limit:
                return name
        return "lost"

    frame["stage"] = frame.apply(stage, axis=1)
    frame["churn"] = [
        bool(f >= 3 and rec > 2 * gap)
        for f, rec, gap in zip(frame.frequency, frame.recency, frame.median_gap, strict=True)
    ]

    def forecast(row: pd.Series) -> Decimal:
        if row.frequency == 0:
            return Decimal(0)
        aov = max(row.monetary / row.frequency, Decimal(0))
        tenure = max((AS_OF - row.first_day).days, 90)
        per_year = Decimal(row.frequency * 365) / tenure
        value = max(row.monetary, Decimal(0)) * 365 * Decimal("0.300") / tenure
        # The formula as written (AOV × purchases per year × margin) is the same figure.
        assert abs(aov * per_year * Decimal("0.300") - value) < Decimal("0.000001")
        return value.quantize(Decimal("0.01"), ROUND_HALF_UP)

    frame["forecast"] = frame.apply(forecast, axis=1)
    return frame


def test_every_retail_customer_metrics_match_an_independent_pandas_computation(
    unit_a,
) -> None:
    load_online_retail(unit_a)
    run = recompute_metrics(as_of=AS_OF)
    expected = expected_metrics()
    assert len(expected) == 3569 == run.customers

    keys = dict(
        Identity.objects.filter(type="external", value__startswith=f"{RETAIL_SOURCE}:").values_list(
            "customer_id", "value"
        )
    )
    actual = {keys[m.customer_id].split(":", 1)[1]: m for m in CustomerMetrics.objects.all()}
    assert set(actual) == set(expected.index)

    def none(value):  # pandas' NaN/NaT as None
        return None if value is None or value != value else value

    mismatches = []
    for customer, want in expected.iterrows():
        got = actual[customer]
        pairs = {
            "frequency": (got.frequency, int(want.frequency)),
            "monetary": (got.monetary, want.monetary.quantize(Decimal("0.01"))),
            "lifetime_value": (got.lifetime_value, want.monetary.quantize(Decimal("0.01"))),
            "recency": (got.recency_days, none(want.recency)),
            "r": (got.r_score, none(want.r)),
            "f": (got.f_score, none(want.f)),
            "m": (got.m_score, none(want.m)),
            "segment": (got.rfm_segment, want.segment),
            "stage": (got.lifecycle_stage, want.stage),
            "median_gap": (got.median_gap_days, none(want.median_gap)),
            "churn": (got.churn_risk, want.churn),
            "forecast": (got.lifetime_value_forecast, want.forecast),
            "first": (got.first_purchase_at, none(want.first_at)),
            "last": (got.last_purchase_at, none(want.last_at)),
        }
        for name, (a, b) in pairs.items():
            if (None if a is None else float(a) if isinstance(a, Decimal) else a) != (
                None if b is None else float(b) if isinstance(b, Decimal) else b
            ):
                mismatches.append((customer, name, a, b))
    assert mismatches == []

    # The figures stated in the note (crm/METRICS.md, "On the Online Retail sample").
    segments = Counter(m.rfm_segment for m in actual.values())
    stages = Counter(m.lifecycle_stage for m in actual.values())
    print("segments", dict(sorted(segments.items())))
    print("stages", dict(sorted(stages.items())))
    assert segments == Counter(expected.segment)
    assert stages == Counter(expected.stage)
    assert sum(m.churn_risk for m in actual.values()) == int(expected.churn.sum())
