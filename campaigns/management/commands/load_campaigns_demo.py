from typing import Any

from django.core.management.base import BaseCommand

from campaigns.demo import load_campaigns_demo


class Command(BaseCommand):
    help = (
        "Demo campaigns, coupon templates, a cross-unit trigger rule and coupons issued and "
        "redeemed on the demo master (run load_demo first)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_campaigns_demo()
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Campaigns demo loaded: {counts}"))
