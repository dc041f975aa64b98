"""Settings, read from the environment (and `.env` where present) through django-environ.

Every variable is documented in `.env.example`. The defaults run anywhere with nothing but Python:
SQLite in `data/`, kombu's filesystem transport as the Celery broker, and the local SendGrid
sandbox as upstream when no API key is set.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from bounceadmin.accounts.conf import identity_settings
from bounceadmin.api.conf import SPECTACULAR, rest_framework_settings
from bounceadmin.celeryconf import beat_schedule, broker_settings
from bounceadmin.logconfig import logging_settings

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# Importing the settings writes nothing (a read-only filesystem must work): the data folder, the
# key file and the broker's folders are made by `manage.py init_data`, the first step of `make
# run` (bounceadmin/datadir.py).
DATA_DIR = BASE_DIR / env.str("DATA_DIR", default=str(DATA_DIR))  # relative to the repo

DEBUG = env.bool("DEBUG", default=False)
# Read as it is: django-environ takes a value starting with "$" for the name of another variable,
# and one random key in fifty starts with it.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
SECRET_KEY_FILE = DATA_DIR / "secret_key"
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    # The per-installation key `init_data` generated, so a local run needs no configuration and
    # sessions survive restarts. Production sets SECRET_KEY. With neither, SECRET_KEY stays empty:
    # Django signs nothing with it, and every process refuses to start, naming `init_data`.
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_guid",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, shipped (no CDN)
    "bounceadmin.bounces",
    "bounceadmin.accounts",
    "bounceadmin.deletions",
    "bounceadmin.audit",
    "bounceadmin.webhooks",
    "bounceadmin.suppressions",
    "bounceadmin.api",
    "bounceadmin.alerts",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",  # a request id in every log line
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "bounceadmin.middleware.QueryTooLongMiddleware",
    "bounceadmin.middleware.RejectNullCharactersMiddleware",
    "bounceadmin.middleware.OutOfRangeNumberMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bounceadmin.middleware.PrivateCacheControlMiddleware",  # no-store for signed-in pages
    "django.contrib.messages.middleware.MessageMiddleware",
    "bounceadmin.audit.context.RequestContextMiddleware",
    "bounceadmin.middleware.ServiceUnavailableMiddleware",
    "bounceadmin.middleware.InvalidFiltersMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers locked-out logins
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bounceadmin.urls"
WSGI_APPLICATION = "bounceadmin.wsgi.application"

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
                "bounceadmin.accounts.context_processors.roles",
                "bounceadmin.accounts.context_processors.password_reset",
                "bounceadmin.alerts.context_processors.open_alerts",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'bounceadmin.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside the writer, IMMEDIATE
    # transactions take the write lock up front instead of failing on upgrade, and the timeout
    # makes a writer wait for another rather than raise "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling; see AXES_* below
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_ENGINE = "bounceadmin.accounts.sessions"  # database sessions; see the module
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Login throttling (django-axes): after this many failures for one username from one address,
# that pair is locked out for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The address throttling keys on, and the audit records: the real client's behind the proxies.
# Failed logins recorded in the audit log per address and hour; beyond, only every power of ten.
LOGIN_FAILURE_AUDIT_PER_HOUR = env.int("LOGIN_FAILURE_AUDIT_PER_HOUR", default=20)
AXES_CLIENT_IP_CALLABLE = "bounceadmin.accounts.client_address.client_address"

# --- Identity: the second factor and single sign-on (read in bounceadmin/accounts/conf.py) -----
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
globals().update(identity_settings(env))

# --- Email --------------------------------------------------------------------------------------
# Outgoing mail as one URL (django-environ's forms: smtp+tls://user:password@host:587,
# smtp+ssl://..., consolemail:// to print mails). The password-reset pages and the alerts send
# mail; the reset pages answer 404 unless EMAIL_URL is set, since without mail a reset can reach
# no one.
_email_url = env.str("EMAIL_URL", default="")  # not a setting itself: it may hold a password
if _email_url:
    globals().update(
        {k: v for k, v in env.email_url_config(_email_url).items() if v not in (None, "")}
    )
else:
    # Nothing else configured: mails (the alerts', see ALERTS_EMAIL_TO) are printed on stdout
    # rather than sent to an SMTP server on localhost that is not there.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
PASSWORD_RESET_ENABLED = bool(_email_url)  # and LOCAL_LOGIN: no passwords, nothing to reset
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bounceadmin@localhost")
EMAIL_TIMEOUT = 10  # seconds: an SMTP server that does not answer must not hang a page

# --- I18N / time --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # WhiteNoise's compressed, hashed files; plain names until collectstatic has run.
        "BACKEND": "bounceadmin.staticfiles.OptionalManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the finders when collectstatic was not run (see bounceadmin/staticfiles.py).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- HTTPS behind a proxy -----------------------------------------------------------------------
BEHIND_HTTPS = env.bool("BEHIND_HTTPS", default=False)
# Proxies in front of the app, each appending to X-Forwarded-For (read only with BEHIND_HTTPS).
PROXY_COUNT = env.int("PROXY_COUNT", default=1)
# The addresses our proxies connect from: X-Forwarded-For counts only on their connections.
TRUSTED_PROXIES = env.list(
    "TRUSTED_PROXIES",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)
if PROXY_COUNT < 1:
    raise ImproperlyConfigured("PROXY_COUNT must be 1 or more (the proxies in front).")
if BEHIND_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]  # preload declined on purpose
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Everything the pages use ships from this origin; nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- SendGrid -----------------------------------------------------------------------------------
SANDBOX_HOST = env.str("SANDBOX_HOST", default="127.0.0.1")
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8025)
# The sandbox serves EU-region subusers on a port of its own, as SendGrid on a host of its own.
SANDBOX_EU_PORT = env.int("SANDBOX_EU_PORT", default=SANDBOX_PORT + 1)
SANDBOX_API_KEY = env.str("SANDBOX_API_KEY", default="SG.sandbox-key")
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY", default="")
# No key: the sandbox is upstream (and `make run` points its webhooks at the local dashboard).
SENDGRID_SANDBOX = not SENDGRID_API_KEY
# EU-region subusers' data lives only on the EU host: every call for one goes there.
if SENDGRID_API_KEY:
    SENDGRID_API_URL = env.str("SENDGRID_API_URL", default="https://api.sendgrid.com")
    SENDGRID_EU_API_URL = env.str("SENDGRID_EU_API_URL", default="https://api.eu.sendgrid.com")
else:
    # No key: the local sandbox stands in for SendGrid (development, demos, tests).
    SENDGRID_API_KEY = SANDBOX_API_KEY
    SENDGRID_API_URL = env.str("SENDGRID_API_URL", default=f"http://{SANDBOX_HOST}:{SANDBOX_PORT}")
    SENDGRID_EU_API_URL = env.str(
        "SENDGRID_EU_API_URL", default=f"http://{SANDBOX_HOST}:{SANDBOX_EU_PORT}"
    )
SENDGRID_CONNECT_TIMEOUT = env.float("SENDGRID_CONNECT_TIMEOUT", default=5.0)
SENDGRID_READ_TIMEOUT = env.float("SENDGRID_READ_TIMEOUT", default=30.0)
SENDGRID_MAX_RETRIES = env.int("SENDGRID_MAX_RETRIES", default=5)
SENDGRID_BACKOFF_SECONDS = env.float("SENDGRID_BACKOFF_SECONDS", default=1.0)
SENDGRID_MAX_RATE_LIMIT_WAIT = env.float("SENDGRID_MAX_RATE_LIMIT_WAIT", default=120.0)
# The rate gate (bounceadmin/sendgrid/gate.py, over CACHES): every process waits out a rate-limit
# pause any of them ran into, and optionally all together stay under a request rate (0: off).
SENDGRID_RATE_GATE = env.bool("SENDGRID_RATE_GATE", default=True)
SENDGRID_RATE_LIMIT_MARGIN = env.int("SENDGRID_RATE_LIMIT_MARGIN", default=2)
SENDGRID_MAX_REQUESTS_PER_SECOND = env.float("SENDGRID_MAX_REQUESTS_PER_SECOND", default=0.0)

# The parent account's own suppression lists are cached too, as one more account named this
# (calls without on-behalf-of); operators see it only if granted, like any subuser.
SENDGRID_PARENT_LISTS = env.bool("SENDGRID_PARENT_LISTS", default=True)
SENDGRID_PARENT_NAME = env.str("SENDGRID_PARENT_NAME", default="(parent account)")

# --- Deletions ----------------------------------------------------------------------------------
# Requests of more addresses than this need a typed confirmation (delete_all always does).
DELETION_CONFIRM_THRESHOLD = env.int("DELETION_CONFIRM_THRESHOLD", default=1000)
# Four-eyes: nobody approves their own request. Only a single-person installation turns this on.
DELETION_ALLOW_SELF_APPROVAL = env.bool("DELETION_ALLOW_SELF_APPROVAL", default=False)

# --- Refresh ------------------------------------------------------------------------------------
# An incremental refresh asks for bounces created since the newest cached one minus this overlap,
# so entries written late upstream are not missed.
REFRESH_OVERLAP_SECONDS = env.int("REFRESH_OVERLAP_SECONDS", default=3600)
# A refresh's or push's lease on its subuser: renewed every third of this while its worker lives,
# so a killed worker's runs out, and is taken over, within this long.
REFRESH_LOCK_SECONDS = env.int("REFRESH_LOCK_SECONDS", default=30)
# A subuser whose last successful refresh is older than this is shown as stale.
REFRESH_STALE_MINUTES = env.int("REFRESH_STALE_MINUTES", default=180)
REFRESH_INCREMENTAL_MINUTES = env.int("REFRESH_INCREMENTAL_MINUTES", default=15)
REFRESH_FULL_CRONTAB = env.str("REFRESH_FULL_CRONTAB", default="30 3 * * *")
# A subuser's refresh also refreshes its other lists (blocks, invalid emails, spam reports,
# global and group unsubscribes), after its bounces.
REFRESH_OTHER_LISTS = env.bool("REFRESH_OTHER_LISTS", default=True)
# Runs that changed nothing are deleted after this many days (bounces/retention.py); runs that
# changed something or failed are kept.
REFRESH_QUIET_RUN_DAYS = env.int("REFRESH_QUIET_RUN_DAYS", default=14)

# --- API ---------------------------------------------------------------------------------------
# Requests per token (or per signed-in operator) and period; over it: 429 with Retry-After.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
REST_FRAMEWORK = rest_framework_settings(throttle_rate=API_THROTTLE_RATE)
SPECTACULAR_SETTINGS = SPECTACULAR

# --- Event Webhook ------------------------------------------------------------------------------
# A delivery whose signed timestamp is further than this from now is refused (a replay).
WEBHOOK_MAX_AGE_SECONDS = env.int("WEBHOOK_MAX_AGE_SECONDS", default=600)
# Larger deliveries are refused 413 (SendGrid's batches are far smaller).
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
# The overview flags a webhook silent this long while polling still finds new bounces.
WEBHOOK_SILENCE_HOURS = env.int("WEBHOOK_SILENCE_HOURS", default=24)
# Refused deliveries recorded in the audit log per endpoint and hour (then every power of ten).
WEBHOOK_REFUSAL_AUDIT_PER_HOUR = env.int("WEBHOOK_REFUSAL_AUDIT_PER_HOUR", default=10)
# Applied deliveries are kept this many days; their events (each address's history) this many.
WEBHOOK_BATCH_DAYS = env.int("WEBHOOK_BATCH_DAYS", default=7)
WEBHOOK_EVENT_DAYS = env.int("WEBHOOK_EVENT_DAYS", default=365)
# Where SendGrid reaches this dashboard (https://dashboard.example): the overview's "Set up
# webhook" points the webhooks there. Unset: the origin the admin's browser used.
WEBHOOK_PUBLIC_URL = env.str("WEBHOOK_PUBLIC_URL", default="")
# The port `make run` serves the dashboard on (Procfile.dev): its webhooks post to it.
WEB_PORT = env.int("WEB_PORT", default=8000)


# --- Alerts -------------------------------------------------------------------------------------
# The rules are configured in Django admin (bounceadmin/alerts). Beat evaluates them this often,
# and a worker after each applied webhook batch and each subuser's refresh.
ALERTS_EVALUATE_SECONDS = env.int("ALERTS_EVALUATE_SECONDS", default=60)
# Who an alert is mailed to (comma-separated; none: no mail), through EMAIL_URL's server.
ALERTS_EMAIL_TO = env.list("ALERTS_EMAIL_TO", default=[])
# A Slack-compatible incoming webhook URL an alert is posted to ("": none).
ALERTS_SLACK_WEBHOOK_URL = env.str("ALERTS_SLACK_WEBHOOK_URL", default="")
# The dashboard's address as its operators reach it (https://dashboard.example), for the links
# in notifications. Unset: WEBHOOK_PUBLIC_URL, else http://127.0.0.1:WEB_PORT (`make run`).
SITE_URL = env.str("SITE_URL", default="") or WEBHOOK_PUBLIC_URL or f"http://127.0.0.1:{WEB_PORT}"


# --- Celery -------------------------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
globals().update(broker_settings(env, url=CELERY_BROKER_URL, broker_dir=BROKER_DIR))
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "bounceadmin.celery:Scheduler"  # Celery's, making that file's folder
CELERY_BEAT_SCHEDULE = beat_schedule(
    refresh_minutes=REFRESH_INCREMENTAL_MINUTES,
    full_crontab=REFRESH_FULL_CRONTAB,
    alerts_seconds=ALERTS_EVALUATE_SECONDS,
    sync_crontab=env.str("SYNC_SUBUSERS_CRONTAB", default="0 * * * *"),
)


# --- Cache (shared by every process: the SendGrid rate gate, locks of the UI) ---------------------
def _redis_cache_url(broker_url: str) -> str:
    """The broker's Redis server, one database number up: a cache clear must never touch the
    task queue."""
    base, _, number = broker_url.rpartition("/")
    if not number.isdigit():
        return broker_url.rstrip("/") + "/1"
    return f"{base}/{int(number) + 1}"


CACHES = {
    "default": env.cache(
        "CACHE_URL",
        default=_redis_cache_url(CELERY_BROKER_URL)
        if CELERY_BROKER_URL.startswith("redis")
        else f"filecache://{DATA_DIR / 'cache'}",
    )
}

# --- Logging ------------------------------------------------------------------------------------
# One line per event, JSON (default) or plain, with the request id: bounceadmin/logconfig.py.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_settings(level=LOG_LEVEL, fmt=LOG_FORMAT)

DJANGO_GUID = {"GUID_HEADER_NAME": "X-Request-ID", "VALIDATE_GUID": False, "RETURN_HEADER": True,
               "INTEGRATIONS": []}  # fmt: skip

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
