"""The member importer: one row per person, found or created on the customer master by
phone or WeChat id (``resolve_customer`` through ``members.services.enrol_member``), enrolled
once in the programme, with an optional level and an opening points balance.

What a row does:

- a person who is not a member yet is enrolled in the row's unit (its code or name; empty:
  the importing unit), channel (empty: store) and enrolment time (empty: now); an imported
  member gets no enrolment bonus (the opening balance is what the old programme owed);
- a person already a member keeps its membership (never enrolled twice): the row may add its
  opening balance and raise its level, nothing else;
- the level (code or name) is set when it is higher than the member's; an import never
  lowers a level (downgrades happen only at the periodic evaluation);
- the opening balance is an ``adjust`` entry written by
  ``members.services.apply_adjustment`` (the ledger's own rules: the member's lock, the
  lot with its expiry, the balance row, the timeline, a blacklisted customer refused). It is
  keyed by the member and the import's source reference (the legacy member number column,
  or the member's own number): a second import of the same file grants nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.imports.columns import ColumnSet
from crm.imports.files import cell_text
from crm.imports.numbers import parse_amount_cell
from crm.imports.records import RecordContext, RecordImporter, RowProblem
from crm.imports.rows import parse_occurred_at
from crm.models import BusinessUnit, IdentityType
from crm.normalizers import InvalidIdentity, normalize_name, normalize_phone, normalize_wechat_id
from crm.services import IdentityInput
from members import services
from members.models import EnrolmentChannel, EntryKind, Level, Member, PointsEntry
from members.services.ledger import lock_member
from members.services.levels import change_level

KIND = "members"
OPENING_REASON = "opening balance (import)"
REFERENCE_PREFIX = "import-opening:"
MAX_OPENING_POINTS = 100_000_000

MEMBER_COLUMNS = ColumnSet(
    {
        "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "telephone"),
        "wechat": ("微信", "微信号", "微信id", "微信unionid", "unionid", "wechat_id"),
        "name": ("姓名", "会员姓名", "客户姓名", "member_name", "customer_name"),
        "business_unit": ("入会单位", "入会业务单元", "业务单元", "门店单位", "unit", "bu"),
        "channel": ("渠道", "入会渠道", "enrolment_channel"),
        "enrolled_at": ("入会时间", "入会日期", "注册时间", "enrolled", "join_date", "joined_at"),
        "level": ("等级", "会员等级", "级别", "tier"),
        "points": ("积分", "积分余额", "期初积分", "当前积分", "opening_points", "balance"),
        "expires_at": ("积分到期日", "到期日", "积分有效期", "过期时间", "expiry", "expiry_date"),
        "legacy_number": ("原会员号", "原会员编号", "会员卡号", "卡号", "legacy_id", "card_no"),
    },
    required=(),
    labels={
        "phone": gettext_lazy("Phone"),
        "wechat": gettext_lazy("WeChat id"),
        "name": gettext_lazy("Name"),
        "business_unit": gettext_lazy("Enrolling unit"),
        "channel": gettext_lazy("Channel"),
        "enrolled_at": gettext_lazy("Enrolled"),
        "level": gettext_lazy("Level"),
        "points": gettext_lazy("Opening points balance"),
        "expires_at": gettext_lazy("Points expiry date"),
        "legacy_number": gettext_lazy("Previous member number"),
    },
    descriptions={
        "phone": gettext_lazy("Mobile; +86 is assumed. Phone or WeChat id is required."),
        "wechat": gettext_lazy("The WeChat unionid, when there is no phone."),
        "name": gettext_lazy("The person's name; a person the master knows keeps its name."),
        "business_unit": gettext_lazy(
            "The code or name of the unit the member enrolled at; empty: the importing unit."
        ),
        "channel": gettext_lazy("store, app, tmall, jd… or 门店, 小程序…; empty: store."),
        "enrolled_at": gettext_lazy("Date (and time) of enrolment; empty: now."),
        "level": gettext_lazy(
            "Level code or name (金卡会员…); a member's level is only ever raised by an import."
        ),
        "points": gettext_lazy(
            "Whole points carried over from the previous programme, written once per member."
        ),
        "expires_at": gettext_lazy(
            "Last day the opening points are valid; empty: the unit's validity period."
        ),
        "legacy_number": gettext_lazy(
            "The number in the previous programme: keys the opening balance so that importing "
            "the file again grants nothing."
        ),
    },
)
_FIELD_COLUMNS = {
    "mobile": "phone",
    "identities": "phone",
    "channel": "channel",
    "points": "points",
    "expires_at": "expires_at",
    "reference": "legacy_number",
}
# Short names people write for the channels (besides the codes and the labels)
_CHANNEL_NAMES = {
    "门店": EnrolmentChannel.STORE,
    "线下": EnrolmentChannel.STORE,
    "小程序": EnrolmentChannel.WECHAT_MINI,
    "微信": EnrolmentChannel.WECHAT_MINI,
    "商城": EnrolmentChannel.ONLINE_MALL,
    "天猫": EnrolmentChannel.TMALL,
    "京东": EnrolmentChannel.JD,
}


@dataclass
class MemberRow:
    identities: list[IdentityInput]
    name: str
    business_unit: BusinessUnit
    channel: str
    enrolled_at: datetime | None
    level: Level | None
    points: int
    expires_at: datetime | None
    legacy_number: str


def _units(ctx: RecordContext) -> dict[str, BusinessUnit]:
    units = ctx.cache.get("units")
    if units is None:
        units = {}
        for unit in BusinessUnit.objects.visible_to(ctx.user).filter(is_active=True):
            units.setdefault(normalize_name(unit.code), unit)
            units.setdefault(normalize_name(unit.name), unit)
        ctx.cache["units"] = units
    return units


def _levels(ctx: RecordContext) -> dict[str, Level]:
    levels = ctx.cache.get("levels")
    if levels is None:
        levels = {}
        for level in Level.objects.order_by("rank"):
            levels.setdefault(normalize_name(level.code), level)
            levels.setdefault(normalize_name(level.name), level)
        ctx.cache["levels"] = levels
    return levels


def _channel(text: str) -> str:
    if not text:
        return EnrolmentChannel.STORE
    key = normalize_name(text)
    for value, label in EnrolmentChannel.choices:
        if key in (normalize_name(value), normalize_name(str(label))):
            return value
    for name, value in _CHANNEL_NAMES.items():
        if key == normalize_name(name):
            return value
    choices = ", ".join(str(label) for _v, label in EnrolmentChannel.choices)
    raise RowProblem(
        "channel",
        _("“%(value)s” is not one of: %(choices)s.") % {"value": text[:40], "choices": choices},
    )


def _moment(values: dict[str, Any], column: str, ctx: RecordContext) -> datetime | None:
    value = values.get(column)
    if not cell_text(value):
        return None
    try:
        return parse_occurred_at(value, ctx.options.zone)
    except ValueError:
        raise RowProblem(column, _("Not a date: write 2024-03-01 or 2024/3/1.")) from None


def _expiry(values: dict[str, Any], ctx: RecordContext) -> datetime | None:
    """The opening points are valid through the day written: they expire at the start of
    the next day (a time written with the date is taken as it is)."""
    moment = _moment(values, "expires_at", ctx)
    if moment is None:
        return None
    if moment.timetz().replace(tzinfo=None) == time():
        moment = moment + timedelta(days=1)
    return moment


def _points(values: dict[str, Any], ctx: RecordContext) -> int:
    value = values.get("points")
    if not cell_text(value):
        return 0
    try:
        amount = parse_amount_cell(value, ctx.options.decimal_mark)
    except (ValueError, ArithmeticError):
        amount = None
    if amount is None or amount != amount.to_integral_value():
        raise RowProblem("points", _("Write a whole number of points."))
    if amount < 0:
        raise RowProblem("points", _("An opening balance cannot be negative."))
    if amount > MAX_OPENING_POINTS:
        raise RowProblem("points", _("More points than any member can hold."))
    return int(amount)


def parse_member(values: dict[str, Any], ctx: RecordContext) -> MemberRow:
    text = {column: cell_text(values.get(column)) for column in MEMBER_COLUMNS.columns}
    identities: list[IdentityInput] = []
    try:
        if text["phone"]:
            phone = normalize_phone(text["phone"], field="phone")
            identities.append(IdentityInput(IdentityType.MOBILE, phone))
        if text["wechat"]:
            wechat = normalize_wechat_id(text["wechat"], field="wechat")
            identities.append(IdentityInput(IdentityType.WECHAT_UNIONID, wechat))
    except InvalidIdentity as exc:
        raise RowProblem(exc.field or "phone", exc.message) from exc
    if not identities:
        raise RowProblem("phone", _("Give the member's phone or WeChat id."))
    unit = ctx.business_unit
    if text["business_unit"]:
        found = _units(ctx).get(normalize_name(text["business_unit"]))
        if found is None:
            raise RowProblem(
                "business_unit",
                _("No unit of yours is called “%(name)s”.") % {"name": text["business_unit"][:40]},
            )
        unit = found
    level = None
    if text["level"]:
        level = _levels(ctx).get(normalize_name(text["level"]))
        if level is None:
            names = ", ".join(sorted({lv.name for lv in _levels(ctx).values()}))
            raise RowProblem(
                "level",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": text["level"][:40], "choices": names},
            )
    enrolled_at = _moment(values, "enrolled_at", ctx)
    if enrolled_at is not None and enrolled_at > timezone.now():
        raise RowProblem("enrolled_at", _("The enrolment date is in the future."))
    points = _points(values, ctx)
    expires_at = _expiry(values, ctx)
    if expires_at is not None and not points:
        raise RowProblem("expires_at", _("An expiry date needs an opening balance."))
    legacy = text["legacy_number"][:60]
    return MemberRow(
        identities=identities,
        name=" ".join(text["name"].split())[:200],
        business_unit=unit,
        channel=_channel(text["channel"]),
        enrolled_at=enrolled_at,
        level=level,
        points=points,
        expires_at=expires_at,
        legacy_number=legacy,
    )


def opening_reference(member: Member, legacy_number: str) -> str:
    return REFERENCE_PREFIX + (legacy_number or member.number)


def apply_member(row: MemberRow, ctx: RecordContext) -> str:
    enrolment = services.enrol_member(
        business_unit=row.business_unit,
        channel=row.channel,
        identities=row.identities,
        attributes={"display_name": row.name} if row.name else {},
        actor=ctx.user,
        now=row.enrolled_at,
        enrolment_bonus=False,
    )
    member = enrolment.member
    changed = False
    if row.level is not None:
        locked = lock_member(member)
        current = locked.level.rank if locked.level_id is not None else -1
        if row.level.rank > current:
            change_level(locked, row.level, reason="manual", at=timezone.now(), actor=ctx.user)
            changed = True
        member = locked
    if row.points:
        reference = opening_reference(member, row.legacy_number)
        granted = PointsEntry.objects.filter(
            member_id=member.pk, kind=EntryKind.ADJUST, reference=reference
        ).exists()
        if not granted:
            result = services.apply_adjustment(
                member=member,
                business_unit=row.business_unit,
                points=row.points,
                reason=OPENING_REASON,
                actor=ctx.user,
                reference=reference,
                expires_at=row.expires_at,
            )
            changed = changed or not result.replayed
    if enrolment.created:
        return "enrolled"
    return "updated" if changed else "unchanged"


def template_rows() -> list[dict[str, str]]:
    return [
        {
            "phone": "13800138000",
            "name": _("Wang Fang"),
            "channel": "store",
            "enrolled_at": "2021-05-01",
            "level": "silver",
            "points": "1200",
            "expires_at": "2027-12-31",
            "legacy_number": "A0001",
        },
        {
            "phone": "13900139000",
            "name": _("Li Qiang"),
            "channel": "tmall",
            "enrolled_at": "2023-11-11",
            "points": "300",
            "legacy_number": "A0002",
        },
    ]


MEMBER_IMPORTER = RecordImporter(
    kind=KIND,
    label=gettext_lazy("Import members"),
    columns=MEMBER_COLUMNS,
    parse=parse_member,
    apply=apply_member,
    outcomes={
        "enrolled": gettext_lazy("Members enrolled"),
        "updated": gettext_lazy("Members already enrolled, updated"),
        "unchanged": gettext_lazy("Unchanged (already as in the file)"),
    },
    permissions=("members.add_member", "members.adjust_points"),
    key_column="name",
    template_rows=template_rows,
    field_columns=_FIELD_COLUMNS,
    job_kind="members.import_members",
)
