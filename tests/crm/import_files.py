"""What the transaction import's tests share: the bytes of a CSV file, and every test's own
var folder (stored uploads, error reports) with English messages."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_in_own_var(settings, tmp_path):
    """Autouse in each module that imports it."""
    settings.VAR_DIR = tmp_path
    with translation.override("en"):
        yield


def csv_bytes(header, rows, *, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows([header, *rows])
    return out.getvalue().encode(encoding)
