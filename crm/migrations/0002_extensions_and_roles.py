"""PostgreSQL extensions for search, the role groups with their permissions, the cache table."""

from django.contrib.auth.management import create_permissions
from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from django.core.management import call_command
from django.db import migrations


def create_roles(apps, schema_editor):
    from crm.roles import sync_roles

    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def create_cache_table(apps, schema_editor):
    """The shared cache (throttle counters) when the database is the cache backend."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def remove_roles(apps, schema_editor):
    from crm.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        TrigramExtension(),
        BtreeGistExtension(),
        migrations.RunPython(create_roles, remove_roles),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]
