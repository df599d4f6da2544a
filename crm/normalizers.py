"""Normalizers for identities: one spelling per real-world identifier.

Every identity is stored in its normalized form, so that the same phone number typed three
ways (``138 0013 8000``, ``+86 13800138000``, ``8613800138000``) is one ``(type, value)`` and
finds the one customer that owns it. Invalid input raises ``InvalidIdentity`` with the field
and a reason a person can act on; nothing is guessed.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from crm.errors import DomainError

DEFAULT_REGION = "CN"


class InvalidIdentity(DomainError):
    code = "invalid_identity"
    status = 422


# --- Phones -------------------------------------------------------------------------------

_PHONE_CHARS = re.compile(r"^[0-9+()\-.\s/]+$")


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION, field: str = "mobile") -> str:
    """E.164 (``+8613800138000``). Mobiles and landlines; anything else is refused.

    Parsing costs tens of microseconds; an import repeats the same numbers, so valid results
    are cached per process (refusals are not: they raise)."""
    return _normalize_phone(raw, region, field)


@lru_cache(maxsize=65536)
def _normalize_phone(raw: str, region: str, field: str) -> str:
    value = (raw or "").strip()
    if not value:
        raise InvalidIdentity(_("Enter a phone number."), field=field)
    if not _PHONE_CHARS.match(value):
        raise InvalidIdentity(
            _("This is not a phone number: only digits, spaces, + ( ) - are allowed."),
            field=field,
        )
    digits = re.sub(r"\D", "", value)
    # 8613800138000: a Chinese number written with its country code but without the "+".
    if not value.startswith("+") and digits.startswith("86") and len(digits) == 13:
        value = "+" + digits
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            message = _("This phone number is too long.")
        else:
            message = _("This is not a phone number.")
        raise InvalidIdentity(message, field=field) from exc
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        national = str(number.national_number)
        if number.country_code == 86 and national.startswith("1") and len(national) != 11:
            # A Chinese mobile has 11 digits; say which way it is off.
            reason = (
                phonenumbers.ValidationResult.TOO_SHORT
                if len(national) < 11
                else phonenumbers.ValidationResult.TOO_LONG
            )
        if reason == phonenumbers.ValidationResult.TOO_SHORT:
            message = _("This phone number is too short.")
        elif reason == phonenumbers.ValidationResult.TOO_LONG:
            message = _("This phone number is too long.")
        else:
            message = _("This is not a valid phone number.")
        raise InvalidIdentity(message, field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """``+8613800138000`` → ``138****8000``, ``+862162123456`` → ``021****3456``; other
    numbers keep their country code and last four digits."""
    if e164.startswith("+86"):
        national = e164[3:]
        if not (len(national) == 11 and national.startswith("1")):  # a landline: 010…, 021…
            national = "0" + national
        return f"{national[:3]}****{national[-4:]}"
    if len(e164) <= 4:
        return "****"
    return f"{e164[:3]}****{e164[-4:]}"


# --- Masking: the one rule for every screen, the admin and the API ---------------------------
#
# An identity type is *personal* when it points at one person, directly or through another
# system; what is personal is masked everywhere (web screens, duplicate review, admin, API)
# unless a user holding ``crm.reveal_customer_pii`` reveals it on purpose, which is audited
# (``services.reveal_identities``, one ``PiiAccess`` row per reveal). Search follows the same
# line (``selectors.customer_search.parse_search``): anybody may look a personal identity up by its
# full value (or a phone by the last four digits the mask shows anyway); fragments inside
# personal values are searched only for users who may reveal, and audited.
#
# - ``mobile`` (personal, ``138****8000``): reaches the person.
# - ``email`` (personal, ``w***@example.com``): reaches the person.
# - ``wechat_unionid`` (personal, ``oAbC***yz``): follows the person across the group's apps.
# - ``wechat_openid`` (personal, ``oAbC***yz``): the person in one official account or app.
# - ``external`` (personal, ``erp:****024``): a member card, shop account or ERP customer id
#   is the person in another system; the source is shown, and at most half of the id's end.
# - ``uscc`` (not personal, in full): a company's registration code, printed on its licence
#   and public in the national enterprise credit publicity system.
#
# Callers ask ``Identity.is_pii`` / ``Identity.masked_value`` (or ``is_personal_identity`` and
# ``mask_identity`` with a type and a value); nobody writes their own mask.

PERSONAL_IDENTITY_TYPES = frozenset(
    {"mobile", "email", "wechat_unionid", "wechat_openid", "external"}
)


def is_personal_identity(type_: str) -> bool:
    """Is an identity of this type masked unless revealed? (the table above)"""
    return type_ in PERSONAL_IDENTITY_TYPES


def _mask_end(text: str) -> str:
    """``****`` and at most the last four characters, never more than half of ``text``."""
    keep = min(4, len(text) // 2)
    return "****" + (text[-keep:] if keep else "")


def mask_identity(type_: str, value: str) -> str:
    """What anybody may see of an identity: personal types masked, the others as they are."""
    if type_ == "mobile":
        return mask_phone(value)
    if type_ == "email":
        local, _at, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if type_ in ("wechat_unionid", "wechat_openid"):
        return f"{value[:4]}***{value[-2:]}" if len(value) >= 12 else _mask_end(value)
    if type_ == "external":
        source, sep, ident = value.partition(":")
        return f"{source}:{_mask_end(ident)}" if sep else _mask_end(value)
    if is_personal_identity(type_):  # a personal type without its own mask yet: all hidden
        return "****"
    return value


def display_phone(e164: str) -> str:
    """National format for Chinese numbers, international for the rest."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- E-mail -------------------------------------------------------------------------------

_email_validator = EmailValidator()


def normalize_email(raw: str, *, field: str = "email") -> str:
    value = (raw or "").strip().lower()
    if not value:
        raise InvalidIdentity(_("Enter an e-mail address."), field=field)
    try:
        _email_validator(value)
    except ValidationError as exc:
        raise InvalidIdentity(_("This is not a valid e-mail address."), field=field) from exc
    return value


# --- USCC (统一社会信用代码, GB 32100-2015) --------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC computed from the first 17 (GB 32100-2015, mod 31)."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str, *, field: str = "uscc") -> str:
    value = re.sub(r"[\s-]", "", raw or "").upper()
    if len(value) != 18:
        raise InvalidIdentity(
            _("A unified social credit code has 18 characters; “%(value)s” has %(n)d.")
            % {"value": value[:30], "n": len(value)},
            field=field,
        )
    bad = sorted({ch for ch in value if ch not in USCC_ALPHABET})
    if bad:
        raise InvalidIdentity(
            _("A unified social credit code cannot contain %(chars)s.") % {"chars": ", ".join(bad)},
            field=field,
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdentity(
            _("“%(value)s” fails the check character (expected %(expected)s at the end).")
            % {"value": value, "expected": expected},
            field=field,
        )
    return value


# --- WeChat ids and external ids ------------------------------------------------------------

_WECHAT_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def normalize_wechat_id(raw: str, *, field: str = "wechat") -> str:
    """WeChat openids and unionids are case-sensitive: trimmed, never lowercased."""
    value = (raw or "").strip()
    if not _WECHAT_ID.match(value):
        raise InvalidIdentity(
            _("“%(value)s” is not a WeChat id (6-64 letters, digits, _ or -).")
            % {"value": value[:70]},
            field=field,
        )
    return value


def normalize_external_id(raw: str, *, field: str = "external") -> str:
    """``<source>:<id in that source>``, e.g. ``online_retail:12923``; the source lowercased."""
    value = (raw or "").strip()
    source, sep, ident = value.partition(":")
    source, ident = source.strip().lower(), ident.strip()
    if not sep or not _SOURCE.match(source) or not ident or len(ident) > 150:
        raise InvalidIdentity(
            _("“%(value)s” is not an external id: write it as source:id, e.g. erp:C-1024.")
            % {"value": value[:60]},
            field=field,
        )
    return f"{source}:{ident}"


def normalize_name(raw: str) -> str:
    """Key for duplicate detection: lowercased, without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", (raw or "").lower())
