"""The pool list's index: a pool's waiting leads (quarantined ones included, as the list shows
them), newest first with the id as the keyset's tie-breaker; claim-next reads it backwards."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_notifications_in_crm"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="lead",
            name="leads_pool_unclaimed",
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                models.F("pool"),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("owner__isnull", True), ("status", "new")),
                name="leads_pool_waiting",
            ),
        ),
    ]
