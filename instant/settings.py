"""Instant settings, driven by the environment (see README "Configuration")."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "instant-insecure-dev-key-set-SECRET_KEY-in-production"
PORT = env_int("PORT", 8000)
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")
_public_host = urlsplit(PUBLIC_BASE_URL).hostname or "127.0.0.1"

ALLOWED_HOSTS = sorted({"127.0.0.1", "localhost", _public_host, *env_list("ALLOWED_HOSTS")})
CSRF_TRUSTED_ORIGINS = sorted(
    {f"http://{h}:{PORT}" for h in ("127.0.0.1", "localhost")}
    | {f"https://{h}" for h in ("127.0.0.1", "localhost")}
    | {PUBLIC_BASE_URL}
    | set(env_list("CSRF_TRUSTED_ORIGINS"))
)
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
if env_bool("BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.users",
    "apps.queues",
    "apps.contacts",
    "apps.accounts",
    "apps.templates",
    "apps.interactions",
    "apps.transfers",
    "apps.campaigns",
    "apps.providers",
    "apps.desktop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "instant.urls"
ASGI_APPLICATION = "instant.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# SQLite (the embedded default, a ``sqlite:///`` DATABASE_URL and the tests alike) always runs in WAL
# mode with IMMEDIATE transactions and a busy timeout: readers never block the writer, and a
# transaction takes the write lock when it starts instead of failing to upgrade a read lock with
# "database is locked" halfway through.
SQLITE_OPTIONS = {
    "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={};".format(
        env_int("SQLITE_BUSY_TIMEOUT", 30) * 1000
    ),
}
# A file, not memory, for the test database too: tests start fresh processes on it.
# One file per test process, so parallel runs never share it.
SQLITE_TEST = {"NAME": env_str("SQLITE_TEST_PATH") or os.path.join(tempfile.gettempdir(), f"instant-test-{os.getpid()}.sqlite3")}

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True)
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": env_str("SQLITE_PATH") or str(BASE_DIR / "db.sqlite3")}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {**_db.get("OPTIONS", {}), **SQLITE_OPTIONS}
    _db["TEST"] = {**SQLITE_TEST, **_db.get("TEST", {})}
    _db["CONN_MAX_AGE"] = 0
elif _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
    # Under ASGI every request runs in a thread of its own; persistent connections would then grow
    # with the threads (one Daphne reached 99 connections and "too many clients"). A psycopg pool
    # per process bounds them: DB_POOL_MAX_SIZE connections at most, borrowed per request.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        **_db.get("OPTIONS", {}),
        "pool": {
            "min_size": env_int("DB_POOL_MIN_SIZE", 1),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 20),
        },
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 5}},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/desktop/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
# Agents may attach up to 15 MB by default (the settings object can lower or raise it); leave room
# for multipart overhead so the app, not Django, answers with a clear error.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The ASGI server of ``manage.py serve``: Daphne for development (``make run``), uvicorn (uvloop +
# httptools) for the scaled set-up, where it measured faster (README "Scaling out").
INSTANT_SERVER = env_str("INSTANT_SERVER") or "daphne"
if INSTANT_SERVER not in {"daphne", "uvicorn"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("INSTANT_SERVER must be daphne or uvicorn")

REDIS_URL = env_str("REDIS_URL")
# Which channels-redis layer carries realtime events with REDIS_URL (bench/sockets.py compares them).
_CHANNEL_LAYERS = {
    "pubsub": "apps.core.channel_layer.BoundedRedisPubSubChannelLayer",
    "core": "apps.core.channel_layer.BoundedRedisChannelLayer",
}
INSTANT_CHANNEL_LAYER = env_str("INSTANT_CHANNEL_LAYER") or "pubsub"
if INSTANT_CHANNEL_LAYER not in _CHANNEL_LAYERS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("INSTANT_CHANNEL_LAYER must be pubsub or core")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis with a pool that waits when busy (apps/core/channel_layer.py): the pub/sub
            # layer (one subscription per group and process, delivered locally) or the core layer (a
            # copy per member in Redis).
            "BACKEND": _CHANNEL_LAYERS[INSTANT_CHANNEL_LAYER],
            "CONFIG": {
                # channels-redis waits for messages with a 5 s blocking pop; redis-py 8's default
                # 5 s socket timeout then fires first and closes idle websockets with 1011. The read
                # timeout must outlast the pop; keepalive and health checks catch dead connections.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT", 30),
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 15,
                        "retry_on_timeout": True,
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 50),
                        "pool_timeout": 20,
                    }
                ],
            },
        }
    }
    if INSTANT_CHANNEL_LAYER == "pubsub":
        # Redis pub/sub channels ignore the db number: two installations sharing a Redis server on
        # different dbs would hear each other's events. The prefix carries the db.
        CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"asgi.{urlsplit(REDIS_URL).path.strip('/') or '0'}."
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Deferred work is stored as rows (apps.core.work). Celery with REDIS_URL, the embedded loop in the
# server process without, inline in tests ("sync") only wake the runner; a sweep catches the rest.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, and given back if its worker dies; the broker hands an
# unacknowledged task to another worker after the visibility timeout (kombu's default is an hour).
# The work itself is safe either way: it is a row with a lease (INSTANT_WORK_LEASE_SECONDS).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT", 30),
    "socket_keepalive": True,
}
CELERY_TASK_DEFAULT_QUEUE = "instant"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
INSTANT_TASKS = env_str("INSTANT_TASKS") or ("celery" if REDIS_URL else "inprocess")
if INSTANT_TASKS not in {"celery", "inprocess", "sync"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("INSTANT_TASKS must be celery, inprocess or sync")
# The deadline sweep (offers, transfers, 24 h windows) runs at least this often; due work is
# claimed at least every INSTANT_WORK_POLL_SECONDS.
INSTANT_SWEEP_SECONDS = env_int("INSTANT_SWEEP_SECONDS", 5)
# The customer simulator (C1) plays any customer of a Sandbox account: on for demos, off in production.
INSTANT_SIMULATOR = env_bool("INSTANT_SIMULATOR", True)
INSTANT_WORK_POLL_SECONDS = env_int("INSTANT_WORK_POLL_SECONDS", 1)
# A claimed job whose runner died is claimed again after this lease (longer than any provider call).
INSTANT_WORK_LEASE_SECONDS = env_int("INSTANT_WORK_LEASE_SECONDS", 120)
# A campaign's pump runs in one-second slices: its claim is shorter, so a killed worker's campaign
# goes on sooner. It must outlast a slice plus the slowest provider answer.
INSTANT_CAMPAIGN_LEASE_SECONDS = env_int("INSTANT_CAMPAIGN_LEASE_SECONDS", 60)
# Campaign sends in flight at once per worker process (see apps/campaigns/services/sending.py).
INSTANT_CAMPAIGN_PARALLEL_SENDS = env_int("INSTANT_CAMPAIGN_PARALLEL_SENDS", 16)
INSTANT_WORK_RETRY_BASE_SECONDS = env_int("INSTANT_WORK_RETRY_BASE_SECONDS", 2)
INSTANT_WORK_RETRY_MAX_SECONDS = env_int("INSTANT_WORK_RETRY_MAX_SECONDS", 600)
# How many jobs the embedded worker runs at once (threads beside the server's own).
INSTANT_WORK_CONCURRENCY = env_int("INSTANT_WORK_CONCURRENCY", 4)
CELERY_BEAT_SCHEDULE = {
    "deadline-sweep": {"task": "apps.core.tasks.sweep_deadlines", "schedule": float(INSTANT_SWEEP_SECONDS)},
    "due-work": {"task": "apps.core.tasks.run_due_work", "schedule": float(INSTANT_WORK_POLL_SECONDS)},
}

INSTANT_PROVIDER_BACKENDS = {
    "meta": "apps.providers.meta.MetaBackend",
    "twilio": "apps.providers.twilio.TwilioBackend",
    "sinch": "apps.providers.sinch.SinchBackend",
    "kaleyra": "apps.providers.kaleyra.KaleyraBackend",
    "sandbox": "apps.providers.sandbox.SandboxBackend",
}
# How often each kind of work is tried before it fails for good (it stays in the admin, retryable).
INSTANT_SEND_MAX_ATTEMPTS = env_int("INSTANT_SEND_MAX_ATTEMPTS", 6)
INSTANT_MEDIA_MAX_ATTEMPTS = env_int("INSTANT_MEDIA_MAX_ATTEMPTS", 6)
INSTANT_WEBHOOK_MAX_ATTEMPTS = env_int("INSTANT_WEBHOOK_MAX_ATTEMPTS", 40)
# How long a web process reuses the account behind a webhook URL before reading it again (0: never
# cached). Edits made in the same process apply at once; see apps/providers/webhooks.py.
INSTANT_WEBHOOK_ACCOUNT_CACHE_SECONDS = env_int("INSTANT_WEBHOOK_ACCOUNT_CACHE_SECONDS", 10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["apps.core.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Instant API",
    "DESCRIPTION": "REST API of Instant, the open-source WhatsApp contact center.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar: the docs page works offline, with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
