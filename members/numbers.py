"""Member numbers: ten digits, the last a Luhn check digit (ISO/IEC 7812), so that a digit
typed wrong or two neighbours swapped at the desk are caught before any lookup."""

from __future__ import annotations

PREFIX = "8"  # every member number starts with 8: told apart from phones (1…) at a glance
BODY_DIGITS = 8
QR_PREFIX = "CRMM:"


def luhn_digit(body: str) -> str:
    """The check digit to append to ``body`` (digits only)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled: every second digit from the right, check excluded
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_number(value: str) -> bool:
    return (
        len(value) == len(PREFIX) + BODY_DIGITS + 1
        and value.isdigit()
        and value.startswith(PREFIX)
        and luhn_digit(value[:-1]) == value[-1]
    )


def number_from_sequence(value: int) -> str:
    """The member number of the ``value``-th issued number (a database sequence)."""
    if not 0 < value < 10**BODY_DIGITS:
        raise ValueError("member number sequence exhausted")
    body = f"{PREFIX}{value:0{BODY_DIGITS}d}"
    return body + luhn_digit(body)


def clean_number(value: str) -> str:
    """Spaces and dashes people type are dropped: ``8000 0001 2`` → ``800000012``."""
    return "".join(ch for ch in (value or "") if ch.isdigit())


def qr_value(number: str) -> str:
    """What a member's QR code holds (the desk's scanner and the POS read it)."""
    return f"{QR_PREFIX}{number}"


def number_from_qr(value: str) -> str | None:
    value = (value or "").strip()
    if not value.upper().startswith(QR_PREFIX):
        return None
    number = clean_number(value[len(QR_PREFIX) :])
    return number if is_valid_number(number) else None
