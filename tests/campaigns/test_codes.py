"""Coupon codes: the check character catches every one-character typo and every swap of two
neighbours; a million fresh codes never collide."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import codes


def test_codes_have_fourteen_characters_of_the_unambiguous_alphabet() -> None:
    code = codes.new_code()
    assert len(code) == 14
    assert not set(code) & set("0O1IL")
    assert codes.is_well_formed(code) and codes.has_valid_check(code)
    assert codes.normalize(codes.display(code).lower()) == code
    assert codes.RANDOM_LENGTH * 4.95 > 60  # ≥ 60 bits of randomness (31**13 ≈ 2**64.4)


@settings(max_examples=300)
@given(
    body=st.text(alphabet=codes.ALPHABET, min_size=13, max_size=13),
    position=st.integers(min_value=0, max_value=13),
    replacement=st.sampled_from(codes.ALPHABET),
)
def test_any_single_character_typo_is_caught(body: str, position: int, replacement: str) -> None:
    code = body + codes.check_character(body)
    assert codes.has_valid_check(code)
    typo = code[:position] + replacement + code[position + 1 :]
    assert codes.has_valid_check(typo) == (typo == code)


def test_every_substitution_of_one_code_is_caught_exhaustively() -> None:
    code = codes.new_code()
    for position in range(codes.CODE_LENGTH):
        for char in codes.ALPHABET:
            typo = code[:position] + char + code[position + 1 :]
            assert codes.has_valid_check(typo) == (typo == code)


@settings(max_examples=200)
@given(
    body=st.text(alphabet=codes.ALPHABET, min_size=13, max_size=13),
    position=st.integers(min_value=0, max_value=12),
)
def test_swapping_two_neighbours_is_caught(body: str, position: int) -> None:
    code = body + codes.check_character(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert codes.has_valid_check(swapped) == (swapped == code)


def test_a_million_codes_never_collide() -> None:
    batch = codes.new_codes(1_000_000)
    assert len(set(batch)) == 1_000_000
    assert all(codes.has_valid_check(c) for c in batch[:10_000])
