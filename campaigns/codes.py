"""Coupon codes: unguessable, easy to read aloud and type, with a check character.

- 13 random characters from ``secrets`` over a 31-character alphabet without the ambiguous
  ``0 O 1 I L`` (31**13 ≈ 2**64.4: more than 64 bits), then one check character.
- The check character makes ``sum(weight_i × value_i) ≡ 0 (mod 31)`` with the weights
  ``2, 3, …, 14`` for the random part and ``1`` for the check character. 31 is prime and every
  weight is non-zero modulo 31, so any single-character substitution changes the sum and is
  caught; two neighbours swapped change it by ``±(a − b)`` (weights differ by 1, or 13 for the
  last pair), also caught. A typo is refused before any database lookup.
- Shown in groups of four (``ABCD-EFGH-JKMN-PQ``); typed with or without hyphens and spaces,
  in either case.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, a prime
RANDOM_LENGTH = 13
CODE_LENGTH = RANDOM_LENGTH + 1
_SPACE = BASE**RANDOM_LENGTH
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(range(2, RANDOM_LENGTH + 2))

assert BASE == 31 and _SPACE > 2**64


def check_character(body: str) -> str:
    """The check character of the 13-character random part ``body``."""
    total = sum(w * _VALUE[c] for w, c in zip(_WEIGHTS, body, strict=True))
    return ALPHABET[(-total) % BASE]


# Two characters at a time (31² = 961): the pair's text and its weighted value per position.
_PAIR = BASE * BASE
_PAIRS = [ALPHABET[i % BASE] + ALPHABET[i // BASE] for i in range(_PAIR)]
_PAIR_SUMS = [
    [_WEIGHTS[2 * p] * (i % BASE) + _WEIGHTS[2 * p + 1] * (i // BASE) for i in range(_PAIR)]
    for p in range(RANDOM_LENGTH // 2)
]


def _code(number: int) -> str:
    """The code whose random part encodes ``number`` (< 31**13), little end first."""
    parts = []
    total = 0
    for sums in _PAIR_SUMS:
        number, pair = divmod(number, _PAIR)
        parts.append(_PAIRS[pair])
        total += sums[pair]
    parts.append(ALPHABET[number])  # the 13th character
    total += _WEIGHTS[-1] * number
    parts.append(ALPHABET[(-total) % BASE])
    return "".join(parts)


def new_code() -> str:
    """A fresh code (14 characters, no separators) from the operating system's CSPRNG."""
    return _code(secrets.randbelow(_SPACE))


_MASK = (1 << 65) - 1  # 31**13 < 2**65: draw 65 bits, keep the draws below 31**13 (68 %)


def new_codes(count: int) -> list[str]:
    """``count`` fresh codes (a bulk issue's batch) from one read of the CSPRNG; uniqueness
    is the database's job (and a retry's)."""
    codes: list[str] = []
    while len(codes) < count:
        wanted = count - len(codes)
        pool = secrets.token_bytes(9 * (wanted + wanted // 2 + 8))
        for start in range(0, len(pool), 9):
            number = int.from_bytes(pool[start : start + 9], "little") & _MASK
            if number < _SPACE:
                codes.append(_code(number))
                if len(codes) == count:
                    break
    return codes


def normalize(raw: str) -> str:
    """What a person typed, without separators, in capitals."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -_\t\r\n")


def is_well_formed(code: str) -> bool:
    """The right length and only characters of the alphabet (``code`` normalized)."""
    return len(code) == CODE_LENGTH and all(c in _VALUE for c in code)


def has_valid_check(code: str) -> bool:
    """The check character matches (``code`` normalized and well formed)."""
    return sum(w * _VALUE[c] for w, c in zip((*_WEIGHTS, 1), code, strict=True)) % BASE == 0


def display(code: str) -> str:
    """``ABCDEFGHJKMNPQ`` → ``ABCD-EFGH-JKMN-PQ``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
