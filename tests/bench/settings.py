"""Django settings for ``make bench``: the project's own settings, on the bench database.

The server is the one the project uses (``DATABASE_URL``, or the embedded PostgreSQL when it
is unset); the database on it is a separate one (``crm_bench`` by default), created by
``tests.bench.run`` and never the developer's own.
"""

import os

os.environ.setdefault("DEBUG", "true")

from crm.settings import *  # noqa: F403
from crm.settings import ALLOWED_HOSTS, DATABASES, LOGGING
from tests.bench import config

DATABASES["default"]["NAME"] = config.load().database
# The Django test client sends ``Host: testserver``.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}
# The production-shaped HTTP server's collected static files (tests/bench/http_load.py): the
# bench's own directory, never the data set's var directory (CRM_VAR_DIR may be shared).
STATIC_ROOT = BASE_DIR / "var" / "bench-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The HTTP floor's server only (tests/bench/http_floor.py): the project's URLs plus two empty
# routes measuring the framework's and the API stack's own cost.
if os.environ.get("BENCH_FLOOR_URLS"):
    ROOT_URLCONF = "tests.bench.floor_urls"
