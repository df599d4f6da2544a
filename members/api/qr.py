"""What a member's QR code holds.

Two forms, both read by ``member_from_key``:

- ``CRMM:<number>`` (``members.numbers.qr_value``): printed on a membership card. It finds
  the member only for callers who may see that member anyway (a partner key: members its
  unit enrolled or served), like typing the number.
- ``CRMM:<number>:<timestamp>:<signature>`` (``signed_qr_value``): shown by the member's
  app, signed by the server, valid for ``SIGNED_QR_MAX_AGE`` seconds. Showing it at a
  counter is the member's own act, so it finds the member at any unit of the group (that is
  how points earned at one unit are spent at another); an expired or forged one finds
  nobody (404 ``not_a_member``), so a copied code cannot be replayed later.
"""

from __future__ import annotations

from django.core import signing

from members.numbers import QR_PREFIX, is_valid_number

SIGNED_QR_MAX_AGE = 300  # seconds
_SALT = "members.qr"


def signed_qr_value(number: str) -> str:
    return QR_PREFIX + signing.TimestampSigner(salt=_SALT).sign(number)


def is_signed_qr(value: str) -> bool:
    text = (value or "").strip()
    return text.upper().startswith(QR_PREFIX) and text[len(QR_PREFIX) :].count(":") == 2


def number_from_signed_qr(value: str, max_age: int = SIGNED_QR_MAX_AGE) -> str | None:
    """The member number of a valid, fresh signed QR value, else ``None``."""
    if not is_signed_qr(value):
        return None
    try:
        number = signing.TimestampSigner(salt=_SALT).unsign(
            value.strip()[len(QR_PREFIX) :], max_age=max_age
        )
    except signing.BadSignature:  # SignatureExpired included
        return None
    return number if is_valid_number(number) else None
