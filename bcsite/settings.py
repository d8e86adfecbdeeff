"""Settings for bcsite, read from environment variables only (see .env.example)."""

from pathlib import Path

import dj_database_url

from bcsite.env import env_bool, env_int, env_list, env_str, local_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BCSITE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "bcsite",
    "records",
    "approvals",
    "automate",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "records.middleware.CompanyMiddleware",
    "automate.access.AutomateAccessMiddleware",
    "bcsite.events.ActingUserMiddleware",
]

ROOT_URLCONF = "bcsite.urls"
WSGI_APPLICATION = "bcsite.wsgi.application"

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
                "bcsite.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bcsite.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and Celery workers share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Email: SMTP by default; the console backend is handy in development.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
# Where the file-based backend (what `make run` uses) writes mails.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "bcsite <noreply@bcsite.local>")

# Celery: the broker is Redis; results are not needed (runs are recorded in the database).
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 15 * 60)
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hardest task time limit, so an unacknowledged task is only
    # redelivered when its worker is really gone.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2 + 60,
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The soft limit lets a task clean up before the hard limit kills it.
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 30, CELERY_TASK_TIME_LIMIT // 2, 1)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The queue tasks go to and workers listen on: bcsite instances sharing one Redis each
# use their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Beat only ticks; the tick claims due work through the database, so two beats (or a
    # tick that runs late) never start one thing twice.
    "automate-tick": {
        "task": "automate.tasks.automate_tick_task",
        "schedule": float(env_int("AUTOMATE_TICK_SECONDS", 5)),
        "options": {"expires": 30},
    },
    # The connector API: retries of webhook and business event notifications.
    "api-notifications-sweep": {
        "task": "bcsite.api.tasks.api_notifications_sweep_task",
        "schedule": float(env_int("API_WEBHOOK_SWEEP_SECONDS", 5)),
        "options": {"expires": 30},
    },
    # Approvals: overdue reminders, delegation to substitutes, expiring flow approvals.
    "approvals-overdue": {
        "task": "approvals.tasks.approvals_overdue_task",
        "schedule": float(env_int("APPROVALS_OVERDUE_SECONDS", 300)),
        "options": {"expires": 240},
    },
}

# Power Automate.
# A run that has not finished after this long ends as Timed out (Power Automate: 30 days).
AUTOMATE_RUN_TIME_LIMIT = env_int("AUTOMATE_RUN_TIME_LIMIT", 30 * 24 * 3600)
# A worker holds a run this long; one that stops answering (killed, lost) loses it to the
# sweeper, which hands it to another worker. Longer than any single step takes.
AUTOMATE_RUN_LEASE_SECONDS = env_int("AUTOMATE_RUN_LEASE_SECONDS", 180)
# A queued run that no worker has claimed after this long is dispatched again.
AUTOMATE_REDISPATCH_AFTER = env_int("AUTOMATE_REDISPATCH_AFTER", 60)
# Networks the HTTP and Teams actions may call although they are private (e.g. 10.0.0.0/8
# for partner services on the same network). Empty: only public addresses.
AUTOMATE_HTTP_ALLOWED_NETWORKS = env_list("AUTOMATE_HTTP_ALLOWED_NETWORKS", [])
# Run history older than this many days is pruned (Power Automate keeps 28-30 days).
AUTOMATE_RUN_RETENTION_DAYS = env_int("AUTOMATE_RUN_RETENTION_DAYS", 30)
# How long a caller of an HTTP-triggered flow waits for its Response step (Power Automate:
# 120 s), after which it gets 504.
AUTOMATE_HTTP_RESPONSE_TIMEOUT = env_int("AUTOMATE_HTTP_RESPONSE_TIMEOUT", 120)
# An automated or scheduled flow whose runs fail this many times in a row emails its owner
# (at most once a day) and shows a warning on My flows.
AUTOMATE_FAILURE_NOTIFY_AFTER = env_int("AUTOMATE_FAILURE_NOTIFY_AFTER", 3)
# A flow's "Start and wait for an approval" expires after this many days unless its step
# says otherwise (Power Automate: 30 days, the run's own limit).
AUTOMATE_APPROVAL_EXPIRY_DAYS = env_int("AUTOMATE_APPROVAL_EXPIRY_DAYS", 30)
# The address links in flows and mails start with, e.g. https://erp.example.com
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# OAuth2 client credentials for service-to-service callers of the connector API.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("API_ACCESS_TOKEN_SECONDS", 3600),
    "SCOPES": {"api": "Read and change the company's data through the connector API"},
    "DEFAULT_SCOPES": ["api"],
}

# The connector API. Callers authenticate with a personal token, an OAuth2 client-credentials
# token or the browser session; each token is limited to API_RATE_LIMIT requests.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bcsite.api.auth.ApiTokenAuthentication",
        "bcsite.api.auth.ServiceClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["bcsite.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_RATE_LIMIT", "6000/300s")},
    "EXCEPTION_HANDLER": "bcsite.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "bcsite connector API",
    "DESCRIPTION": "Business Central-shaped REST API: entities, webhooks, business events, "
    "flows and approvals.",
    "VERSION": "2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # BC's paths (companies({id})/customers) as they are served.
    "DEFAULT_GENERATOR_CLASS": "bcsite.api.schema.BCSchemaGenerator",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Webhook and business event notifications: changes within this window go out in one request;
# a failing endpoint is retried for API_WEBHOOK_RETRY_HOURS, then its subscription is suspended.
API_WEBHOOK_BATCH_SECONDS = env_int("API_WEBHOOK_BATCH_MS", 500) / 1000
API_WEBHOOK_RETRY_HOURS = env_int("API_WEBHOOK_RETRY_HOURS", 24)
API_WEBHOOK_TIMEOUT_SECONDS = env_int("API_WEBHOOK_TIMEOUT_SECONDS", 10)
API_WEBHOOK_HANDSHAKE_SECONDS = env_int("API_WEBHOOK_HANDSHAKE_SECONDS", 5)
API_WEBHOOK_MAX_SUBSCRIPTIONS = env_int("API_WEBHOOK_MAX_SUBSCRIPTIONS", 200)
# Networks notification URLs may be in although they are private (e.g. 10.0.0.0/8).
API_WEBHOOK_ALLOWED_NETWORKS = env_list("API_WEBHOOK_ALLOWED_NETWORKS", [])
# Rate limits count in Redis, so every web process shares them.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("API_CACHE_PREFIX", "bcsite-api"),
    },
}

# Lists show this many rows a page, and count matching rows only up to LIST_COUNT_LIMIT.
LIST_PAGE_SIZE = env_int("LIST_PAGE_SIZE", 50)
LIST_COUNT_LIMIT = env_int("LIST_COUNT_LIMIT", 1000)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
