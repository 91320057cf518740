"""Ruche settings.

Everything comes from the environment through `groupware.env`, with safe embedded
defaults so that `./ruche run` works with no configuration. `RUCHE_ENV=production`
turns the defaults strict: missing secrets stop the start with the variable's name.
Each variable is documented in README.md ("Configuration").
"""

from __future__ import annotations

import secrets
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from groupware.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
RUCHE_VERSION = "0.1.0"

RUCHE_ENV = env_choice("RUCHE_ENV", ("development", "production", "test"), "development")
PRODUCTION = RUCHE_ENV == "production"
DEBUG = env_bool("RUCHE_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("RUCHE_DEBUG must be off when RUCHE_ENV=production.")

# Data lives outside the code and outside the web root.
DATA_DIR = Path(env_str("RUCHE_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _dev_secret(filename: str, make: str = "token") -> str:
    """A secret generated once per installation and kept under DATA_DIR (never in git)."""
    path = DATA_DIR / filename
    if path.exists():
        return path.read_text().strip()
    if make == "fernet":
        from cryptography.fernet import Fernet

        value = Fernet.generate_key().decode()
    else:
        value = secrets.token_urlsafe(50)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or _dev_secret("secret_key")
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")

# MultiFernet keys: the first encrypts, all decrypt, so a key can be rotated.
RUCHE_CREDENTIALS_KEYS = env_list("RUCHE_CREDENTIALS_KEYS") or (
    [] if PRODUCTION else [_dev_secret("credentials.key", make="fernet")]
)
if PRODUCTION and not RUCHE_CREDENTIALS_KEYS:
    raise ImproperlyConfigured(
        "RUCHE_CREDENTIALS_KEYS must be set (comma-separated Fernet keys; "
        "generate one with ./manage.py credentials_key)."
    )
# A malformed key would only fail at the first mail login: refuse it at start (without echoing it).
for _position, _key in enumerate(RUCHE_CREDENTIALS_KEYS, start=1):
    try:
        from cryptography.fernet import Fernet

        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"RUCHE_CREDENTIALS_KEYS: key number {_position} is not a Fernet key "
            "(generate one with ./manage.py credentials_key)."
        ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{h}" for h in ALLOWED_HOSTS if h != "*"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.core",
    "apps.accounts",
    "apps.chat",
    "apps.mail",
    "apps.contacts",
    "apps.dav",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "groupware.urls"
ASGI_APPLICATION = "groupware.asgi.application"
WSGI_APPLICATION = "groupware.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "apps.core.context_processors.shell",
            ],
        },
    },
]

# --- Database: SQLite (WAL) under DATA_DIR by default, anything dj-database-url reads otherwise.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'ruche.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
except Exception as exc:  # dj-database-url raises several types for bad URLs
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Ruche understands: {exc}") from exc
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and not DATABASES["default"].get("NAME"):
    # The URL may hold a password: it is not repeated in the message.
    raise ImproperlyConfigured("DATABASE_URL names no database (e.g. postgres://user@host:5432/ruche).")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web, worker and beat processes read while one writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails in seconds, not after the OS's TCP timeout (the status page waits on it).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # The web process (groupware/asgi.py turns this on) borrows connections from a pool: opening
    # one per request costs ~8 ms, half the list page's budget. Workers and the push process keep
    # their own long-lived connections and do not need it.
    if env_bool("RUCHE_DB_POOL", False):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 2,
            "max_size": env_int("RUCHE_DB_POOL_MAX", 10, minimum=2),
            "timeout": 10,
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, channel layer, cache, presence.
# `./ruche run` starts a private Redis when REDIS_URL is unset and records its URL here.
_LAUNCHER_REDIS = DATA_DIR / "run" / "redis.url"
REDIS_URL = env_str("REDIS_URL", required=PRODUCTION) or (
    _LAUNCHER_REDIS.read_text().strip() if _LAUNCHER_REDIS.exists() else "redis://127.0.0.1:6379/0"
)
if urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {REDIS_URL!r}.")
# One prefix for every Redis key and channel group, so two installations (or two
# test workers) can share a server without seeing each other.
RUCHE_REDIS_PREFIX = env_str("RUCHE_REDIS_PREFIX", "ruche")

CACHES = {
    "default": {
        "BACKEND": "apps.core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": RUCHE_REDIS_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 times reads out after 5 s by default, exactly the layer's blocking-pop
            # time: without a longer socket timeout, idle WebSockets die every few seconds.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": f"{RUCHE_REDIS_PREFIX}:asgi",
            "capacity": 500,
            "expiry": 30,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{RUCHE_REDIS_PREFIX}:celery:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task gives the task back
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "run" / "celerybeat-schedule")

# --- Accounts (allauth)
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "apps.accounts.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Ruche] "
ACCOUNT_RATE_LIMITS = {
    # Failed logins: per client address and per account, so guessing is slow
    # from one place and one account cannot be hammered from many.
    "login_failed": env_str("RUCHE_LOGIN_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
RUCHE_SIGNUP_OPEN = env_bool("RUCHE_SIGNUP_OPEN", default=False)
# Accounts made by admins are trusted as they are. Self-service accounts must prove their
# address: otherwise anyone could claim an address, and lock its owner out with MFA.
if RUCHE_SIGNUP_OPEN:
    ACCOUNT_EMAIL_VERIFICATION = "mandatory"
MFA_ALLOW_UNVERIFIED_EMAIL = not RUCHE_SIGNUP_OPEN
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("RUCHE_SITE_NAME", "Ruche")
MFA_PASSKEY_LOGIN_ENABLED = False
# WebAuthn needs a secure context; http://127.0.0.1 is one for browsers, but allauth
# must be told to accept the plain-http origin outside production.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION

# Argon2id first, with OWASP's parameters (apps/accounts/hashers.py: ~20 ms per sign-in instead of
# 125 with Django's, 227 with PBKDF2); every other hash still verifies and is upgraded at the next
# sign-in. (Django's own Argon2 hasher is not listed: it has the same "argon2" name.)
PASSWORD_HASHERS = [
    "apps.accounts.hashers.RucheArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Outgoing mail of the instance itself (password resets, notifications).
RUCHE_SMTP_HOST = env_str("RUCHE_SMTP_HOST", "")
if PRODUCTION and not RUCHE_SMTP_HOST:
    raise ImproperlyConfigured("RUCHE_SMTP_HOST must be set: Ruche sends password resets through it.")
if RUCHE_SMTP_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = RUCHE_SMTP_HOST
    EMAIL_PORT = env_int("RUCHE_SMTP_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("RUCHE_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = env_str("RUCHE_SMTP_PASSWORD", "")
    _security = env_choice("RUCHE_SMTP_SECURITY", ("starttls", "tls", "none"), "starttls")
    EMAIL_USE_TLS = _security == "starttls"
    EMAIL_USE_SSL = _security == "tls"
    EMAIL_TIMEOUT = 20
else:
    # No SMTP server configured (development): mails are written under DATA_DIR/outbox.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
DEFAULT_FROM_EMAIL = env_str("RUCHE_FROM_EMAIL", "Ruche <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Defaults offered when a user adds a mail account (the organisation's own server).
RUCHE_MAIL_DEFAULTS = {
    "imap_host": env_str("RUCHE_MAIL_IMAP_HOST", ""),
    "imap_port": env_int("RUCHE_MAIL_IMAP_PORT", 993, minimum=1),
    "imap_security": env_choice("RUCHE_MAIL_IMAP_SECURITY", ("tls", "starttls", "none"), "tls"),
    "smtp_host": env_str("RUCHE_MAIL_SUBMISSION_HOST", ""),
    "smtp_port": env_int("RUCHE_MAIL_SUBMISSION_PORT", 587, minimum=1),
    "smtp_security": env_choice("RUCHE_MAIL_SUBMISSION_SECURITY", ("tls", "starttls", "none"), "starttls"),
    "sieve_port": env_int("RUCHE_MAIL_SIEVE_PORT", 4190, minimum=1),
}
# The organisation's own mail domains: autodiscovery offers RUCHE_MAIL_DEFAULTS for them.
RUCHE_MAIL_DOMAINS = [d.lower() for d in env_list("RUCHE_MAIL_DOMAINS")]
# Sign-in with IMAP credentials (Roundcube-style), off unless domains are listed: people whose
# address is in one of them log in with their mail password; user and mail account are made then.
RUCHE_IMAP_LOGIN_DOMAINS = [d.lower() for d in env_list("RUCHE_IMAP_LOGIN_DOMAINS")]
# Server: the mail account defaults unless given.
RUCHE_IMAP_LOGIN_HOST = env_str("RUCHE_IMAP_LOGIN_HOST", env_str("RUCHE_MAIL_IMAP_HOST", ""))
RUCHE_IMAP_LOGIN_PORT = env_int("RUCHE_IMAP_LOGIN_PORT", env_int("RUCHE_MAIL_IMAP_PORT", 993, minimum=1), minimum=1)
RUCHE_IMAP_LOGIN_SECURITY = env_choice(
    "RUCHE_IMAP_LOGIN_SECURITY",
    ("tls", "starttls", "none"),
    env_choice("RUCHE_MAIL_IMAP_SECURITY", ("tls", "starttls", "none"), "tls"),
)
if RUCHE_IMAP_LOGIN_DOMAINS:
    if not RUCHE_IMAP_LOGIN_HOST:
        raise ImproperlyConfigured("RUCHE_IMAP_LOGIN_DOMAINS needs RUCHE_IMAP_LOGIN_HOST (or RUCHE_MAIL_IMAP_HOST).")
    # Last: local passwords are checked first; the IMAP server is asked only for listed domains.
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "apps.mail.backends.ImapLoginBackend"]

# --- Internationalisation
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("RUCHE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files: static assets served by Ruche itself, user files outside the web root.
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at every start when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# whitenoise streams files with a sync iterator, which Django's ASGI handler warns about
# for every asset; harmless (nginx serves /static/ itself in production).
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
# Outside production, serve straight from the source folders: no collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
RUCHE_AVATAR_MAX_BYTES = env_int("RUCHE_AVATAR_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
RUCHE_MAIL_BODY_CACHE_MAX = env_int("RUCHE_MAIL_BODY_CACHE_MAX", 2 * 1024 * 1024, minimum=0)  # bytes per message
# Seconds between two periodic syncs of an account nobody watches by IMAP IDLE (the beat sweep).
RUCHE_MAIL_SYNC_INTERVAL = env_int("RUCHE_MAIL_SYNC_INTERVAL", 300, minimum=30)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security headers
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions are read from Redis on every request and kept in the database too, so a restarted
# Redis signs nobody out: one database query less per page.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("RUCHE_SESSION_DAYS", 14, minimum=1) * 86400
# No inline script anywhere, so the policy can be strict from day one.
RUCHE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("RUCHE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("RUCHE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RUCHE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("RUCHE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is the domain owner's commitment (hstspreload.org), not an installer's default;
        # RUCHE_HSTS_PRELOAD=true turns it on. Every other deploy check stays on.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Presence
RUCHE_PRESENCE_TTL = env_int("RUCHE_PRESENCE_TTL", 45, minimum=5)  # seconds without a heartbeat → offline
RUCHE_PRESENCE_IDLE_SECONDS = env_int("RUCHE_PRESENCE_IDLE_SECONDS", 300, minimum=10)

# --- Logging: one JSON object per line in production, readable lines otherwise.
RUCHE_LOG_FORMAT = env_choice("RUCHE_LOG_FORMAT", ("json", "text"), "json" if PRODUCTION else "text")
RUCHE_LOG_LEVEL = env_choice("RUCHE_LOG_LEVEL", ("debug", "info", "warning", "error"), "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "groupware.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": RUCHE_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": RUCHE_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "asyncio": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
    },
}

SITE_NAME = env_str("RUCHE_SITE_NAME", "Ruche")

# --- Composing and sending mail (apps/mail/compose.py, outbox.py)
# Attachments past this size get a warning (suggest a share link); messages past the maximum
# (or past the SMTP server's own SIZE, whichever is smaller) are refused before the upload.
RUCHE_MAIL_ATTACHMENT_WARN_MB = env_int("RUCHE_MAIL_ATTACHMENT_WARN_MB", 10, minimum=1)
RUCHE_MAIL_MAX_MESSAGE_MB = env_int("RUCHE_MAIL_MAX_MESSAGE_MB", 25, minimum=1)

# --- Directory of colleagues fed from LDAP (apps/contacts/ldap.py, ldap_feed.py); off while the URL is empty.
# Hourly sync by beat, or `manage.py directory_ldap_sync`. Users are created/updated, never deleted.
RUCHE_LDAP_URL = env_str("RUCHE_LDAP_URL", "")
RUCHE_LDAP_BIND_DN = env_str("RUCHE_LDAP_BIND_DN", "")
RUCHE_LDAP_BIND_PASSWORD = env_str("RUCHE_LDAP_BIND_PASSWORD", "")
RUCHE_LDAP_BASE_DN = env_str("RUCHE_LDAP_BASE_DN", "")
RUCHE_LDAP_FILTER = env_str("RUCHE_LDAP_FILTER", "(objectClass=inetOrgPerson)")
RUCHE_LDAP_STARTTLS = env_bool("RUCHE_LDAP_STARTTLS", default=False)
RUCHE_LDAP_TIMEOUT = env_int("RUCHE_LDAP_TIMEOUT", 10, minimum=1)  # seconds, connect and each answer
RUCHE_LDAP_CA_FILE = env_str("RUCHE_LDAP_CA_FILE", "")  # PEM CA of the server's certificate; empty: system CAs
# Ruche field = LDAP attribute; `RUCHE_LDAP_ATTRIBUTES=phone=mobile,job_title=description` overrides some.
_LDAP_FIELDS = ("username", "email", "first_name", "last_name", "display_name", "phone", "job_title")
RUCHE_LDAP_ATTRIBUTES = {
    "username": "uid",
    "email": "mail",
    "first_name": "givenName",
    "last_name": "sn",
    "display_name": "displayName",
    "phone": "telephoneNumber",
    "job_title": "title",
}
for _pair in env_list("RUCHE_LDAP_ATTRIBUTES"):
    _field, _sep, _attribute = _pair.partition("=")
    if not _sep or _field.strip() not in _LDAP_FIELDS or not _attribute.strip():
        raise ImproperlyConfigured(
            f"RUCHE_LDAP_ATTRIBUTES: {_pair!r} must be FIELD=ATTRIBUTE with FIELD one of {', '.join(_LDAP_FIELDS)}."
        )
    RUCHE_LDAP_ATTRIBUTES[_field.strip()] = _attribute.strip()
if RUCHE_LDAP_URL and not RUCHE_LDAP_BASE_DN:
    raise ImproperlyConfigured("RUCHE_LDAP_URL needs RUCHE_LDAP_BASE_DN (where the people are).")

# ---------------------------------------------------------------- DAV (apps/dav)
# Largest request body any DAV method reads (413 above it).
RUCHE_DAV_MAX_BODY_BYTES = env_int("RUCHE_DAV_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
# Largest vCard a client may store (CARDDAV:max-resource-size; 403 above it, RFC 6352 section 6.3.2.1).
# The default matches what apps.contacts.vcards accepts from any source.
RUCHE_DAV_MAX_CARD_BYTES = env_int("RUCHE_DAV_MAX_CARD_BYTES", 512 * 1024, minimum=1024)
