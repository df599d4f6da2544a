"""Settings for the group CRM: one file, every secret and URL from the environment.

Development (``make run``) and tests need nothing set: an embedded PostgreSQL starts when
``DATABASE_URL`` is unset and Celery uses a filesystem broker under ``var/``. Production sets
``SECRET_KEY``, ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``ALLOWED_HOSTS`` (see README).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import django_stubs_ext
import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy

from crm import beat
from crm.embedded import ensure_database_url

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CRM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (production) or DEBUG=true (development)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "import_export",
    "axes",
    "csp",
    "crm",
    "accounts",
    "members",
    "leads",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.shell",
            ],
        },
    },
]


def _required_in_production(name: str) -> None:
    """Production must name its database and broker: never fall back to the embedded ones."""
    if not DEBUG and not env.str(name, default=""):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} is not set (required when DEBUG is off).")


_required_in_production("DATABASE_URL")
_required_in_production("CELERY_BROKER_URL")

# --- Database: PostgreSQL everywhere -------------------------------------------------------
_db = env.db_url_config(ensure_database_url(VAR_DIR))
_db["HOST"] = unquote(_db.get("HOST", ""))
_db["CONN_HEALTH_CHECKS"] = True
_db["OPTIONS"] = {"pool": {"min_size": 1, "max_size": env.int("DATABASE_POOL_SIZE", default=8)}}
if env.bool("DATABASE_POOL", default=False) is False:
    # Persistent connections by default; the psycopg pool is opt-in per process.
    _db["OPTIONS"] = {}
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES = {"default": _db}
# The hot paths' statements (coupon redemption, points earn/redeem, lead claim-next) are
# prepared once per connection (crm.prepared); turn it off behind a proxy that pools by
# transaction without full prepared-statement support (PgBouncer < 1.22). The earlier name of the
# variable, CAMPAIGNS_PREPARED_REDEMPTION, is still read.
PREPARED_STATEMENTS = env.bool(
    "PREPARED_STATEMENTS", default=env.bool("CAMPAIGNS_PREPARED_REDEMPTION", default=True)
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared between processes (nothing lives in process memory) --------------------
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "crm_cache",
        }
    }

# --- Authentication and sessions -----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "crm.auth_backends.CrmModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "crm.middleware.client_ip"
# Number of reverse proxies in front of gunicorn that append to X-Forwarded-For (0: none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1)

# Django's database sessions, read by a prepared statement (crm/sessions.py).
SESSION_ENGINE = "crm.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
PASSWORD_RESET_TIMEOUT = 3600

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")

# --- Security: strict unless DEBUG ---------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4, sent by crm.middleware.SecurityHeadersMiddleware).
# Scripts: only files from this origin, or an inline <script nonce="{{ request.csp_nonce }}">;
# no inline event handlers, no eval (htmx runs with allowEval off). Data for scripts travels in
# json_script blocks and data- attributes.
# Styles: <style>/<link> elements only from this origin (or with the nonce), but style="..."
# attributes are allowed ('unsafe-inline' in style-src-attr): Tabler's markup sizes progress
# bars and charts with them, Bootstrap's modal and Popper position elements by setting them,
# and ECharts and Swagger UI write them while rendering. A style attribute cannot run script,
# and templates escape every value they put into one. Browsers without the CSP3 -elem/-attr
# directives fall back to style-src, which allows inline styles for the same reasons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "style-src-elem": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
# Browser features no screen of the CRM uses: refused for this origin and any frame.
PERMISSIONS_POLICY = {
    "accelerometer": "()",
    "camera": "()",
    "display-capture": "()",
    "geolocation": "()",
    "gyroscope": "()",
    "magnetometer": "()",
    "microphone": "()",
    "midi": "()",
    "payment": "()",
    "usb": "()",
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "crm" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "CN"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue, _control = VAR_DIR / "celery" / "queue", VAR_DIR / "celery" / "control"
    _queue.mkdir(parents=True, exist_ok=True)
    _control.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(_control),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = beat.CELERY_BEAT_SCHEDULE  # crm/beat.py
# A running job whose worker died (acks_late redelivers it, but it is no longer queued) is
# marked failed once it has shown no progress for this long.
JOB_STALE_AFTER = timedelta(minutes=env.int("JOB_STALE_MINUTES", default=30))

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.IsAuthenticatedPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api.throttling.ApiKeyRateThrottle",
        "crm.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_KEY_RATE", default="600/min"),
        "user": env.str("API_USER_RATE", default="1200/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "crm.api.exceptions.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only (415 otherwise), within the limits below (crm/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.LimitedJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# Limits on what a partner may send (413 / 400 beyond them; see README, "API limits").
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=12)
API_MAX_JSON_ELEMENTS = env.int("API_MAX_JSON_ELEMENTS", default=50_000)
API_MAX_STRING_LENGTH = env.int("API_MAX_STRING_LENGTH", default=2000)
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=500)
# Searches by phone or e-mail per hour of a user who may not reveal personal data.
IDENTITY_SEARCHES_PER_HOUR = env.int("IDENTITY_SEARCHES_PER_HOUR", default=120)
# Orders dated outside [earliest, now + tolerance] are refused (a typo, not history).
TRANSACTION_EARLIEST = env.str("TRANSACTION_EARLIEST", default="1990-01-01")
TRANSACTION_FUTURE_TOLERANCE = timedelta(hours=env.int("TRANSACTION_FUTURE_HOURS", default=24))

SPECTACULAR_SETTINGS = {
    # Translated when the schema is generated in the reader's language (?lang=).
    "TITLE": gettext_lazy("Group CRM API"),
    "DESCRIPTION": gettext_lazy(
        "REST API for partners (a business unit's POS, an online shop, a lead vendor) and the "
        "web UI. Authenticate with `Authorization: Api-Key <key>`; every POST requires an "
        "`Idempotency-Key` header (only the web UI's own session calls may omit it). Errors are "
        "`application/problem+json` with a stable `code`, documented on every operation. Bodies "
        "are JSON within documented limits; a partner key reads only what its own business "
        "unit recorded."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui-dist/favicon-32x32.png",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "validatorUrl": None,
        "persistAuthorization": True,
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CustomerKindEnum": "crm.models.customers.CustomerKind",
        "TransactionKindEnum": "crm.models.transactions.TransactionKind",
        "AccountIndustryEnum": "accounts.models.accounts.Industry",
        "AccountStatusEnum": "accounts.models.accounts.AccountStatus",
        "EnrolmentChannelEnum": "members.models.members.EnrolmentChannel",
        "TransactionChannelEnum": "crm.models.transactions.Channel",
        "LeadKindEnum": "leads.models.leads.LeadKind",
        "FollowUpKindEnum": "leads.models.activity.FollowUpKind",
    },
}

# --- Logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}
