from typing import Any

from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, USERS, load_platform_demo


class Command(BaseCommand):
    help = "Load the demo group: business units and one user per role (safe to run twice)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_platform_demo()
        if options["verbosity"] == 0:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {counts}"))
        for spec in USERS:
            self.stdout.write(f"  {spec.username:<10} {spec.role:<15} password: {DEMO_PASSWORD}")
