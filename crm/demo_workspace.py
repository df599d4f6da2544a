"""Demo work for the home page: an import with rejected rows, saved views, recently viewed
customers and the desk's notes on one of them, so that each demo role finds something to
do (``manage.py load_demo``).

Runs after the customer master's demo (whose planted duplicates fill the steward's
"duplicates waiting"); running it again changes nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

from crm import imports, services
from crm.jobs import run_job
from crm.models import BusinessUnit, Customer, CustomerNote, Job, SavedView, User

SAMPLE_FILENAME = "门店订单-示例-有错误.csv"
_HEADER = ["external_id", "occurred_at", "amount", "mobile", "name"]
_ROWS = [
    ["DEMO-ERR-1", "2026-11-02 10:15", "128.00", "13900000101", "周婷"],
    ["DEMO-ERR-2", "2026-11-02 11:40", "56.50", "13900000102", "吴磊"],
    ["DEMO-ERR-3", "2026-11-31 09:00", "88.00", "13900000103", "郑爽"],  # no 31 November
    ["DEMO-ERR-4", "2026-11-03 16:20", "九十九", "13900000104", "孙杰"],  # not an amount
    ["DEMO-ERR-5", "2026-11-03 17:05", "42.00", "1390000", "冯琳"],  # not a phone number
]
# Notes the desk wrote on the first customers it opened (the first one pinned).
DEMO_NOTES = [
    ("客户希望周末联系，工作日不方便接电话。", True),
    ("上次来电咨询会员积分兑换，已告知规则。", False),
]
RECENT_VIEWERS = ("steward", "service", "manager", "rep", "marketing", "admin")
# Saved views of the customer list per demo user (units by code).
DEMO_VIEWS = {
    "steward": [("公司客户", "kind=organization"), ("超市的个人客户", "kind=person&unit={MART}")],
    "service": [("物业的个人客户", "kind=person&unit={PROP}")],
    "manager": [("汽车的公司客户", "kind=organization&unit={AUTO}")],
}


def sample_import_csv() -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([_HEADER, *_ROWS])
    return out.getvalue().encode("utf-8")


def import_with_errors(
    *, unit: BusinessUnit, user: Any, filename: str = SAMPLE_FILENAME, data: bytes | None = None
) -> Job:
    """Import a small file with rejected rows through the real import job, at once (no
    worker needed); returns the finished job."""
    stored = imports.store_upload([data or sample_import_csv()], filename=filename)
    job = Job.objects.create(
        kind=imports.IMPORT_JOB_KIND,
        params={
            "upload": stored,
            "filename": filename,
            "business_unit_id": unit.pk,
            "source": "pos",
            "channel": "store",
            "dry_run": False,
            "_language": "zh-hans",
        },
        created_by=user if getattr(user, "pk", None) else None,
        business_unit=unit,
    )
    run_job(job.pk)
    job.refresh_from_db()
    return job


def load_workspace_demo(units: dict[str, BusinessUnit]) -> dict[str, int]:
    importer = User.objects.filter(username="marketing").first()
    mart = units["MART"]
    jobs = 0
    if not Job.objects.filter(
        kind=imports.IMPORT_JOB_KIND, params__filename=SAMPLE_FILENAME
    ).exists():
        import_with_errors(unit=mart, user=importer)
        jobs = 1
    views = 0
    unit_ids = {code: unit.pk for code, unit in units.items()}
    for user in User.objects.filter(username__in=DEMO_VIEWS):
        for name, query in DEMO_VIEWS[user.username]:
            _view, created = SavedView.objects.get_or_create(
                user=user,
                list_key="crm.customers",
                name=name,
                defaults={"query": query.format(**unit_ids)},
            )
            views += created
    # Every demo user finds the last customers they opened: named customers who bought in
    # their units (the steward's and the desk's first ones).
    for user in User.objects.filter(username__in=RECENT_VIEWERS).order_by("id"):
        if user.recent_views.exists():
            continue
        customers = (
            Customer.objects.live()
            .filter(
                name_is_generated=False,
                transactions__business_unit__in=user.business_units.all(),
            )
            .distinct()
            .order_by("id")[:5]
        )
        for customer in customers:
            services.record_recent_view(user=user, customer=customer)
    notes = 0
    desk = User.objects.filter(username="service").first()
    first_seen = desk.recent_views.order_by("-viewed_at").first() if desk else None
    if first_seen is not None and not CustomerNote.objects.filter(author=desk).exists():
        for text, pinned in DEMO_NOTES:
            services.add_note(customer=first_seen.customer, author=desk, text=text, pinned=pinned)
            notes += 1
    return {"import_jobs_with_errors": jobs, "saved_views": views, "notes": notes}
