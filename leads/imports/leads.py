"""The lead importer: one row per lead, taken in through ``leads.services.intake_lead`` in the
importing unit, exactly as a form or the API would: identities normalized (an invalid phone or
e-mail is a row error naming its column), matched against the customer master (existing
customer, blacklist → quarantined) and against the unit's open leads (a row whose identity
an open lead already has, in the database or on an earlier line, is a duplicate: counted,
not created). A dry run is the import rolled back, so its counts are the import's."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.imports.common import parse_choice
from crm.imports.columns import ColumnSet
from crm.imports.files import cell_text
from crm.imports.records import RecordContext, RecordImporter, RowProblem
from leads.models import LeadKind, LeadPool, LeadSource
from leads.services import LeadInput, intake_lead, routing_rules

KIND = "leads"
LEAD_COLUMNS = ColumnSet(
    {
        "name": ("姓名", "联系人", "客户姓名", "contact", "contact_name", "full_name"),
        "company": ("公司", "公司名称", "企业名称", "单位", "company_name", "organization"),
        "kind": ("类型", "客户类型", "线索类型", "type"),
        "title": ("职务", "职位", "job_title", "position"),
        "phone": ("手机", "手机号", "电话", "联系电话", "mobile", "tel", "telephone"),
        "email": ("邮箱", "电子邮箱", "e-mail", "mail"),
        "wechat": ("微信", "微信号", "wechat_id", "weixin"),
        "region": ("地区", "区域", "省市", "area"),
        "industry": ("行业", "所属行业", "sector"),
        "source": ("来源", "线索来源", "lead_source"),
        "channel": ("渠道", "来源渠道", "media"),
        "campaign_code": ("活动代码", "活动编号", "campaign", "campaign_id"),
        "score": ("评分", "分数", "lead_score"),
        "pool": ("线索池", "分配池", "lead_pool"),
        "note": ("备注", "说明", "remark", "comment"),
        "external_ref": ("外部编号", "来源编号", "线索编号", "external_id", "ref"),
    },
    required=("phone",),
    labels={
        "name": gettext_lazy("Contact name"),
        "company": gettext_lazy("Company"),
        "kind": gettext_lazy("Person or company"),
        "title": gettext_lazy("Job title"),
        "phone": gettext_lazy("Phone"),
        "email": gettext_lazy("E-mail"),
        "wechat": gettext_lazy("WeChat"),
        "region": gettext_lazy("Region"),
        "industry": gettext_lazy("Industry"),
        "source": gettext_lazy("Source"),
        "channel": gettext_lazy("Channel"),
        "campaign_code": gettext_lazy("Campaign code"),
        "score": gettext_lazy("Score"),
        "pool": gettext_lazy("Pool"),
        "note": gettext_lazy("Note"),
        "external_ref": gettext_lazy("Reference"),
    },
    descriptions={
        "name": gettext_lazy("The person to talk to; the name or the company is required."),
        "company": gettext_lazy("The company's name: the lead is a company lead."),
        "kind": gettext_lazy("person or company (个人/公司); by default from the company column."),
        "phone": gettext_lazy(
            "A mobile or landline number, any spelling (138 0013 8000, +86…). A row needs a "
            "phone, an e-mail or a WeChat id."
        ),
        "email": gettext_lazy("An e-mail address."),
        "wechat": gettext_lazy("A WeChat id."),
        "source": gettext_lazy("Web form, trade show, referral, … (empty: import)."),
        "channel": gettext_lazy("The channel the spend is recorded under, e.g. 汽车之家."),
        "campaign_code": gettext_lazy("The campaign code the spend is recorded under."),
        "score": gettext_lazy("0 to 100."),
        "pool": gettext_lazy(
            "A pool of the importing unit by name (empty: the unit's routing rules decide, "
            "else the public pool)."
        ),
        "external_ref": gettext_lazy("The lead's id in the file's system."),
    },
)


def parse_lead(values: dict[str, Any], ctx: RecordContext) -> tuple[LeadInput, LeadPool | None]:
    def text(column: str) -> str:
        return " ".join(cell_text(values.get(column)).split())

    pool = None
    pool_name = text("pool")
    if pool_name:
        pools = ctx.cache.setdefault("pools", {})
        if pool_name not in pools:
            pools[pool_name] = LeadPool.objects.filter(
                business_unit=ctx.business_unit, name=pool_name, is_active=True
            ).first()
        pool = pools[pool_name]
        if pool is None:
            raise RowProblem(
                "pool", _("This unit has no active pool called “%(name)s”.") % {"name": pool_name}
            )
    score = text("score")
    if score and not score.isdigit():
        raise RowProblem("score", _("The score is a whole number from 0 to 100."))
    data = LeadInput(
        name=text("name"),
        company=text("company"),
        kind=parse_choice(values, "kind", LeadKind, ctx) or "",
        title=text("title"),
        phone=text("phone"),
        email=text("email"),
        wechat=text("wechat"),
        region=text("region"),
        industry=text("industry"),
        source=parse_choice(values, "source", LeadSource, ctx) or LeadSource.IMPORT,
        channel=text("channel"),
        campaign_code=text("campaign_code"),
        score=int(score) if score else 0,
        note=cell_text(values.get("note")).strip(),
        external_ref=text("external_ref"),
    )
    return data, pool


def apply_lead(parsed: tuple[LeadInput, LeadPool | None], ctx: RecordContext) -> str:
    data, pool = parsed
    if pool is None and "routing_rules" not in ctx.cache:  # read once for the whole file
        ctx.cache["routing_rules"] = routing_rules(ctx.business_unit)
    return intake_lead(
        business_unit=ctx.business_unit,
        data=data,
        actor=ctx.user,
        pool=pool,
        rules=ctx.cache.get("routing_rules"),
    ).outcome


def template_rows() -> list[dict[str, str]]:
    return [
        {
            "name": _("Han Meimei"),
            "phone": "138 0013 8000",
            "email": "han@example.com",
            "region": _("Shanghai"),
            "source": "trade_show",
            "channel": _("Auto show"),
            "campaign_code": "AUTO-2026-SPRING",
            "score": "60",
        },
        {
            "name": _("Li Lei"),
            "company": _("Star Logistics Ltd."),
            "title": _("Purchasing manager"),
            "phone": "021 6212 3456",
            "source": "referral",
            "score": "80",
        },
    ]


LEAD_IMPORTER = RecordImporter(
    kind=KIND,
    label=gettext_lazy("Import leads"),
    columns=LEAD_COLUMNS,
    parse=parse_lead,
    apply=apply_lead,
    outcomes={
        "created": gettext_lazy("Leads created"),
        "existing_customer": gettext_lazy("Leads of existing customers"),
        "quarantined": gettext_lazy("Quarantined (blacklisted customer)"),
        "duplicate": gettext_lazy("Duplicates of open leads (noted, not created)"),
    },
    permissions=("leads.add_lead",),
    key_column="name",
    template_rows=template_rows,
    field_columns={"name": "name"},
    job_kind="leads.import_leads",
)
