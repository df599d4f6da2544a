from typing import Any

from django.core.management.base import BaseCommand

from leads.demo import load_leads_demo


class Command(BaseCommand):
    help = "Demo lead pools, leads, claims, follow-ups and channel spend (run load_demo first)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_leads_demo()
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Leads demo loaded: {counts}"))
