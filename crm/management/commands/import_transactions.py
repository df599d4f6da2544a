"""``manage.py import_transactions FILE --unit MART --source pos --channel store [--dry-run]
[--decimal-mark ,] [--time-zone Europe/London] [--currency GBP]``

For files too big for the upload screen: a CSV is read line by line (its encoding judged on
its first ~64 KB), never whole; an XLSX row by row. Rows go through the same mapping and the
same bulk path as the screen (``ingest_transactions_bulk``, chunk by chunk); ``--path service``
sends them batch by batch through ``ingest_transactions`` instead (the same result, slower).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.errors import DomainError
from crm.imports import BATCH_SIZE, ImportOptions, error_report_csv, import_table, read_table
from crm.imports.options import DECIMAL_MARKS, DEFAULT_TIME_ZONE
from crm.models import BusinessUnit, Channel


class Command(BaseCommand):
    help = (
        "Import transactions from a CSV or XLSX file (UTF-8, UTF-8 with BOM or GBK/GB18030). "
        "The column layout is described in crm/imports/__init__.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV or XLSX file")
        parser.add_argument("--unit", required=True, help="business unit code, e.g. MART")
        parser.add_argument("--source", required=True, help="source system code, e.g. pos")
        parser.add_argument(
            "--channel",
            default=Channel.OTHER,
            choices=Channel.values,
            help="channel of rows without one (default: other)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, save nothing")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--path",
            choices=("bulk", "service"),
            default="bulk",
            help="bulk (default; chunk by chunk) or service (batch by batch; the same result)",
        )
        parser.add_argument(
            "--decimal-mark",
            default=".",
            choices=DECIMAL_MARKS,
            help="the file's decimal mark: . (1,234.50) or , (1.234,50); default .",
        )
        parser.add_argument(
            "--time-zone",
            default=DEFAULT_TIME_ZONE,
            help=f"time zone of times written without one (default {DEFAULT_TIME_ZONE})",
        )
        parser.add_argument(
            "--currency", default="CNY", help="currency of rows without one (default CNY)"
        )
        parser.add_argument(
            "--show-errors", type=int, default=20, help="rejected rows to print (default 20)"
        )
        parser.add_argument(
            "--errors-csv", type=Path, help="write every rejected row to this CSV file"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        code = BusinessUnit.normalize_code(options["unit"])
        unit = BusinessUnit.objects.filter(code=code).first()
        if unit is None:
            raise CommandError(f"No business unit with code {code}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot open {path}: {exc.strerror}") from exc
        last = {"at": 0.0}

        def progress(fraction: float, rows: int) -> None:
            now = time.monotonic()
            if now - last["at"] >= 1 or fraction >= 1:
                last["at"] = now
                self.stderr.write(f"  {rows:,} rows read ({fraction:.0%})")

        with stream:
            try:
                import_options = ImportOptions(
                    decimal_mark=options["decimal_mark"],
                    time_zone=options["time_zone"],
                    currency=options["currency"],
                )
                table = read_table(
                    stream, filename=path.name, size=os.fstat(stream.fileno()).st_size
                )
                if options["verbosity"]:
                    encoding = f", {table.encoding}" if table.encoding else ""
                    self.stdout.write(f"Reading {path} ({table.format}{encoding})")
                outcome = import_table(
                    table,
                    business_unit=unit,
                    source=options["source"],
                    channel=options["channel"],
                    dry_run=options["dry_run"],
                    batch_size=options["batch_size"],
                    progress=progress if options["verbosity"] else None,
                    options=import_options,
                    bulk=options["path"] == "bulk",
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        result = outcome.result
        if options["errors_csv"]:
            Path(options["errors_csv"]).write_bytes(error_report_csv(result.errors))
        if options["verbosity"] == 0:
            return
        summary = {
            k: v for k, v in outcome.as_dict(max_errors=0).items() if not isinstance(v, list | dict)
        }
        title = "Dry run (nothing saved)" if options["dry_run"] else "Imported"
        style = self.style.WARNING if result.errors else self.style.SUCCESS
        self.stdout.write(style(f"{title}: " + ", ".join(f"{k}={v}" for k, v in summary.items())))
        for warning in result.warnings.as_list():
            lines = ", ".join(str(n) for n in warning["lines"])
            self.stdout.write(
                self.style.WARNING(f"  warning: {warning['message']}")
                + (f" (lines {lines}…)" if lines else "")
            )
        shown = result.errors[: max(0, options["show_errors"])]
        for error in shown:
            order = f" [{error.external_id}]" if error.external_id else ""
            self.stdout.write(f"  line {error.line}, {error.field}{order}: {error.reason}")
        if len(result.errors) > len(shown):
            self.stdout.write(f"  … and {len(result.errors) - len(shown):,} more rejected rows")
