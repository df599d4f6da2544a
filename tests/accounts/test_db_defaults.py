"""Every accounts column a bulk path (the coming import, the bench generator) may write has
its default in the database; a raw insert naming only the required columns works."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import NOT_PROVIDED

from crm.models import BusinessUnit, Customer, User

MODELS = list(apps.get_app_config("accounts").get_models())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_python_default_has_a_database_default(model):
    missing = [
        f.name
        for f in model._meta.concrete_fields
        if (f.default is not NOT_PROVIDED or getattr(f, "auto_now", False))
        and f.db_default is NOT_PROVIDED
        and not f.primary_key
    ]
    assert missing == []


@pytest.mark.django_db
def test_raw_inserts_with_only_the_required_columns(unit_a: BusinessUnit, rep_a: User):
    org = Customer.objects.create(display_name="原始公司", kind="organization")
    person = Customer.objects.create(display_name="原始联系人")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_account (customer_id) VALUES (%s) RETURNING id, status",
            [org.pk],
        )
        account_id, status = cursor.fetchone()
        cursor.execute(
            "INSERT INTO accounts_contact (account_id, person_id) VALUES (%s, %s) "
            "RETURNING is_primary",
            [account_id, person.pk],
        )
        assert cursor.fetchone() == (False,)
        cursor.execute("SELECT id FROM accounts_opportunitystage ORDER BY position LIMIT 1")
        (stage_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO accounts_opportunity (account_id, name, owner_id, business_unit_id, "
            "stage_id) VALUES (%s, '原始商机', %s, %s, %s) RETURNING amount, currency",
            [account_id, rep_a.pk, unit_a.pk, stage_id],
        )
        assert cursor.fetchone() == (0, "CNY")
    assert status == "prospect"
