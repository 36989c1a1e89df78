"""All settings, read from the environment in this one module.

The embedded default (SQLite file, in-process broker, local Ray) and production (PostgreSQL, Redis,
a Ray cluster) run the same code; only these values differ.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]


def env_str(name: str, default: str) -> str:
    # An empty value means "not set", so `VAR= make demo` falls back to the embedded default.
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("DJANGO_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # Development and the embedded demo only; production sets DJANGO_REQUIRE_SECRET_KEY=true.
    SECRET_KEY = "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
# Keys (newest first, comma-separated Fernet keys) that encrypt stored secrets: connection credentials, Slack tokens,
# webhook secrets (config/encryption.py). Unset, one is derived from SECRET_KEY; set them to rotate either alone.
FIELD_ENCRYPTION_KEYS = [k.strip() for k in env_str("FIELD_ENCRYPTION_KEYS", "").split(",") if k.strip()] or [
    base64.urlsafe_b64encode(hashlib.sha256(b"field-encryption:" + SECRET_KEY.encode()).digest()).decode()]
ALLOWED_HOSTS = [h for h in env_str("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h]

# The embedded default is an SQLite file; tests and production point DATABASE_URL at PostgreSQL.
DATA_DIR = Path(env_str("HEADSHOTS_DATA_DIR", str(BASE_DIR / ".demo-data")))
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'headshots.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: WAL lets the in-process worker write while the web side reads progress.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 30, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_dramatiq",
    "tenancy",
    "accounts",
    "brand_kits",
    "teams",
    "consent",
    "integrations",
    "rollouts",
    "privacy",
    "sso",
    "portal",
    "webhooks",
    "scim",
    "connectors",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after the security headers, before sessions and auth are loaded for nothing.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A NUL in an API query parameter or a control character in its Authorization header: 4xx before any view.
    "config.middleware.ApiInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the caller every earlier middleware and the view resolved, and the final status code.
    "audit.middleware.AuditMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Uploads: one selfie is at most this many bytes; Django keeps larger bodies on disk, not in memory.
SELFIE_MAX_BYTES = env_int("SELFIE_MAX_BYTES", 25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Per-organization defaults: a set is ready at SELFIES_REQUIRED_DEFAULT accepted photos and holds at most
# SELFIES_MAX_DEFAULT (8 of 8-15); each organization can change both within SELFIES_LIMIT.
SELFIES_REQUIRED_DEFAULT = env_int("SELFIES_REQUIRED_DEFAULT", 8)
SELFIES_MAX_DEFAULT = env_int("SELFIES_MAX_DEFAULT", 15)
SELFIES_LIMIT = 30
INVITE_TTL_HOURS = env_int("INVITE_TTL_HOURS", 72)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's parsers plus a JSON depth limit and no NUL characters (config/request_input.py).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser", "config.parsers.FormParser",
                               "config.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    # Rate limits (config/throttling.py), DRF's "<count>/<sec|min|hour|day>"; over one: 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_str("API_LOGIN_RATE_PER_IP", "10/min"),
        "login_email": env_str("API_LOGIN_RATE_PER_EMAIL", "10/min"),
        "signup": env_str("API_SIGNUP_RATE_PER_IP", "10/hour"),
        "selfie_upload": env_str("API_SELFIE_UPLOAD_RATE", "60/min"),
        "user": env_str("API_USER_RATE", "1200/min"),
    },
    # Behind a proxy, how many X-Forwarded-For hops to trust for the per-IP limits (0 = REMOTE_ADDR only).
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0),
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    _n, _, _unit = _rate.partition("/")
    if not _n.isdigit() or _unit not in {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}:
        raise ImproperlyConfigured(f"the {_scope} rate must look like 10/min, got {_rate!r}")
SPECTACULAR_SETTINGS = {
    "TITLE": "Headshot Platform API",
    "DESCRIPTION": "Brand kits, employees, selfies, generation and exports, scoped to one organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every /api/ operation documents its error answers (the Error shape) and the schema states the input limits.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.openapi.document_errors_and_limits"],
}

# Jobs: "redis" in tests and production; the embedded default is the in-process stub broker.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
DRAMATIQ_BROKER_KIND = env_str("DRAMATIQ_BROKER", "stub")
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "dramatiq.middleware.CurrentMessage",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
]
if DRAMATIQ_BROKER_KIND == "redis":
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": REDIS_URL, "namespace": env_str("DRAMATIQ_NAMESPACE", "headshots"),
                    # A worker silent this long is dead: its unacked messages go back on the queue for another.
                    "heartbeat_timeout": env_int("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", 60_000),
                    # Per million broker commands, how many also run that requeue check (dramatiq's default: 1000).
                    "maintenance_chance": env_int("DRAMATIQ_MAINTENANCE_CHANCE", 1000)},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
elif DRAMATIQ_BROKER_KIND == "stub":
    DRAMATIQ_BROKER = {"BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}, "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE}
else:
    raise ImproperlyConfigured("DRAMATIQ_BROKER must be 'redis' or 'stub'")
DRAMATIQ_TASKS_DATABASE = "default"
DRAMATIQ_AUTODISCOVER_MODULES = ["jobs"]

# Inference backends: "studio" runs on any CPU; "klein" (FLUX.2 [klein] 4B, Apache-2.0: the commercially safe way to
# generate faces) and "diffusion" (SDXL) need a model store filled by deploy/fetch_models.py (and a GPU to be fast).
# A brand kit may ask for any of them; kits that say "default" get INFERENCE_BACKEND.
INFERENCE_BACKEND = env_str("INFERENCE_BACKEND", "studio")
if INFERENCE_BACKEND not in ("studio", "klein", "diffusion"):
    raise ImproperlyConfigured("INFERENCE_BACKEND must be 'studio', 'klein' or 'diffusion'")
MODEL_STORE = os.environ.get("MODEL_STORE") or None
if INFERENCE_BACKEND != "studio" and not MODEL_STORE:
    raise ImproperlyConfigured(f"INFERENCE_BACKEND={INFERENCE_BACKEND} needs MODEL_STORE (fill it with "
                               "deploy/fetch_models.py)")
DIFFUSION_DEVICE = env_str("DIFFUSION_DEVICE", "cuda")
# bfloat16: fp16's range without its overflows (klein's transformer and text encoder are trained in bf16).
DIFFUSION_DTYPE = env_str("DIFFUSION_DTYPE", "bfloat16")
if DIFFUSION_DTYPE not in ("bfloat16", "float16", "float32"):
    raise ImproperlyConfigured("DIFFUSION_DTYPE must be 'bfloat16', 'float16' or 'float32'")
DIFFUSION_VARIANT = env_str("DIFFUSION_VARIANT", "lightning")
# "keep" (the selfie's face pixels stay; commercially safe) or "generate" (identity adapter; non-commercial weights).
DIFFUSION_FACE_MODE = env_str("DIFFUSION_FACE_MODE", "keep")
# MODNet's portrait-matting weights (inference/matting.py): `make` and both images fetch them to models/modnet.onnx
# under the code (/app/models in the images). The Ray actors open this path, so it must exist on every Ray node. A
# missing file falls back to mediapipe's coarser matte (logged); a file with the wrong sha256 stops the workers.
PORTRAIT_MATTE_MODEL = env_str("PORTRAIT_MATTE_MODEL", str(BASE_DIR / "models" / "modnet.onnx"))

# Ray: a local Ray started in-process by default; RAY_ADDRESS connects to a cluster (e.g. KubeRay).
RAY_ADDRESS = env_str("RAY_ADDRESS", "local")
RAY_NUM_ACTORS = env_int("RAY_NUM_ACTORS", 1)
RAY_NUM_CPUS_PER_ACTOR = env_float("RAY_NUM_CPUS_PER_ACTOR", 1.0)
RAY_NUM_GPUS_PER_ACTOR = env_float("RAY_NUM_GPUS_PER_ACTOR", 0.0)
RAY_LOCAL_NUM_CPUS = env_int("RAY_LOCAL_NUM_CPUS", 2)
RAY_OBJECT_STORE_MB = env_int("RAY_OBJECT_STORE_MB", 256)
# The pipeline each actor builds ("module:Class") and its keyword arguments as JSON (benchmarks use a stand-in).
# What each actor holds: by default the router that serves both backends (studio always; diffusion with a store).
RAY_PIPELINE = env_str("RAY_PIPELINE", "inference.backends:BackendRouter")
RAY_PIPELINE_OPTIONS = env_str("RAY_PIPELINE_OPTIONS", "{}")
# Selfie sets per actor call; batches in flight per process (0 = two per actor); crash recovery.
RAY_BATCH_SIZE = env_int("RAY_BATCH_SIZE", 1)
RAY_MAX_IN_FLIGHT = env_int("RAY_MAX_IN_FLIGHT", 0)
# No result for a batch after this long: the cluster is presumed gone, the pool reconnects on the job's retry.
RAY_BATCH_TIMEOUT_SECONDS = env_float("RAY_BATCH_TIMEOUT_SECONDS", 1800.0)
RAY_MAX_RESTARTS = env_int("RAY_MAX_RESTARTS", 3)
RAY_MAX_TASK_RETRIES = env_int("RAY_MAX_TASK_RETRIES", 2)

# Rollouts: at most this many rollout requests are queued or running at once (the rest wait in the database), so a
# 5,000-person rollout never floods Redis or the object store and a new hire's request is never stuck behind it.
ROLLOUT_MAX_IN_FLIGHT = env_int("ROLLOUT_MAX_IN_FLIGHT", 8)
# How often a running rollout checks on itself (re-feeds the queue if a finishing job's hand-off was lost).
ROLLOUT_TICK_SECONDS = env_int("ROLLOUT_TICK_SECONDS", 30)
# The ETA's assumption until this organization has finished requests to measure.
ROLLOUT_DEFAULT_SECONDS_PER_REQUEST = env_float("ROLLOUT_DEFAULT_SECONDS_PER_REQUEST", 90.0)
# Readiness (/readyz) also probes RAY_ADDRESS when true (web pods usually don't need Ray to serve).
READINESS_CHECK_RAY = env_bool("READINESS_CHECK_RAY", False)

# The production web server (gunicorn, platform/config/gunicorn.py): WEB_CONCURRENCY processes (gunicorn's own
# variable name) of WEB_THREADS threads each. Measured on 2 cores in deploy/SIZING.md.
WEB_HOST = env_str("WEB_HOST", "0.0.0.0")
WEB_PORT = env_int("WEB_PORT", 8000)
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2)
WEB_THREADS = env_int("WEB_THREADS", 4)
WEB_TIMEOUT_SECONDS = env_int("WEB_TIMEOUT_SECONDS", 120)
WEB_ACCESS_LOG = env_bool("WEB_ACCESS_LOG", False)
# Which proxies may set X-Forwarded-* for gunicorn (comma-separated addresses; gunicorn's default is 127.0.0.1).
WEB_FORWARDED_ALLOW_IPS = env_str("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
if WEB_CONCURRENCY < 1 or WEB_THREADS < 1:
    raise ImproperlyConfigured("WEB_CONCURRENCY and WEB_THREADS must be at least 1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "outbox"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "headshots@localhost")
# Where invite links point (the portal that accepts them).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000")
# Generation retries before a request is marked failed (each retry backs off exponentially).
GENERATION_MAX_ATTEMPTS = env_int("GENERATION_MAX_ATTEMPTS", 4)
# PostgreSQL is the source of truth for the queue: a request still "queued" this long after it was sent has lost its
# message (the broker was down at the hand-off, or restarted without it) and is sent again. Running a request twice
# is safe (idempotency keys), so this only needs to be longer than a normal wait in the queue.
GENERATION_REQUEUE_AFTER_SECONDS = env_int("GENERATION_REQUEUE_AFTER_SECONDS", 600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Portal (platform/portal): pages, static files, security headers -------------------------------------------
# Static files: WhiteNoise serves them (compressed); with finders on, tests and a fresh checkout need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
if WHITENOISE_USE_FINDERS:
    import warnings

    # Finders serve the files, so a STATIC_ROOT that collectstatic never filled is expected, not a problem.
    # (WhiteNoise warns with a stack level that points at Django's handler, so match the message, not the module.)
    warnings.filterwarnings("ignore", message=r"No directory at: .*", category=UserWarning)
# Only the languages the portal is translated into (so <html lang> never claims one it isn't written in).
LANGUAGES = [("en", "English")]
# Security headers. Cookies are Secure unless DJANGO_DEBUG (the browser tests turn it off for their http server).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only turn on when the proxy always sets it).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our own static files (no inline script); pages can't be framed.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; "
                           "frame-ancestors 'none'")
# Pages that load third-party assets by design (the Swagger UI) get no CSP from our middleware.
CONTENT_SECURITY_POLICY_EXEMPT_PREFIXES = ("/api/docs/",)
LOGIN_URL = "/login"
# Biometric data (face embeddings, identity profiles, the selfies) is deleted this many days after an employee's
# headshot is approved; approved headshots are kept until the employee leaves.
BIOMETRIC_RETENTION_DAYS = env_int("BIOMETRIC_RETENTION_DAYS", 30)
# Erasure receipts are signed with HMAC-SHA256 (a key derived from SECRET_KEY) unless an Ed25519 private key
# is set here (PEM, or base64 of the 32 raw bytes): then anyone holding the public key can check a receipt.
PRIVACY_RECEIPT_SIGNING_KEY = env_str("PRIVACY_RECEIPT_SIGNING_KEY", "")
# A file that storage refuses to delete during an erasure is tried this many times before it is reported.
PRIVACY_ERASURE_FILE_ATTEMPTS = env_int("PRIVACY_ERASURE_FILE_ATTEMPTS", 3)

# --- SSO (platform/sso) ----------------------------------------------------------------------------------------
# After /login (email -> the organization's SAML IdP, or a one-time code by email) people land here.
LOGIN_REDIRECT_URL = "/app/"
# How long an SP-initiated AuthnRequest may take to come back to the ACS.
SSO_REQUEST_TTL_SECONDS = env_int("SSO_REQUEST_TTL_SECONDS", 600)
# Emailed sign-in codes: lifetime and wrong tries before a code is burnt.
LOGIN_CODE_TTL_MINUTES = env_int("LOGIN_CODE_TTL_MINUTES", 10)
LOGIN_CODE_MAX_ATTEMPTS = env_int("LOGIN_CODE_MAX_ATTEMPTS", 5)
# Codes are limited per (address, client IP) with a doubling wait between them, starting at this many seconds, so
# a stranger elsewhere can't lock anyone out; one IP may ask for this many codes an hour over all addresses.
LOGIN_CODE_BACKOFF_SECONDS = env_int("LOGIN_CODE_BACKOFF_SECONDS", 30)
LOGIN_CODE_MAX_PER_IP_PER_HOUR = env_int("LOGIN_CODE_MAX_PER_IP_PER_HOUR", 30)
# Verified domains (platform/tenancy/domains.py): how long one DNS TXT lookup may take.
DOMAIN_VERIFICATION_DNS_TIMEOUT_SECONDS = env_float("DOMAIN_VERIFICATION_DNS_TIMEOUT_SECONDS", 5.0)

# --- Directory / HRIS (platform/integrations): API keys, pull API, exports, AI label -----------------------------
# C2PA Content Credentials on every delivered image: PEM certificate chain (end-entity first) and private key paths.
# Both empty = off (the XMP "AI-generated" label is always there); only one set is a configuration error.
C2PA_SIGN_CERT = env_str("C2PA_SIGN_CERT", "")
C2PA_SIGN_KEY = env_str("C2PA_SIGN_KEY", "")
C2PA_SIGN_ALG = env_str("C2PA_SIGN_ALG", "es256")
# RFC 3161 timestamp authority for the signature; empty offline (the signature then carries no trusted time).
C2PA_TSA_URL = env_str("C2PA_TSA_URL", "")
# Per API key, across the directory pull API: DRF's "<count>/<sec|min|hour|day>"; over it, 429 with Retry-After.
DIRECTORY_API_RATE = env_str("DIRECTORY_API_RATE", "600/min")
_count, _, _period = DIRECTORY_API_RATE.partition("/")
if not _count.isdigit() or _period not in {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}:
    raise ImproperlyConfigured(f"DIRECTORY_API_RATE must look like 600/min, got {DIRECTORY_API_RATE!r}")
DIRECTORY_API_PAGE_SIZE = env_int("DIRECTORY_API_PAGE_SIZE", 100)
DIRECTORY_API_MAX_PAGE_SIZE = 1000
# How long a rotated API key may keep working at most (the admin picks 0..this when rotating).
API_KEY_ROTATION_MAX_GRACE_SECONDS = env_int("API_KEY_ROTATION_MAX_GRACE_SECONDS", 7 * 24 * 3600)
# Export jobs save progress every this many images, and may run this long before the worker stops them.
EXPORT_PROGRESS_EVERY = env_int("EXPORT_PROGRESS_EVERY", 25)
EXPORT_TIME_LIMIT_SECONDS = env_int("EXPORT_TIME_LIMIT_SECONDS", 4 * 3600)
# The cache holds the rate-limit counters: per process (locmem) by default; CACHE_URL (redis://...) shares them
# between web processes, which production with several workers needs for the limit to mean what it says.
CACHE_URL = os.environ.get("CACHE_URL") or None
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {CACHE_URL!r}")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
          if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "headshots"}}

# --- Outgoing calls to URLs customers choose (config/egress.py: webhook receivers, connector URLs) ------------
# https to public addresses only, checked when saved and on the address each call connects to. EGRESS_TEST_ORIGINS
# names exact origins (scheme://host:port) of the test suite's local servers that are exempt; it is deliberately
# never read from the environment, so no deployment can switch it on. The switches that once lifted these rules
# are refused instead of being silently ignored.
EGRESS_TEST_ORIGINS: tuple[str, ...] = ()
for _gone in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "CONNECTOR_ALLOW_HTTP_BASE_URLS"):
    if os.environ.get(_gone):
        raise ImproperlyConfigured(f"{_gone} no longer exists: outgoing calls go to public https URLs only")

# --- Webhooks (platform/webhooks) and SCIM (platform/scim) -----------------------------------------------------
# Attempts per delivery (the first included); the waits between them in seconds (the last repeats), +/- jitter.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
try:
    WEBHOOK_RETRY_SCHEDULE = [float(s) for s in env_str("WEBHOOK_RETRY_SCHEDULE",
                                                        "5,30,120,600,3600,10800,21600,43200").split(",")]
except ValueError:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds") from None
WEBHOOK_RETRY_JITTER = env_float("WEBHOOK_RETRY_JITTER", 0.2)
# A receiver's Retry-After (on 429/503) is honoured up to this many seconds.
WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_int("WEBHOOK_RETRY_AFTER_MAX_SECONDS", 24 * 3600)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env_float("WEBHOOK_READ_TIMEOUT_SECONDS", 15.0)
# A CA bundle (PEM file) to verify receivers' certificates with instead of the public CAs (private PKI); empty = public.
WEBHOOK_CA_BUNDLE = env_str("WEBHOOK_CA_BUNDLE", "")
# After a secret rotation the old secret also signs (a second signature) for this long.
WEBHOOK_SECRET_ROTATION_GRACE_SECONDS = env_int("WEBHOOK_SECRET_ROTATION_GRACE_SECONDS", 24 * 3600)
# SCIM list pages: the size when a directory sends no `count`, and the most one page holds (published as maxResults).
SCIM_DEFAULT_COUNT = env_int("SCIM_DEFAULT_COUNT", 100)
SCIM_MAX_RESULTS = env_int("SCIM_MAX_RESULTS", 200)

# --- Photo pushes (platform/connectors) -------------------------------------------------------------------------
# Each push is tried at most this many times; 429/503 wait the destination's Retry-After (capped), other transient
# failures back off exponentially from the base. Remote calls time out after CONNECTOR_HTTP_TIMEOUT seconds.
CONNECTOR_MAX_ATTEMPTS = env_int("CONNECTOR_MAX_ATTEMPTS", 5)
CONNECTOR_HTTP_TIMEOUT = env_float("CONNECTOR_HTTP_TIMEOUT", 20.0)
CONNECTOR_RETRY_AFTER_MAX_SECONDS = env_int("CONNECTOR_RETRY_AFTER_MAX_SECONDS", 3600)
CONNECTOR_BACKOFF_BASE_SECONDS = env_int("CONNECTOR_BACKOFF_BASE_SECONDS", 30)
CONNECTOR_BACKOFF_MAX_SECONDS = env_int("CONNECTOR_BACKOFF_MAX_SECONDS", 3600)
# A connection may override its base URLs (sovereign clouds); they pass the egress guard above like webhooks.
CONNECTOR_GRAPH_LOGIN_BASE = env_str("CONNECTOR_GRAPH_LOGIN_BASE", "https://login.microsoftonline.com")
CONNECTOR_GRAPH_BASE = env_str("CONNECTOR_GRAPH_BASE", "https://graph.microsoft.com")
CONNECTOR_GOOGLE_TOKEN_URL = env_str("CONNECTOR_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")
CONNECTOR_GOOGLE_BASE = env_str("CONNECTOR_GOOGLE_BASE", "https://admin.googleapis.com")
CONNECTOR_BAMBOOHR_BASE = env_str("CONNECTOR_BAMBOOHR_BASE", "https://api.bamboohr.com")
# Slack: each employee connects their own account (OAuth v2, user scope users.profile:write). Off until both are set.
SLACK_CLIENT_ID = env_str("SLACK_CLIENT_ID", "")
SLACK_CLIENT_SECRET = env_str("SLACK_CLIENT_SECRET", "")
if bool(SLACK_CLIENT_ID) != bool(SLACK_CLIENT_SECRET):
    raise ImproperlyConfigured("Slack photo pushes need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
SLACK_OAUTH_BASE = env_str("SLACK_OAUTH_BASE", "https://slack.com")
SLACK_API_BASE = env_str("SLACK_API_BASE", "https://slack.com")

# --- Audit log (platform/audit) ---------------------------------------------------------------------------------
# Take the client IP from the first X-Forwarded-For address instead of REMOTE_ADDR: only behind a proxy that sets
# the header itself (else any caller could write any IP into the log).
AUDIT_TRUST_X_FORWARDED_FOR = env_bool("AUDIT_TRUST_X_FORWARDED_FOR", False)
