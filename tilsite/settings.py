"""Settings for the TIL information site, read from the environment (12-factor).

Every variable is listed, with its default, in README.md and .env.example.
With DJANGO_DEBUG unset the site runs in production mode, and refuses to start
without a strong secret key, allowed hosts and a real mail server.
"""

import datetime
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from tilsite.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    is_weak_secret_key,
    mailer_from_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

# --- Secrets and hosts
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY and DEBUG:
    # Only ever used with DEBUG on, on a developer's own machine.
    SECRET_KEY = "development-only-key-never-used-in-production-" + "x7Kq2M9d" * 4
if not DEBUG and is_weak_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing or weak: set it to a random value of 50 or more "
        "characters (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is empty: list the host names the site answers to, "
        "separated by commas (for example til.example.org)."
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- The organisation that runs the site
SITE_NAME = env_str("SITE_NAME", "TIL Therapy Information")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Left empty, pages say nothing about who runs the site rather than invent it.
ORGANISATION_NAME = env_str("ORGANISATION_NAME")
# The emergency telephone number where most readers live (for example 911), shown in the
# warning-signs block. Left empty, pages say "your local emergency number".
EMERGENCY_NUMBER = env_str("EMERGENCY_NUMBER")

# --- Applications
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "crispy_forms",
    "crispy_forms_gds",
    "axes",
    "tilsite.apps.TilsiteConfig",
    "citations.apps.CitationsConfig",
    "inquiries.apps.InquiriesConfig",
    "feedback.apps.FeedbackConfig",
    "stewardship.apps.StewardshipConfig",
    # After tilsite: it indexes the pages TilsiteConfig built.
    "search.apps.SearchConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language comes from the address (/es/...), never from headers or cookies.
    "tilsite.language.LanguageFromPathMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tilsite.urls"
# Where staff sign in; moving it away from the default keeps casual scanners off the login form.
ADMIN_URL = env_str("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"
WSGI_APPLICATION = "tilsite.wsgi.application"

_TEMPLATE_LOADERS = [
    "django.template.loaders.filesystem.Loader",
    "django.template.loaders.app_directories.Loader",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tilsite.context_processors.site",
            ],
            # Compiled templates are kept in production. In debug they are read on each use:
            # gunicorn's reloader (make run) watches Python files only, and runserver's
            # template watching is not there to empty the cache, so an edit shows at once.
            "loaders": _TEMPLATE_LOADERS
            if DEBUG
            else [("django.template.loaders.cached.Loader", _TEMPLATE_LOADERS)],
        },
    },
]

# --- Database
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; IMMEDIATE transactions take the write
    # lock up front, so concurrent form posts queue on the busy timeout instead of failing
    # with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Email
EMAIL_URL = env_str("EMAIL_URL", "console:" if DEBUG else "")
if not DEBUG and (not EMAIL_URL or EMAIL_URL.startswith("console")):
    raise ImproperlyConfigured(
        "EMAIL_URL is not set to a mail server: production needs SMTP, for example "
        "smtp://user:password@mail.example.org:587?tls=1."
    )
MAILERS = {"default": mailer_from_url(EMAIL_URL)}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TIL information site <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Passwords, sessions, security headers
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Staff sign-in: django-axes throttles repeated failures per account and per client address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks: per account, per client
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "errors/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "tilsite.client_ip.axes_client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "password"]
# How many proxies in front of gunicorn append to X-Forwarded-For (tilsite/client_ip.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0 if DEBUG else 1)

SESSION_COOKIE_AGE = 9 * 60 * 60  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# A failed check shows the site's own page; the question form comes back as typed.
CSRF_FAILURE_VIEW = "inquiries.views.csrf_failure"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("DJANGO_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": [],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
}
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Internationalisation
LANGUAGE_CODE = "en-gb"
# English at today's addresses, Spanish under /es/ (pages in content/es/, interface text in
# locale/es/LC_MESSAGES/django.po). A language is a content folder plus a translation file.
LANGUAGES = [("en-gb", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Cache: fragments of pages that are the same for everyone (the empty question form's
# fields), kept in each process. In debug nothing is kept, so that template edits show.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.dummy.DummyCache"
        if DEBUG
        else "django.core.cache.backends.locmem.LocMemCache"
    }
}

# --- Static files (whitenoise: hashed names, compressed, cached for a year)
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Forms
CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"

# --- Content and citations
CONTENT_DIR = BASE_DIR / "content"
SOURCES_FILE = BASE_DIR / "sources.yaml"
# Re-read a page when its file changes (development); in production pages are built once.
CONTENT_RELOAD = env_bool("CONTENT_RELOAD", default=DEBUG)

# --- Inquiries
# The question form at /contact/, its emails and its staff workflow (inquiries/README.md).
# Staff addresses that receive each new question, comma-separated (checked: inquiries.E001/2).
INQUIRY_NOTIFY_EMAILS = env_list("INQUIRY_NOTIFY_EMAILS", "staff@localhost" if DEBUG else "")
# Put the person's question and details in the staff email. Off: the email carries only the
# reference, the topic and a link to the admin (for organisations that keep data out of mail).
INQUIRY_EMAIL_INCLUDE_MESSAGE = env_bool("INQUIRY_EMAIL_INCLUDE_MESSAGE", default=True)
# When people can expect a reply, e.g. "within 3 working days", and when staff read questions,
# e.g. "Monday to Friday, 9am to 5pm". Left empty, pages and emails promise nothing specific.
INQUIRY_REPLY_TIME = env_str("INQUIRY_REPLY_TIME")
INQUIRY_OPENING_HOURS = env_str("INQUIRY_OPENING_HOURS")
# Working days (Monday to Friday) within which staff aim to answer. When set, the form promises
# "within N working days" and the admin shows and filters the questions waiting longer.
INQUIRY_REPLY_WORKING_DAYS = env_int("INQUIRY_REPLY_WORKING_DAYS", 0) or None
# A form sent back sooner than this after it was shown is treated as a robot (seconds).
INQUIRY_MIN_FILL_SECONDS = env_int("INQUIRY_MIN_FILL_SECONDS", 3)
# A form older than this asks to be sent again, with what was typed kept (seconds).
INQUIRY_FORM_MAX_AGE_SECONDS = env_int("INQUIRY_FORM_MAX_AGE_SECONDS", 24 * 60 * 60)
# At most this many questions from one client (IP address, or IPv6 /64) per window (seconds).
INQUIRY_RATE_LIMIT = env_int("INQUIRY_RATE_LIMIT", 10)
INQUIRY_RATE_LIMIT_WINDOW_SECONDS = env_int("INQUIRY_RATE_LIMIT_WINDOW_SECONDS", 60 * 60)
# (The client address comes from tilsite/client_ip.py, behind TRUSTED_PROXY_COUNT proxies.)
# Seconds to wait before each new attempt when an email cannot be sent; after the last one
# the email is marked failed. The default keeps trying for about 45 hours.
try:
    INQUIRY_EMAIL_RETRY_DELAYS = [
        int(delay)
        for delay in env_list(
            "INQUIRY_EMAIL_RETRY_DELAYS", "60,300,1800,7200,21600,43200,43200,43200"
        )
    ]
except ValueError:
    raise ImproperlyConfigured(
        "INQUIRY_EMAIL_RETRY_DELAYS must be whole numbers of seconds, separated by commas."
    ) from None
# A send task still "running" after this many seconds is taken to have lost its worker (killed
# mid-send) and is queued again; a sweep checks this while any email is pending.
INQUIRY_STALLED_SEND_SECONDS = env_int("INQUIRY_STALLED_SEND_SECONDS", 300)
# Closed and spam inquiries are deleted this many days after closing (purge_inquiries).
INQUIRY_RETENTION_DAYS = env_int("INQUIRY_RETENTION_DAYS", 365)

# --- Page feedback ("Was this page helpful?", feedback/README.md)
# Answers (votes and comments) one client (IP address, or IPv6 /64) may give in a day.
FEEDBACK_RATE_LIMIT = env_int("FEEDBACK_RATE_LIMIT", 30)

# --- Logging: requests and errors, never what people typed


def _client_error_in_one_line(record) -> bool:
    """Drop the traceback of a request the client got wrong (a 4xx response): a wrong Host
    header, a body too big or with too many fields, a broken upload. Every public site gets
    these all day; a traceback each would bury the errors that need someone. A 5xx keeps it."""
    if getattr(record, "status_code", 500) < 500:
        record.exc_info = record.exc_text = None
    return True


# Django logs those requests on django.request (status 400, a body it cannot parse) and on
# django.security.<the exception's class>, with its traceback. A logger's filter sees only its
# own records, not its children's, so each one is named.
_CLIENT_ERROR_LOGGERS = [
    "django.request",
    *(
        f"django.security.{name}"
        for name in (
            "DisallowedHost",
            "DisallowedRedirect",
            "RequestDataTooBig",
            "TooManyFieldsSent",
            "TooManyFilesSent",
            "SuspiciousMultipartForm",
            "SuspiciousFileOperation",
        )
    ),
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "client_error_in_one_line": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _client_error_in_one_line,
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        **{name: {"filters": ["client_error_in_one_line"]} for name in _CLIENT_ERROR_LOGGERS},
    },
}
