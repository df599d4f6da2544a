"""``load_demo`` against an independent computation (pandas) on the same Online Retail file."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from django.core.management import call_command
from django.db.models import Count, OuterRef, Subquery, Sum

from crm.demo_master import RETAIL_FILE, RETAIL_SOURCE
from crm.models import (
    Customer,
    DuplicateCandidate,
    Identity,
    Transaction,
    TransactionKind,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv(RETAIL_FILE, dtype={"InvoiceNo": str, "StockCode": str})
    df["line"] = df.index + 2  # the header is line 1
    return df


def _retail_spend_per_customer() -> dict[str, Decimal]:
    external = Identity.objects.filter(customer=OuterRef("customer"), type="external").values(
        "value"
    )[:1]
    rows = (
        Transaction.objects.filter(source=RETAIL_SOURCE, customer__isnull=False)
        .values("customer")
        .annotate(key=Subquery(external), total=Sum("amount"))
    )
    return {r["key"].split(":", 1)[1]: r["total"] for r in rows}


def test_load_demo_matches_pandas_then_a_second_run_changes_nothing(
    frame: pd.DataFrame, capsys
) -> None:
    """One load (the demo takes minutes: loaded once for both checks)."""
    call_command("load_demo")
    output = capsys.readouterr().out

    bad = frame[frame.UnitPrice <= 0]
    good = frame[frame.UnitPrice > 0]
    # The file's own figures, computed independently.
    assert frame.InvoiceNo.nunique() == 12392
    assert frame.CustomerID.nunique() == 3569
    assert len(bad) == 37

    retail = Transaction.objects.filter(source=RETAIL_SOURCE)
    # One customer per CustomerID.
    customers = Identity.objects.filter(type="external", value__startswith=f"{RETAIL_SOURCE}:")
    assert customers.count() == 3569 == good.CustomerID.nunique()
    # One transaction per invoice, minus the 33 invoices made only of rejected lines.
    rejected_invoices = set(frame.InvoiceNo) - set(good.InvoiceNo)
    assert len(rejected_invoices) == 33
    assert retail.count() == 12392 - 33 == good.InvoiceNo.nunique()
    assert not retail.filter(external_id__in=rejected_invoices).exists()
    # Cancellations are the C invoices; guests are the invoices without a CustomerID.
    assert (
        retail.filter(kind=TransactionKind.CANCELLATION).count()
        == good[good.InvoiceNo.str.startswith("C")].InvoiceNo.nunique()
    )
    assert (
        retail.filter(customer__isnull=True).count()
        == good[good.CustomerID.isna()].InvoiceNo.nunique()
    )
    # The rejected lines are reported with their line number, field and reason.
    for line in bad.line:
        assert f"line {line}: UnitPrice: unit price 0.0 ≤ 0" in output

    # Net spend per customer equals pandas' groupby(CustomerID).sum(Quantity * UnitPrice).
    frame = frame.assign(spend=frame.Quantity * frame.UnitPrice)
    expected = frame.dropna(subset=["CustomerID"]).groupby("CustomerID").spend.sum()
    actual = _retail_spend_per_customer()
    assert len(actual) == len(expected) == 3569
    mismatches = {
        int(cid): (total, actual.get(str(int(cid))))
        for cid, total in expected.items()
        if actual.get(str(int(cid))) != Decimal(str(round(total, 2))).quantize(Decimal("0.01"))
    }
    assert mismatches == {}
    assert sum(actual.values()) == Decimal(str(round(expected.sum(), 2))).quantize(Decimal("0.01"))

    # The file's times are UK time: every invoice keeps its UK day and clock time (read as
    # Shanghai time, 10-12 % of them showed on the wrong day), its amounts are pounds.
    written = good.groupby("InvoiceNo").InvoiceDate.first().str.slice(0, 16)
    stored = {
        number: when.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")
        for number, when in retail.values_list("external_id", "occurred_at")
    }
    assert stored == written.to_dict()
    assert set(retail.values_list("currency", flat=True)) == {"GBP"}
    _second_run_changes_nothing_and_the_other_units_are_filled()


def _second_run_changes_nothing_and_the_other_units_are_filled() -> None:
    def snapshot() -> dict[str, int]:
        return {
            "customers": Customer.objects.count(),
            "transactions": Transaction.objects.count(),
            "identities": Identity.objects.count(),
            "candidates": DuplicateCandidate.objects.count(),
        }

    first = snapshot()
    call_command("load_demo", verbosity=0)
    assert snapshot() == first
    # Every live customer's metrics, and the last 12 months' snapshots (crm.demo_metrics).
    from crm.models import CustomerMetrics, MetricsSnapshot

    assert CustomerMetrics.objects.count() == Customer.objects.live().count()
    assert (
        MetricsSnapshot.objects.filter(customer__isnull=True).values("month").distinct().count()
        == 12
    )
    per_unit = dict(Transaction.objects.values_list("business_unit__code").annotate(n=Count("id")))
    assert set(per_unit) == {"AUTO", "PROP", "MART", "LOGI"}
    assert Customer.objects.filter(kind="organization").count() == 40
    assert Identity.objects.filter(type="uscc").count() == 40
    assert Identity.objects.filter(type="wechat_unionid").exists()
    reasons = set(DuplicateCandidate.objects.values_list("reason", flat=True))
    assert {"name_phone_suffix", "shared_identity", "email_local_name"} <= reasons
