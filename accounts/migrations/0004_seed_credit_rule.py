"""Seed the default credit scoring rule (accounts/CREDIT.md documents it)."""

from django.db import migrations

from accounts.credit_defaults import seed_credit_rule


def seed(apps, schema_editor):
    seed_credit_rule(
        apps.get_model("accounts", "CreditScoringRule"),
        apps.get_model("accounts", "CreditWeight"),
        apps.get_model("accounts", "CreditBand"),
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_credit")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
