"""The demo group: four business units and one user per role (``manage.py load_demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from crm.models import BusinessUnit, Industry, User
from crm.roles import (
    ADMIN,
    AUDITOR,
    DATA_STEWARD,
    MARKETING,
    MEMBER_SERVICE,
    SALES_MANAGER,
    SALES_REP,
    STAFF_ROLES,
)

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105  (printed by make run, documented)

UNITS = [
    ("AUTO", "星辰汽车销售服务有限公司", Industry.AUTOMOTIVE),
    ("PROP", "星辰物业管理有限公司", Industry.PROPERTY),
    ("MART", "星辰超市连锁有限公司", Industry.RETAIL),
    ("LOGI", "星辰物流有限公司", Industry.LOGISTICS),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    last_name: str
    first_name: str
    units: tuple[str, ...]
    email: str


USERS = [
    DemoUser("admin", ADMIN, "张", "建国", ("AUTO", "PROP", "MART", "LOGI"), "admin@example.com"),
    DemoUser("manager", SALES_MANAGER, "李", "娜", ("AUTO", "PROP"), "manager@example.com"),
    DemoUser("rep", SALES_REP, "王", "伟", ("AUTO",), "rep@example.com"),
    DemoUser("service", MEMBER_SERVICE, "刘", "洋", ("MART", "PROP"), "service@example.com"),
    DemoUser(
        "marketing",
        MARKETING,
        "陈",
        "静",
        ("AUTO", "PROP", "MART", "LOGI"),
        "marketing@example.com",
    ),
    DemoUser(
        "steward",
        DATA_STEWARD,
        "孙",
        "丽",
        ("AUTO", "PROP", "MART", "LOGI"),
        "steward@example.com",
    ),
    DemoUser(
        "auditor", AUDITOR, "赵", "敏", ("AUTO", "PROP", "MART", "LOGI"), "auditor@example.com"
    ),
]


@transaction.atomic
def load_platform_demo() -> dict[str, int]:
    """Create the demo units and users; running it again changes nothing."""
    units = {}
    for code, name, industry in UNITS:
        units[code], _ = BusinessUnit.objects.get_or_create(
            code=code, defaults={"name": name, "industry": industry}
        )
    created_users = 0
    for spec in USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": spec.email,
                "is_staff": spec.role in STAFF_ROLES,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created_users += 1
        user.groups.add(Group.objects.get(name=spec.role))
        user.business_units.add(*(units[c] for c in spec.units))
    return {"business_units": len(units), "users_created": created_users}
