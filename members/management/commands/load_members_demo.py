from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from members.demo import load_members_demo


class Command(BaseCommand):
    help = (
        "Demo loyalty members, levels and points history on the demo master (run load_demo first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_members_demo(count=options["count"])
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Members demo loaded: {counts}"))
