"""``field__ilike="frag"``: ``field ILIKE '%frag%'``.

Django's ``icontains`` on PostgreSQL compares ``UPPER(field) LIKE UPPER(...)``, which a
trigram index on the column cannot serve; ``ILIKE`` can, so the search screens use this.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Lookup


@CharField.register_lookup
class ILikeContains(Lookup):
    lookup_name = "ilike"

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        return "%s", [f"%{connection.ops.prep_for_like_query(str(value))}%"]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]
