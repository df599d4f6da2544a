"""Demo customers: the Online Retail file as the supermarket's online-mall history, then
synthetic Chinese persons and companies across the other units (deterministic with a seed).

Everything goes through the real services (``ingest_transactions``, ``resolve_customer``,
``record_consent``, ``add_tag``), so the demo exercises what production does. Running it again
changes nothing: ingestion is idempotent and the synthetic part is keyed by identities.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from crm.models import (
    BusinessUnit,
    Channel,
    ConsentChannel,
    ConsentPurpose,
    Customer,
    CustomerKind,
    Tag,
    TagCategory,
    TransactionKind,
)
from crm.normalizers import USCC_ALPHABET, uscc_check_char
from crm.services import (
    IdentityInput,
    RowError,
    TransactionInput,
    add_tag,
    find_duplicate_candidates,
    ingest_transactions,
    record_consent,
    resolve_customer,
)

RETAIL_FILE = Path(__file__).resolve().parent / "demo_data" / "online_retail_30k.csv"
RETAIL_SOURCE = "online_retail"
RETAIL_TZ = ZoneInfo("Europe/London")
SEED = 2026


# --- Online Retail -------------------------------------------------------------------------


@dataclass
class _Invoice:
    number: str
    customer_id: str
    country: str
    occurred_at: datetime
    lines: list[dict[str, Any]] = field(default_factory=list)
    amount: Decimal = Decimal("0")
    first_line: int = 0


@dataclass
class RetailLoad:
    lines: int
    invoices: int
    rejected_lines: list[RowError]
    result: dict[str, Any]


def _customer_key(raw: str) -> str:
    """``12923.0`` → ``12923``; empty for a guest line."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    return str(int(Decimal(raw)))


def read_online_retail(path: Path = RETAIL_FILE) -> tuple[list[_Invoice], list[RowError], int]:
    """Group the file's lines into invoices; lines that cannot be a sale are reported."""
    invoices: dict[str, _Invoice] = {}
    rejected: list[RowError] = []
    count = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            count += 1
            number = row["InvoiceNo"].strip()
            try:
                quantity = int(row["Quantity"])
                price = Decimal(row["UnitPrice"])
            except (ValueError, InvalidOperation):
                rejected.append(RowError(line_no, "Quantity", "not a number", number))
                continue
            if price <= 0:
                rejected.append(
                    RowError(
                        line_no,
                        "UnitPrice",
                        f"unit price {price} ≤ 0 is not a sale "
                        f"({(row['Description'] or 'no description').strip()})",
                        number,
                    )
                )
                continue
            if quantity == 0:
                rejected.append(RowError(line_no, "Quantity", "quantity 0", number))
                continue
            invoice = invoices.get(number)
            if invoice is None:
                invoice = invoices[number] = _Invoice(
                    number=number,
                    customer_id=_customer_key(row["CustomerID"]),
                    country=row["Country"].strip(),
                    occurred_at=datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S").replace(
                        tzinfo=RETAIL_TZ
                    ),
                    first_line=line_no,
                )
            invoice.lines.append(
                {
                    "sku": row["StockCode"].strip(),
                    "description": (row["Description"] or "").strip(),
                    "quantity": quantity,
                    "unit_price": str(price),
                }
            )
            invoice.amount += quantity * price
    return list(invoices.values()), rejected, count


def _originals(invoices: list[_Invoice]) -> dict[str, str]:
    """A cancellation's original: the customer's latest earlier invoice with the same stock
    code that still has enough left to refund (the file does not say; this is how staff
    would look for it). A cancellation without one is stored unlinked."""
    by_customer: dict[str, list[_Invoice]] = defaultdict(list)
    for inv in invoices:
        if inv.customer_id and not inv.number.startswith("C"):
            by_customer[inv.customer_id].append(inv)
    left = {inv.number: inv.amount for inv in invoices if not inv.number.startswith("C")}
    found = {}
    cancellations = [i for i in invoices if i.number.startswith("C") and i.customer_id]
    for inv in sorted(cancellations, key=lambda i: (i.occurred_at, i.number)):
        skus = {line["sku"] for line in inv.lines}
        earlier = [
            p
            for p in by_customer.get(inv.customer_id, [])
            if p.occurred_at <= inv.occurred_at
            and left[p.number] >= -inv.amount
            and skus & {line["sku"] for line in p.lines}
        ]
        if earlier:
            original = max(earlier, key=lambda p: (p.occurred_at, p.number))
            found[inv.number] = original.number
            left[original.number] += inv.amount
    return found


def _retail_rows(invoices: list[_Invoice]) -> Iterator[TransactionInput]:
    originals = _originals(invoices)
    # Purchases before cancellations, so a cancellation finds its original in the database.
    for inv in sorted(invoices, key=lambda i: (i.number.startswith("C"), i.occurred_at)):
        cancellation = inv.number.startswith("C")
        yield TransactionInput(
            external_id=inv.number,
            occurred_at=inv.occurred_at,
            amount=inv.amount,
            channel=Channel.ONLINE_MALL,
            currency="GBP",
            kind=TransactionKind.CANCELLATION if cancellation else TransactionKind.PURCHASE,
            original_external_id=originals.get(inv.number, ""),
            identities=(
                [IdentityInput("external", f"{RETAIL_SOURCE}:{inv.customer_id}", True)]
                if inv.customer_id
                else []
            ),
            # No name in the file: the customer is named after its id, marked generated.
            customer_attributes={"region": inv.country} if inv.customer_id else {},
            lines=inv.lines,
            line_number=inv.first_line,
        )


def load_online_retail(unit: BusinessUnit, path: Path = RETAIL_FILE) -> RetailLoad:
    invoices, rejected, lines = read_online_retail(path)
    result = ingest_transactions(
        business_unit=unit, source=RETAIL_SOURCE, rows=_retail_rows(invoices)
    )
    data = result.as_dict(max_errors=1000)
    data["rejected_lines"] = len(rejected)
    return RetailLoad(lines=lines, invoices=len(invoices), rejected_lines=rejected, result=data)


# --- Synthetic Chinese customers -----------------------------------------------------------

FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建国文辉力鹏宇浩然子轩欣怡梓涵"
CITIES = ["上海", "北京", "杭州", "南京", "苏州", "广州", "深圳", "成都", "武汉", "西安"]
COMPANY_WORDS = ["恒信", "华联", "启明", "远航", "中科", "金桥", "博达", "新元", "万通", "瑞丰"]
COMPANY_TRADES = ["贸易", "科技", "物流", "建材", "食品", "电子", "医药", "机械"]
# Registration authority + type, and 6-digit administrative division codes of the cities.
REGION_CODES = ["310101", "110105", "330106", "320102", "320505", "440106", "440305", "510107"]


def make_uscc(rng: random.Random) -> str:
    body = "91" + rng.choice(REGION_CODES) + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(["138", "139", "135", "136", "150", "151", "158", "186", "188", "177"])
    return prefix + f"{rng.randrange(10**8):08d}"


def _spell(rng: random.Random, number: str) -> str:
    """The same mobile written the ways POS systems and forms write it."""
    return rng.choice(
        [number, f"{number[:3]} {number[3:7]} {number[7:]}", f"+86 {number}", f"86{number}"]
    )


@dataclass
class SyntheticLoad:
    persons: int = 0
    companies: int = 0
    transactions: int = 0
    consents: int = 0
    duplicates_found: dict[str, int] = field(default_factory=dict)


def load_synthetic(
    units: dict[str, BusinessUnit],
    *,
    seed: int = SEED,
    persons: int = 300,
    companies: int = 40,
    now: datetime | None = None,
) -> SyntheticLoad:
    rng = random.Random(seed)  # noqa: S311  (demo data, reproducible on purpose)
    now = now or timezone.now()
    out = SyntheticLoad()
    category_vip, _ = TagCategory.objects.get_or_create(
        name="客户价值", defaults={"color": "orange"}
    )
    category_life, _ = TagCategory.objects.get_or_create(
        name="生活场景", defaults={"color": "green"}
    )
    tags = {
        "vip": Tag.objects.get_or_create(category=category_vip, name="VIP")[0],
        "car": Tag.objects.get_or_create(category=category_life, name="车主")[0],
        "home": Tag.objects.get_or_create(category=category_life, name="业主")[0],
    }
    rows: dict[str, list[TransactionInput]] = defaultdict(list)
    people: list[tuple[Customer, str, str]] = []

    for n in range(persons):
        name = rng.choice(FAMILY) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        mobile = _phone(rng)
        identities = [IdentityInput("mobile", _spell(rng, mobile))]
        unionid = "oU" + "".join(
            rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            for _ in range(26)
        )
        has_wechat = rng.random() < 0.7
        if has_wechat:
            identities.append(IdentityInput("wechat_unionid", unionid))
        if rng.random() < 0.4:
            identities.append(IdentityInput("email", f"C{n:04d}.Demo@Example.cn "))
        customer = resolve_customer(
            identities=identities,
            attributes={
                "display_name": name,
                "kind": "person",
                "gender": rng.choice(["female", "male"]),
                "birthday": date(rng.randint(1960, 2003), rng.randint(1, 12), rng.randint(1, 28)),
                "region": rng.choice(CITIES),
            },
            source="demo",
        ).customer
        people.append((customer, mobile, unionid))
        out.persons += 1
        idents = [IdentityInput("mobile", mobile)]
        # Supermarket: store purchases carry the phone, mini-program orders only the WeChat
        # unionid: both find the one customer (cross-channel resolution).
        for k in range(rng.randint(1, 12)):
            channel = rng.choice([Channel.STORE, Channel.WECHAT_MINI, Channel.TMALL, Channel.JD])
            wechat = channel == Channel.WECHAT_MINI and has_wechat
            rows["MART"].append(
                TransactionInput(
                    external_id=f"MART-{n:04d}-{k:02d}",
                    occurred_at=now
                    - timedelta(days=rng.randint(1, 720), minutes=rng.randint(0, 900)),
                    amount=Decimal(rng.randint(2000, 80000)) / 100,
                    channel=channel,
                    identities=[IdentityInput("wechat_unionid", unionid)] if wechat else idents,
                )
            )
        if rng.random() < 0.25:  # bought a car
            rows["AUTO"].append(
                TransactionInput(
                    external_id=f"AUTO-{n:04d}",
                    occurred_at=now - timedelta(days=rng.randint(1, 900)),
                    amount=Decimal(rng.randint(80, 450) * 1000),
                    channel=Channel.STORE,
                    identities=idents,
                    lines=[{"sku": rng.choice(["SUV-X5", "SEDAN-A4", "EV-M3"]), "quantity": 1}],
                )
            )
            add_tag(customer=customer, tag=tags["car"], rule="demo")
        if rng.random() < 0.3:  # lives in one of the group's properties
            for month in range(rng.randint(1, 12)):
                rows["PROP"].append(
                    TransactionInput(
                        external_id=f"PROP-{n:04d}-{month:02d}",
                        occurred_at=now - timedelta(days=30 * month + rng.randint(0, 5)),
                        amount=Decimal(rng.randint(300, 1200)),
                        channel=Channel.WECHAT_MINI if rng.random() < 0.6 else Channel.ERP,
                        identities=idents,
                    )
                )
            add_tag(customer=customer, tag=tags["home"], rule="demo")
        # Decide first, write after: the random sequence never depends on what is stored.
        consents = [
            (channel, rng.random() < 0.6, rng.random() < 0.2)
            for channel in (ConsentChannel.SMS, ConsentChannel.WECHAT)
        ]
        if not customer.consents.exists():
            for channel, granted, withdrawn in consents:
                # A grant at registration, and for some a withdrawal by SMS a year later.
                history = [(True, "门店登记", 400), (False, "短信退订", 30)] if granted else []
                for given, source, days_ago in history[: 2 if withdrawn else 1]:
                    record_consent(
                        customer=customer,
                        channel=channel,
                        purpose=ConsentPurpose.MARKETING,
                        granted=given,
                        source=source,
                        occurred_at=now - timedelta(days=days_ago),
                    )
                    out.consents += 1

    for n in range(companies):
        city = rng.choice(CITIES)
        name = f"{city}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_TRADES)}有限公司"
        uscc = make_uscc(rng)
        company = resolve_customer(
            identities=[
                IdentityInput("uscc", uscc, True),
                IdentityInput(
                    "mobile",
                    f"0{rng.choice(['21', '10', '571', '25'])}-{rng.randint(62000000, 68999999)}",
                ),
            ],
            attributes={
                "display_name": name,
                "kind": "organization",
                "registered_name": name,
                "region": city,
            },
            source="demo",
        ).customer
        out.companies += 1
        for k in range(rng.randint(2, 20)):
            rows["LOGI"].append(
                TransactionInput(
                    external_id=f"LOGI-{n:03d}-{k:02d}",
                    occurred_at=now - timedelta(days=rng.randint(1, 500)),
                    amount=Decimal(rng.randint(1000, 60000)),
                    channel=Channel.ERP,
                    identities=[IdentityInput("uscc", uscc)],
                )
            )
        if rng.random() < 0.3:
            add_tag(customer=company, tag=tags["vip"], rule="demo")

    for code, unit_rows in rows.items():
        result = ingest_transactions(
            business_unit=units[code], source=f"demo_{code.lower()}", rows=unit_rows
        )
        out.transactions += result.created
    # A few cancellations in the supermarket, netted against their original.
    refunds = [
        TransactionInput(
            external_id=f"MART-R-{n:04d}",
            occurred_at=now - timedelta(hours=2),
            amount=-Decimal(10),
            channel=Channel.STORE,
            kind=TransactionKind.CANCELLATION,
            original_external_id=f"MART-{n:04d}-00",
        )
        for n in range(0, persons, 25)
    ]
    out.transactions += ingest_transactions(
        business_unit=units["MART"], source="demo_mart", rows=refunds
    ).created
    _plant_duplicates(rng, people)
    out.duplicates_found = find_duplicate_candidates()
    return out


def _plant_duplicates(rng: random.Random, people: list[tuple[Customer, str, str]]) -> None:
    """What real data has: the same person registered twice with another phone number that
    ends the same way, and one record whose phone and WeChat belong to two customers."""
    for customer, mobile, _unionid in people[:12]:
        other = mobile[:3] + f"{rng.randrange(10**4):04d}" + mobile[-4:]
        resolve_customer(
            identities=[IdentityInput("mobile", other)],
            attributes={
                "display_name": customer.display_name,
                "kind": "person",
                "region": customer.region,
            },
            source="demo_legacy_pos",
        )
    planted = 0
    for customer, _mobile, _unionid in people[40:]:
        email = customer.identities.filter(type="email").first()
        if email is None or planted == 3:
            continue
        planted += 1
        resolve_customer(
            identities=[IdentityInput("email", email.value.split("@")[0] + "@qq.com")],
            attributes={"display_name": customer.display_name, "kind": "person"},
            source="demo_web_signup",
        )
    (_first, first_mobile, _), (second, _mobile, second_unionid) = people[20], people[21]
    if second.identities.filter(type="wechat_unionid", value=second_unionid).exists():
        resolve_customer(
            identities=[
                IdentityInput("mobile", first_mobile),
                IdentityInput("wechat_unionid", second_unionid),
            ],
            source="demo_wechat",
        )


def load_master_demo(units: dict[str, BusinessUnit]) -> dict[str, Any]:
    retail = load_online_retail(units["MART"])
    synthetic = load_synthetic(units)
    return {
        "online_retail": {
            "lines": retail.lines,
            "invoices": retail.invoices,
            "rejected_lines": len(retail.rejected_lines),
            **{k: v for k, v in retail.result.items() if k != "errors"},
        },
        "synthetic": {
            "persons": synthetic.persons,
            "companies": synthetic.companies,
            "transactions": synthetic.transactions,
            "consents": synthetic.consents,
            "duplicates_found": synthetic.duplicates_found,
        },
        "customers": Customer.objects.live().count(),
        "organizations": Customer.objects.live().filter(kind=CustomerKind.ORGANIZATION).count(),
        "rejected": [e.as_dict() for e in retail.rejected_lines],
    }
