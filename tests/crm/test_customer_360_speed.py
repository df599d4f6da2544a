"""The 360 view's timeline reads a page off each branch's index, not the whole history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import selectors, services
from crm.roles import MEMBER_SERVICE
from crm.services import IdentityInput
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_each_branch_of_the_timeline_is_limited_to_the_page(unit_a) -> None:
    customer = services.resolve_customer(
        identities=[IdentityInput("mobile", "13800138000")], attributes={}, source="pos"
    ).customer
    desk = UserFactory(roles=[MEMBER_SERVICE], units=[unit_a])
    stream = selectors.CustomerTimeline(user=desk, customer=customer)
    with CaptureQueriesContext(connection) as captured:
        stream[25:51]
    union = next(q["sql"] for q in captured.captured_queries if "crm_timelineevent" in q["sql"])
    # events, transactions and notes: each its newest 51 keys, then the union's window
    assert union.count("LIMIT 51") == 3
    assert union.rstrip().endswith("LIMIT 26 OFFSET 25")
    with pytest.raises(TypeError):
        stream[0:]
