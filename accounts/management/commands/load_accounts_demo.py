from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import load_accounts_demo


class Command(BaseCommand):
    help = "Demo B2B accounts, contacts and opportunities on the demo master (run load_demo first)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_accounts_demo()
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Accounts demo loaded: {counts}"))
