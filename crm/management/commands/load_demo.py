from typing import Any

from django.apps import apps
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, USERS, load_platform_demo
from crm.demo_master import load_master_demo
from crm.demo_metrics import load_metrics_demo
from crm.demo_workspace import load_workspace_demo
from crm.models import BusinessUnit


class Command(BaseCommand):
    help = (
        "Load the demo group: business units, one user per role, the Online Retail purchase "
        "history and synthetic Chinese customers (safe to run twice)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--platform-only", action="store_true", help="Only units and users, no customers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts: dict[str, Any] = load_platform_demo()
        if not options["platform_only"]:
            units = {u.code: u for u in BusinessUnit.objects.all()}
            master = load_master_demo(units)
            master["workspace"] = load_workspace_demo(units)
            # The apps built on the master add theirs (``load_<app>_demo``; crm never imports them).
            commands = get_commands()
            for config in apps.get_app_configs():
                name = f"load_{config.label}_demo"
                if config.name != "crm" and name in commands:
                    call_command(name, verbosity=0)
            master["metrics"] = load_metrics_demo()  # after every app's data
            rejected = master.pop("rejected")
            counts.update(master)
        else:
            rejected = []
        if options["verbosity"] == 0:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {counts}"))
        if rejected:
            self.stdout.write(f"Rejected lines of the Online Retail file ({len(rejected)}):")
            for error in rejected:
                self.stdout.write(f"  line {error['line']}: {error['field']}: {error['reason']}")
        for spec in USERS:
            self.stdout.write(f"  {spec.username:<10} {spec.role:<15} password: {DEMO_PASSWORD}")
