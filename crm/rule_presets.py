"""The preset library of rule tags a new installation starts with (loaded once by migration
0020; admins change or remove them afterwards, and ``install_presets`` never re-creates a
tag that exists). Names in Chinese with their English name; categories in Chinese.

Rules name fields of ``crm.rules`` (the master's, and those the accounts and members apps
register); business units are not named, since their ids differ per installation."""

from __future__ import annotations

from typing import Any

B2B = ("企业客户", "indigo")
VALUE = ("客户价值", "orange")
LIFECYCLE = ("生命周期", "green")
CHANNEL = ("触达渠道", "azure")
RISK = ("风险", "red")


def _cond(field: str, op: str, value: Any = None, **params: int) -> dict[str, Any]:
    node: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    if params:
        node["params"] = params
    return node


# (category, Chinese name, English name, description, rule)
PRESETS: list[tuple[tuple[str, str], str, str, str, dict[str, Any]]] = [
    (
        B2B,
        "制造业企业",
        "Manufacturing company",
        "行业为制造业（C）的企业客户",
        _cond("account.industry", "in", ["C"]),
    ),
    (
        B2B,
        "批发零售企业",
        "Wholesale and retail company",
        "行业为批发和零售业（F）",
        _cond("account.industry", "in", ["F"]),
    ),
    (
        B2B,
        "大型企业",
        "Large company",
        "规模 1000 人以上",
        _cond("account.size_band", "in", ["large"]),
    ),
    (
        B2B,
        "中小微企业",
        "Small or medium company",
        "规模 1000 人以下",
        _cond("account.size_band", "in", ["micro", "small", "medium"]),
    ),
    (
        B2B,
        "有决策者联系人",
        "Decision maker on file",
        "企业有在职的决策者联系人",
        _cond("account.has_decision_maker", "is_true"),
    ),
    (
        B2B,
        "信用优良",
        "Good credit (A band)",
        "信用评级 AAA、AA 或 A",
        _cond("account.credit_rating", "in", ["AAA", "AA", "A"]),
    ),
    (
        B2B,
        "信用关注",
        "Credit watch (C band)",
        "信用评级 CCC 及以下",
        _cond("account.credit_rating", "in", ["CCC", "CC", "C"]),
    ),
    (
        VALUE,
        "高价值客户",
        "High value",
        "近 365 天净消费 ≥ 10,000 元",
        _cond("purchases.spend", "gte", "10000.00", days=365),
    ),
    (
        VALUE,
        "中价值客户",
        "Medium value",
        "近 365 天净消费 2,000–9,999.99 元",
        _cond("purchases.spend", "between", ["2000.00", "9999.99"], days=365),
    ),
    (
        VALUE,
        "复购客户",
        "Repeat buyer",
        "近 365 天购买 2 次及以上",
        _cond("purchases.count", "gte", 2, days=365),
    ),
    (
        VALUE,
        "跨业务客户",
        "Cross-business customer",
        "在 2 个及以上业务单元购买过",
        _cond("purchases.unit_count", "gte", 2),
    ),
    (
        VALUE,
        "积分大户",
        "Points holder",
        "会员积分余额 ≥ 1,000",
        _cond("member.points", "gte", 1000),
    ),
    (LIFECYCLE, "潜在客户", "Prospect", "尚无完成的购买", _cond("purchases.last", "is_empty")),
    (
        LIFECYCLE,
        "新客户",
        "New customer",
        "首次购买在近 30 天内",
        _cond("purchases.first", "within_last_days", 30),
    ),
    (
        LIFECYCLE,
        "活跃客户",
        "Active customer",
        "最近一次购买在近 90 天内",
        _cond("purchases.last", "within_last_days", 90),
    ),
    (
        LIFECYCLE,
        "沉睡客户",
        "Dormant customer",
        "最近一次购买在 180–365 天前",
        {
            "all": [
                _cond("purchases.last", "not_within_last_days", 180),
                _cond("purchases.last", "within_last_days", 365),
            ]
        },
    ),
    (
        LIFECYCLE,
        "流失客户",
        "Lost customer",
        "超过 365 天没有购买",
        _cond("purchases.last", "not_within_last_days", 365),
    ),
    (
        LIFECYCLE,
        "本月新建档",
        "New this month",
        "近 30 天加入客户主数据",
        _cond("customer.created", "within_last_days", 30),
    ),
    (
        CHANNEL,
        "可短信营销",
        "SMS marketing allowed",
        "有手机号且同意短信营销",
        {
            "all": [
                _cond("customer.identities", "has_any", ["mobile"]),
                _cond("customer.consents", "has_any", ["sms:marketing"]),
            ]
        },
    ),
    (
        CHANNEL,
        "可微信触达",
        "Reachable on WeChat",
        "有微信身份且同意微信营销",
        {
            "all": [
                _cond("customer.identities", "has_any", ["wechat_unionid", "wechat_openid"]),
                _cond("customer.consents", "has_any", ["wechat:marketing"]),
            ]
        },
    ),
    (
        CHANNEL,
        "可邮件营销",
        "E-mail marketing allowed",
        "有邮箱且同意邮件营销",
        {
            "all": [
                _cond("customer.identities", "has_any", ["email"]),
                _cond("customer.consents", "has_any", ["email:marketing"]),
            ]
        },
    ),
    (RISK, "黑名单客户", "Blacklisted", "在集团黑名单中", _cond("customer.blacklisted", "is_true")),
]


def install_presets(category_model: Any, tag_model: Any, rule_model: Any) -> int:
    """Create the preset tags that do not exist yet, each with its rule; returns how many
    (the models are passed in, so that a migration can give its historical ones)."""
    created = 0
    for (category_name, color), name, name_en, description, rule in PRESETS:
        category, _new = category_model.objects.get_or_create(
            name=category_name, defaults={"color": color}
        )
        if tag_model.objects.filter(category=category, name=name).exists():
            continue
        tag = tag_model.objects.create(
            category=category, name=name, name_en=name_en, description=description
        )
        rule_model.objects.create(tag=tag, rule=rule, is_active=True)
        created += 1
    return created
