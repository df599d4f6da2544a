"""The names of source systems (``pos`` → 门店收银 / Store POS), for every screen.

The table is small and changes rarely: its names are read once and kept in this process for
``TTL`` seconds (like Django's own content-type cache); the admin forgets them after an edit,
so the editing process shows the new name at once and the others within a minute. A code
without a row is shown as it is: ingestion never needs a row.
"""

from crm.models.sources import (
    TTL,
    forget_source_names,
    readable_identity,
    source_label,
    source_names,
)

__all__ = ["TTL", "forget_source_names", "readable_identity", "source_label", "source_names"]
