"""Demo credit: evidence on the demo accounts so that their profiles land on different
ratings (AA, A, B, C), each with a score history for the chart, and one review already due
on the demo rep's home page. Safe to run twice: an account with evidence is left alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts import services
from accounts.models import Account, CreditEvidence, CreditProfile

# per demo account (by index): (kind, effect, days ago, source, value)
EVIDENCE = [
    [
        ("registration", "positive", 400, "国家企业信用信息公示系统", "注册资本 5000 万元"),
        ("payment", "positive", 90, "财务系统", "近 12 个月按时付款"),
        ("operations", "positive", 60, "年报", "营业收入增长 18%"),
        ("credit_report", "positive", 30, "人行征信报告", "无不良记录"),
    ],
    [
        ("registration", "positive", 20, "国家企业信用信息公示系统", "存续"),
        ("payment", "negative", 40, "财务系统", "2 笔发票逾期 60 天"),
    ],
    [
        ("operations", "positive", 200, "实地拜访", "仓储面积扩大一倍"),
        ("credit_report", "positive", 100, "第三方征信", "评分 82"),
    ],
    [
        ("litigation", "negative", 50, "中国执行信息公开网", "被执行人 1 条"),
        ("payment", "negative", 15, "财务系统", "欠款 36 万元"),
    ],
]
DUE_ACCOUNT = 2  # its review is already due for the demo rep


def load_credit_demo(accounts: list[Account], user: Any) -> int:
    """Record the demo evidence; returns how many evidence rows exist on these accounts."""
    today = timezone.localdate()
    fresh = []
    for index, (account, rows) in enumerate(zip(accounts, EVIDENCE, strict=False)):
        if CreditEvidence.objects.filter(account=account).exists():
            continue
        fresh.append(index)
        for kind, effect, days_ago, source, value in rows:
            services.add_credit_evidence(
                account=account,
                user=user,
                kind=kind,
                effect=effect,
                source=source,
                value=value,
                observed_on=today - timedelta(days=days_ago),
            )
    if DUE_ACCOUNT in fresh:
        CreditProfile.objects.filter(account=accounts[DUE_ACCOUNT]).update(
            next_review_on=today - timedelta(days=3)
        )
        services.flag_due_credit_reviews()
    return CreditEvidence.objects.filter(account__in=accounts).count()
