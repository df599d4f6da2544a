"""Source systems (the names of the codes records arrive under, seeded with the codes the
demo and the documented examples use) and notes on customers."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# code: (Chinese, English). Other codes are shown as they are until staff name them.
SOURCES = {
    "pos": ("门店收银", "Store POS"),
    "erp": ("ERP 系统", "ERP"),
    "mini": ("微信小程序", "WeChat mini-program"),
    "api": ("合作方接口", "Partner API"),
    "import": ("文件导入", "File import"),
    "online_retail": ("线上商城（Online Retail）", "Online Retail shop"),
    "demo": ("演示数据", "Demo data"),
    "demo_auto": ("演示：汽车经销", "Demo: car dealership"),
    "demo_prop": ("演示：物业管理", "Demo: property management"),
    "demo_mart": ("演示：超市", "Demo: supermarket"),
    "demo_logi": ("演示：物流", "Demo: logistics"),
    "demo_legacy_pos": ("演示：旧收银系统", "Demo: legacy POS"),
    "demo_web_signup": ("演示：官网注册", "Demo: website sign-up"),
    "demo_wechat": ("演示：微信", "Demo: WeChat"),
}


def seed_sources(apps, schema_editor):
    SourceSystem = apps.get_model("crm", "SourceSystem")
    for code, (name_zh, name_en) in SOURCES.items():
        SourceSystem.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_workspace_saved_views_recent_views"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("text", models.TextField(max_length=2000, verbose_name="note")),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        default=django.utils.timezone.now,
                        verbose_name="written",
                    ),
                ),
                (
                    "pinned_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Pinned notes are shown first.",
                        null=True,
                        verbose_name="pinned",
                    ),
                ),
            ],
            options={
                "verbose_name": "customer note",
                "verbose_name_plural": "customer notes",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="SourceSystem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="Exactly as records carry it (lower case), e.g. pos, online_retail.",
                        max_length=40,
                        unique=True,
                        verbose_name="code",
                    ),
                ),
                ("name_zh", models.CharField(max_length=100, verbose_name="name (Chinese)")),
                ("name_en", models.CharField(max_length=100, verbose_name="name (English)")),
            ],
            options={
                "verbose_name": "source system",
                "verbose_name_plural": "source systems",
                "ordering": ["code"],
            },
        ),
        migrations.AddField(
            model_name="customernote",
            name="author",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="written by",
            ),
        ),
        migrations.AddField(
            model_name="customernote",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notes",
                to="crm.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AddField(
            model_name="sourcesystem",
            name="business_unit",
            field=models.ForeignKey(
                blank=True,
                help_text="The unit that runs this system; empty when it serves the whole group.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="crm.businessunit",
                verbose_name="business unit",
            ),
        ),
        migrations.AddIndex(
            model_name="customernote",
            index=models.Index(
                models.F("customer"),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="note_customer_recent",
            ),
        ),
        migrations.AddIndex(
            model_name="customernote",
            index=models.Index(
                models.F("customer"),
                models.OrderBy(models.F("pinned_at"), descending=True),
                condition=models.Q(("pinned_at__isnull", False)),
                name="note_customer_pinned",
            ),
        ),
        migrations.AddConstraint(
            model_name="customernote",
            constraint=models.CheckConstraint(
                condition=models.Q(("text", ""), _negated=True), name="note_text_not_empty"
            ),
        ),
        migrations.AddConstraint(
            model_name="customernote",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("text"), 2000
                ),
                name="note_text_max_length",
            ),
        ),
        migrations.AddConstraint(
            model_name="sourcesystem",
            constraint=models.CheckConstraint(
                condition=models.Q(("code__regex", "^[a-z0-9][a-z0-9_.-]*$")),
                name="source_code_lower",
            ),
        ),
        migrations.RunPython(seed_sources, migrations.RunPython.noop),
    ]
