"""``compilemessages`` that also works where GNU gettext is not installed.

With ``msgfmt`` on the PATH this is Django's own command. Without it (a fresh machine with
only Python), the project's ``.po`` files are compiled with ``polib``, a pinned dependency.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.commands.compilemessages import Command as DjangoCommand


class Command(DjangoCommand):
    def handle(self, **options: Any) -> None:
        if shutil.which(self.program):
            super().handle(**options)
            return
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
                mo_path = po_path.with_suffix(".mo")
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                if options.get("verbosity", 1):
                    self.stdout.write(f"compiled {po_path} (polib)")
