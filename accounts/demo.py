"""Demo B2B data on the demo master's organizations: accounts (a group and its subsidiary),
contacts in roles, opportunities across the stages for the demo rep and manager. Safe to run
twice: what exists is left as it is."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.demo_credit import load_credit_demo
from accounts.errors import ContactExists
from accounts.models import Account, Contact, ContactRole, Opportunity, OpportunityStage
from crm.models import BusinessUnit, Customer, CustomerKind, Identity, IdentityType, User
from crm.services import IdentityInput

SOURCE = "demo"
ACCOUNTS = [
    # (industry, size, province, city, status)
    ("K", "large", "上海", "上海", "active"),
    ("K", "medium", "上海", "上海", "active"),
    ("G", "medium", "江苏", "苏州", "prospect"),
    ("C", "large", "浙江", "杭州", "active"),
    ("F", "small", "广东", "深圳", "dormant"),
]
CONTACTS = [
    # (account index, surname+name, roles, title, department, primary)
    (0, "陈建国", ["decision_maker"], "总经理", "总经办", True),
    (0, "刘芳", ["purchaser", "finance"], "采购经理", "采购部", False),
    (1, "赵磊", ["key_user", "technical"], "IT 主管", "信息部", True),
    (1, "刘芳", ["influencer"], "顾问", "采购部", False),  # the same person at two accounts
    (2, "孙敏", ["decision_maker", "legal"], "法务总监", "法务部", True),
    (3, "周杰", ["purchaser"], "采购专员", "采购部", True),
]
OPPORTUNITIES = [
    # (account index, name, amount, stage, owner: "rep" | "manager", months ahead)
    (0, "园区车队更新 2027", "1860000.00", "negotiation", "rep", 1),
    (0, "物业服务续约", "420000.00", "proposal", "manager", 2),
    (1, "员工用车团购", "350000.00", "needs_analysis", "rep", 3),
    (2, "仓储物流外包", "980000.00", "qualification", "manager", 4),
    (3, "工厂通勤班车", "760000.00", "won", "rep", 0),
    (4, "门店配送合作", "120000.00", "lost", "rep", 1),
]


def _uscc(customer: Customer) -> str | None:
    return (
        Identity.objects.filter(customer=customer, type=IdentityType.USCC)
        .values_list("value", flat=True)
        .first()
    )


def load_accounts_demo() -> dict[str, int]:
    rep = User.objects.filter(username="rep").first()
    manager = User.objects.filter(username="manager").first()
    unit = BusinessUnit.objects.filter(code="AUTO").first()
    if rep is None or manager is None or unit is None:
        return {"accounts": 0}
    organizations = [
        c
        for c in Customer.objects.live()
        .filter(kind=CustomerKind.ORGANIZATION, identities__type=IdentityType.USCC)
        .order_by("id")[: len(ACCOUNTS)]
    ]
    roles = {r.code: r for r in ContactRole.objects.all()}
    stages = {s.code: s for s in OpportunityStage.objects.all()}
    accounts: list[Account] = []
    with transaction.atomic():
        for customer, (industry, size, province, city, status) in zip(
            organizations, ACCOUNTS, strict=False
        ):
            uscc = _uscc(customer)
            if uscc is None:
                continue
            result = services.create_account(
                uscc=uscc,
                name=customer.display_name,
                user=rep,
                business_unit=unit,
                source=SOURCE,
                fields={
                    "industry": industry,
                    "size_band": size,
                    "province": province,
                    "city": city,
                    "status": status,
                },
            )
            if result.created:
                services.assign_owner(account=result.account, owner=rep, user=manager)
            accounts.append(result.account)
        if len(accounts) >= 2:
            services.set_parent(account=accounts[1], parent=accounts[0], user=manager)
        for index, name, role_codes, title, department, primary in CONTACTS:
            if index >= len(accounts):
                continue
            number = 13900000000 + sum(ord(ch) for ch in name) * 7
            try:
                services.add_contact(
                    account=accounts[index],
                    identities=[IdentityInput(IdentityType.MOBILE, str(number))],
                    name=name,
                    user=rep,
                    business_unit=unit,
                    roles=[roles[c] for c in role_codes if c in roles],
                    title=title,
                    department=department,
                    is_primary=primary,
                    source=SOURCE,
                )
            except ContactExists:
                continue
        today = timezone.localdate()
        for index, name, amount, stage, owner, ahead in OPPORTUNITIES:
            if index >= len(accounts) or stage not in stages:
                continue
            if Opportunity.objects.filter(account=accounts[index], name=name).exists():
                continue
            who = rep if owner == "rep" else manager
            opportunity = services.create_opportunity(
                account=accounts[index],
                name=name,
                owner=who,
                business_unit=unit,
                user=who,
                amount=Decimal(amount),
                stage=stages["qualification"],
                expected_close=date(today.year, today.month, 1) + timedelta(days=31 * ahead + 14),
            )
            if stage != "qualification":
                services.move_opportunity(
                    opportunity=opportunity,
                    stage=stages[stage],
                    user=who,
                    lost_reason="客户预算取消" if stages[stage].is_lost else "",
                )
        evidence = load_credit_demo(accounts, rep)
    return {
        "credit_evidence": evidence,
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "opportunities": Opportunity.objects.count(),
    }
