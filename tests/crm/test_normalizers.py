"""Normalizers: one spelling per identifier, and a reason for everything refused."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from crm.normalizers import (
    USCC_ALPHABET,
    InvalidIdentity,
    display_phone,
    mask_phone,
    normalize_email,
    normalize_external_id,
    normalize_phone,
    normalize_uscc,
    normalize_wechat_id,
    uscc_check_char,
)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the default interface language is Chinese)."""
    with translation.override("en"):
        yield


MOBILE_PREFIXES = ["130", "135", "138", "139", "150", "158", "177", "186", "188", "199"]
cn_mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@given(cn_mobiles)
def test_every_spelling_of_a_chinese_mobile_is_one_e164_number(number: str) -> None:
    spellings = [
        number,
        f"{number[:3]} {number[3:7]} {number[7:]}",
        f"+86 {number}",
        f"+86-{number[:3]}-{number[3:7]}-{number[7:]}",
        f"86{number}",
        f"0086{number}",
        f" ({number[:3]}) {number[3:]} ",
    ]
    assert {normalize_phone(s) for s in spellings} == {f"+86{number}"}


@given(cn_mobiles)
def test_normalizing_twice_changes_nothing_and_masking_keeps_the_ends(number: str) -> None:
    once = normalize_phone(number)
    assert normalize_phone(once) == once
    assert mask_phone(once) == f"{number[:3]}****{number[-4:]}"


def test_the_examples_from_the_issue() -> None:
    assert normalize_phone("138 0013 8000") == "+8613800138000"
    assert normalize_phone("+86 13800138000") == "+8613800138000"
    assert normalize_phone("8613800138000") == "+8613800138000"
    assert mask_phone("+8613800138000") == "138****8000"
    assert display_phone("+8613800138000") == "138 0013 8000"


def test_landlines_are_allowed() -> None:
    assert normalize_phone("010-6552 9988") == "+861065529988"
    assert mask_phone("+861065529988") == "010****9988"
    assert normalize_phone("(021) 6212 3456") == "+862162123456"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "Enter a phone number"),
        ("abc!!<script>", "only digits"),
        ("1380013", "too short"),
        ("138001380001234567", "too long"),
        ("12345678901", "not a valid"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as exc:
        normalize_phone(raw, field="mobile")
    assert exc.value.field == "mobile"
    assert reason in exc.value.message


@given(st.text(max_size=30))
def test_any_text_is_either_a_number_or_a_refusal(raw: str) -> None:
    try:
        value = normalize_phone(raw)
    except InvalidIdentity as exc:
        assert exc.message
    else:
        assert value.startswith("+") and value[1:].isdigit()
        assert normalize_phone(value) == value


@given(
    st.from_regex(r"[A-Za-z0-9._%+-]{1,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{1,15}\.(com|cn|net)", fullmatch=True),
)
def test_emails_are_lowercased_and_trimmed(local: str, domain: str) -> None:
    label = domain.rsplit(".", 1)[0]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return
    if label.startswith("-") or label.endswith("-"):
        return
    raw = f"  {local}@{domain.upper()} "
    value = normalize_email(raw)
    assert value == f"{local}@{domain}".lower()
    assert normalize_email(value) == value


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@b", "two@@example.com"])
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentity):
        normalize_email(raw)


uscc_bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(uscc_bodies)
def test_a_uscc_with_its_check_character_is_valid(body: str) -> None:
    code = body + uscc_check_char(body)
    assert normalize_uscc(code.lower()) == code
    assert normalize_uscc(f"{code[:6]} {code[6:]}") == code


@given(uscc_bodies, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET))
def test_changing_any_one_character_of_a_uscc_is_caught(body: str, pos: int, ch: str) -> None:
    code = body + uscc_check_char(body)
    if code[pos] == ch:
        return
    with pytest.raises(InvalidIdentity):
        normalize_uscc(code[:pos] + ch + code[pos + 1 :])


def test_known_uscc_and_its_refusals() -> None:
    assert normalize_uscc("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(InvalidIdentity, match="check character"):
        normalize_uscc("91350100M000100Y44")
    with pytest.raises(InvalidIdentity, match="18 characters"):
        normalize_uscc("91350100M000100Y4")
    with pytest.raises(InvalidIdentity, match="cannot contain"):
        normalize_uscc("91350100M000100YI3")


@given(st.from_regex(r"[A-Za-z0-9_-]{6,64}", fullmatch=True))
def test_wechat_ids_keep_their_case(value: str) -> None:
    assert normalize_wechat_id(f" {value} ") == value


def test_external_ids_name_their_source() -> None:
    assert normalize_external_id(" ERP : C-1024 ") == "erp:C-1024"
    with pytest.raises(InvalidIdentity, match="source:id"):
        normalize_external_id("C-1024")
