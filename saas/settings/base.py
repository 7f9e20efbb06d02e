"""Settings for every environment; values come from the environment."""

import os
from pathlib import Path

from saas.settings.env import BASE_DIR, env_bool
from tenants import local_secrets
from tenants.local_secrets import read_or_create

DEBUG = env_bool("DEBUG", False)
# Tenants live at <subdomain>.<BASE_DOMAIN>; the apex serves public pages and
# OPERATOR_SUBDOMAIN.<BASE_DOMAIN> the operator console.
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost").strip().lower().rstrip(".")
OPERATOR_SUBDOMAIN = "admin"
ALLOWED_HOSTS = [BASE_DOMAIN, "." + BASE_DOMAIN]

# The main database, its pools and the role aliases: saas/settings/database.py.
from saas.settings.database import *  # noqa: E402, F403
from saas.settings.database import _LOCAL  # noqa: E402

# Tenancy (TENANT_*): isolation, registry bound, placement, residency, tenant pools.
from saas.settings.tenancy import *  # noqa: E402, F403
from saas.settings.tenancy import (  # noqa: E402 - read below
    TENANT_DEFAULT_REGION,
    TENANT_REGION_CACHES,
    TENANT_REGISTRY_MAX_AGE,
)

SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG and not _LOCAL:
        # A configured deployment brings its own key. SystemExit, not an exception:
        # one line on stderr, no traceback, exit status 1.
        raise SystemExit(
            "error: SECRET_KEY is not set. Set SECRET_KEY (e.g. `openssl rand -hex 32`), "
            "or DEBUG=1 for local development."
        )
    # Local development (DEBUG, or the embedded database of `make run` and manage.py): a random key
    # generated once for this checkout and kept in .data/ (0600) — never a public one.
    SECRET_KEY = read_or_create(
        Path(os.environ.get("SECRET_KEY_FILE") or local_secrets.DATA_DIR / "secret-key")
    )

REDIS_URL = os.environ.get("REDIS_URL", "")

INSTALLED_APPS = [
    "tenants",  # first: its `migrate` wraps Django's (runs as the owner role)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "billing",
    "accounts",
    "projects",
    "audit",
    "jobs",
    "domains",
    "idempotency",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early: a URI the app will not serve is refused before any work (414).
    "saas.middleware.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantMiddleware",
    # An error without a body (e.g. 405 from require_POST) gets the page or the API shape.
    "saas.middleware.ErrorBodyMiddleware",
    # Inside the tenant middleware: a pool timeout is "busy", not "database down".
    "saas.middleware.DatabaseBusyMiddleware",
    "operators.middleware.SessionMiddleware",  # Django's, operator sessions apart
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionTenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Longest path + query string the app serves; longer gets 414 in the API's error
# shape. The HTTP server's own request-line limit (gunicorn.conf.py) is above it.
MAX_URI_LENGTH = int(os.environ.get("MAX_URI_LENGTH", "4096"))

# A failed CSRF check is the styled 403 page with a plain reason, on every host.
CSRF_FAILURE_VIEW = "saas.errors.csrf_failure"

ROOT_URLCONF = "saas.urls"  # the apex; the middleware switches per host
TENANT_URLCONF = "saas.urls_tenant"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
            ],
        },
    },
]

WSGI_APPLICATION = "saas.wsgi.application"
ASGI_APPLICATION = "saas.asgi.application"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.TenantEmailBackend"]
# Emails are unique per tenant (UNIQUE(tenant_id, email)), not globally; the
# backend above knows that, so Django's global-uniqueness warning is moot.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"

# Sessions live in tenant-owned, RLS-protected rows: a session key from one
# tenant cannot even be loaded on another tenant's host.
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_DOMAIN = None  # host-only
CSRF_COOKIE_DOMAIN = None  # host-only
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
USE_HTTPS = env_bool("USE_HTTPS", False)
# The port tenant hosts are reached on from outside, when not the scheme's default (make run:
# 8000). Links built without a request (mails sent by workers) need it; tenants.links.tenant_url.
PUBLIC_PORT = os.environ.get("PUBLIC_PORT", "").strip() or None
SESSION_COOKIE_SECURE = USE_HTTPS
CSRF_COOKIE_SECURE = USE_HTTPS
if USE_HTTPS:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def _tenant_cache(url: str | None, name: str) -> dict:
    # Tenant-scoped keys: the key function adds the current tenant, so one
    # tenant's cached value is never served to another.
    return {
        # Fail-soft: Redis down is a cache miss, never a 500 (saas/cache.py).
        "BACKEND": "saas.cache.FailSoftRedisCache"
        if url
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": url or name,
        "KEY_FUNCTION": "tenants.cache.tenant_key",
    }


_home_region = TENANT_DEFAULT_REGION
_region_caches = {
    _home_region: "region:" + _home_region,
    **{region: "region:" + region for region in TENANT_REGION_CACHES},
}
CACHES = {
    "default": {
        "BACKEND": "tenants.cache.RegionalCache",
        "OPTIONS": {"regions": _region_caches, "home": _home_region},
    },
    **{
        alias: _tenant_cache(TENANT_REGION_CACHES.get(region, REDIS_URL), alias)
        for region, alias in _region_caches.items()
    },
    # Control-plane cache (host → tenant); keys are global by design.
    "tenants": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache"
        if REDIS_URL
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": REDIS_URL or "tenants",
        "KEY_PREFIX": "tenants",
        "TIMEOUT": 300,
    },
}
for _cache in CACHES.values():
    if "redis" in _cache["BACKEND"].lower():
        # A down Redis must not hang requests: fail fast, callers fall back.
        _cache["OPTIONS"] = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"no-reply@{BASE_DOMAIN}")

# Tenancy (TENANT_*): saas/settings/tenancy.py, imported above.
# API tokens are cached per process by key id (accounts.token_cache) for at most this long,
# capped by the registry's bound; token and creator changes NOTIFY every process sooner.
API_TOKEN_CACHE_SECONDS = float(
    os.environ.get("API_TOKEN_CACHE_SECONDS", str(TENANT_REGISTRY_MAX_AGE))
)
# Each tenant's webhook subscriptions are cached per process (webhooks.subscription_cache)
# for at most this long, capped by the registry's bound; endpoint changes NOTIFY sooner.
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = float(
    os.environ.get("WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", str(TENANT_REGISTRY_MAX_AGE))
)
# LISTEN/NOTIFY makes registry changes reach every process at once (one connection each).
TENANT_REGISTRY_LISTEN = os.environ.get("TENANT_REGISTRY_LISTEN", "1") == "1"
# Custom domains: the DNS servers asked for ownership records ("host:port", comma-
# separated); empty: the system's resolvers.
CUSTOM_DOMAIN_NAMESERVERS = [
    s for s in os.environ.get("CUSTOM_DOMAIN_NAMESERVERS", "").split(",") if s.strip()
]


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            # Never a task's arguments (observability.logs.drop_task_arguments).
            "()": "observability.logs.TaskSafeFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Operator access across tenants (tenants.context.dangerously_unscoped) is recorded with its
# reason in the security log, not printed on the operator's terminal: SECURITY_LOG is a file
# ("-": stderr, as in the container image).
SECURITY_LOG = os.environ.get("SECURITY_LOG") or str(BASE_DIR / ".data" / "logs" / "security.log")
LOGGING["handlers"]["security"] = {
    "()": "saas.logs.security_handler",
    "path": SECURITY_LOG,
    "formatter": "plain",
}
LOGGING["loggers"]["tenants.context"] = {
    "handlers": ["security"],
    "level": "INFO",
    "propagate": False,
}
OPERATOR_URLCONF = "saas.urls_operator"
WHITENOISE_USE_FINDERS = True


# REST API (api/): per-organisation bearer tokens, one error shape, per-plan rate limits.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "api.permissions.HasToken",
        "api.permissions.PlanAllowsApi",
        "api.permissions.TokenHasScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PlanRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tenantry API",
    "DESCRIPTION": (
        # Markdown: placeholders stay in code spans, or the docs page renders them as HTML tags.
        "Per-organisation REST API. Call it on your organisation's host "
        f"(`https://<subdomain>.{BASE_DOMAIN}/api/v1/`) with `Authorization: Bearer tntr_…`. "
        'Errors: {"error": {"code", "message", "fields"?}}.\n\n'
        "Request limits: a path and query string longer than 4,096 characters get 414 in "
        "that error shape. Beyond what the application sees, the HTTP server answers "
        "by itself, in plain text or HTML rather than JSON: a request line over 8,190 bytes "
        "(414), a header field over 8,190 bytes or more than 100 header fields (431); "
        "under the ASGI server, a request head over 16 KiB arriving in pieces (400). "
        "Keep URIs under 4,096 characters."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Background jobs: Celery settings live in saas/celeryconfig.py (derived from REDIS_URL).
# Export files and other job output; never served as static files (see jobs.views).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))

# --- Web UI: the console app, CSP, login throttling, sign-up hand-off, mail -----------------
INSTALLED_APPS += ["operators"]
# After SecurityMiddleware: adds CSP (with frame-ancestors 'none') to every response.
MIDDLEWARE.insert(1, "saas.security.ContentSecurityPolicyMiddleware")
# Login throttling (accounts/throttle.py): free failures per (account, client IP) and per
# client IP; after them a delay that doubles per failure, capped; counts forgotten after the
# window. A delay, never a lock: the right password is accepted once the delay has passed.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_IP_FAILURE_LIMIT = int(os.environ.get("LOGIN_IP_FAILURE_LIMIT", "20"))
LOGIN_DELAY_SECONDS = float(os.environ.get("LOGIN_DELAY_SECONDS", "15"))
LOGIN_DELAY_MAX_SECONDS = float(os.environ.get("LOGIN_DELAY_MAX_SECONDS", "900"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "86400"))
# Sign-up hands the new owner over to the tenant host with a one-time token this old at most.
SIGNUP_HANDOFF_MAX_AGE = 120
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "artifacts" / "mail"))
PASSWORD_RESET_TIMEOUT = 3600
TEMPLATES[0]["OPTIONS"]["context_processors"].append("saas.context_processors.nav")

# --- Observability and per-tenant SLAs ------------------------------------------------------
INSTALLED_APPS += ["observability"]
# Outermost: request id, timing, per-tenant recording and the access log cover every response.
MIDDLEWARE.insert(0, "observability.middleware.RequestObservabilityMiddleware")
# Per-tenant measurements are aggregated in process and written this often (seconds).
SLA_FLUSH_SECONDS = float(os.environ.get("SLA_FLUSH_SECONDS", "15"))
# Statements of a tenant at least this slow are kept for the operator console: the latest
# SLOW_STATEMENTS_KEPT per tenant, for SLOW_STATEMENT_RETENTION_DAYS (docs/sla.md).
SLOW_STATEMENT_MS = float(os.environ.get("SLOW_STATEMENT_MS", "250"))
SLOW_STATEMENTS_KEPT = int(os.environ.get("SLOW_STATEMENTS_KEPT", "50"))
SLOW_STATEMENT_RETENTION_DAYS = int(os.environ.get("SLOW_STATEMENT_RETENTION_DAYS", "14"))
# /metrics: with a token, scrapers send `Authorization: Bearer <token>`; without one, only
# loopback and private addresses may scrape.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# JSON lines by default (LOG_FORMAT=plain for a terminal): tenant and request id on every record.
LOGGING["filters"] = {"context": {"()": "observability.logs.ContextFilter"}}
LOGGING["formatters"]["json"] = {"()": "observability.logs.json_formatter"}
LOGGING["handlers"]["console"]["filters"] = ["context"]
LOGGING["handlers"]["console"]["formatter"] = (
    "plain" if os.environ.get("LOG_FORMAT", "json") == "plain" else "json"
)
# Fair share (observability.fairness): a request over its tenant's concurrency limit waits
# this long for a slot, then gets 429. Keys in the shared Redis carry this prefix.
MIDDLEWARE.insert(
    MIDDLEWARE.index("tenants.middleware.TenantMiddleware") + 1,
    "observability.fairness.FairShareMiddleware",
)
FAIR_QUEUE_SECONDS = float(os.environ.get("FAIR_QUEUE_SECONDS", "0.25"))
FAIR_SHARE_KEY_PREFIX = os.environ.get("FAIR_SHARE_KEY_PREFIX", "tenantry:")
LOGGING["loggers"]["observability"] = {
    "level": os.environ.get("ACCESS_LOG_LEVEL") or os.environ.get("LOG_LEVEL", "INFO")
}

# --- Outbound webhooks (webhooks/) ---------------------------------------------------------------
INSTALLED_APPS += ["webhooks"]
from saas.settings.webhooks import *  # noqa: E402, F403
