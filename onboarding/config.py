"""Code defaults; the environment (ONBOARDING_*) and test mappings override them."""

from datetime import timedelta
from typing import Any

DEFAULTS: dict[str, Any] = {
    # None means "SQLite under instance/"; set ONBOARDING_DATABASE_URL for PostgreSQL.
    "DATABASE_URL": None,
    # None means "random per process" in development; production must set ONBOARDING_SECRET_KEY.
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    # The callback's `iss`; None means BASE_URL.
    "ISSUER": None,
    # The hub's address for every absolute link (and `iss`); None means the address
    # `onboarding serve` listens on, else http://127.0.0.1:5000 (onboarding/urls.py).
    "BASE_URL": None,
    # Bearer token of the operator API (/ops/v1); unset or empty turns that API off (404).
    "OPERATOR_TOKEN": None,
    "FLOW_MAX_AGE": 15 * 60,
    # Lifetime of OAuth access tokens from POST /api/v1/token, in seconds.
    "API_TOKEN_TTL": 15 * 60,
    # Partner API requests per partner per minute, counted in RATELIMIT_STORAGE_URI.
    "API_RATE_LIMIT": 600,
    # Failed logins per email and address within the window (seconds) before a pause.
    "LOGIN_FAILURE_LIMIT": 10,
    "LOGIN_FAILURE_WINDOW": 15 * 60,
    "PROXY_FIX": False,
    # Serve /demo/callback, a stand-in partner page for `make run`.
    "DEMO_RECEIVER": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # The idle timeout: a browser that sent no request for this long is signed out (seconds from
    # the environment). Its cookie is signed afresh, in use, every twelfth of it (security.py).
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=1),
    "WTF_CSRF_TIME_LIMIT": None,  # the CSRF token lives as long as the session does
    # Flask-WTF's HTTPS check wants a Referer, which `Referrer-Policy: no-referrer` withholds;
    # the token plus the SameSite=Lax session cookie already stop cross-site posts.
    "WTF_CSRF_SSL_STRICT": False,
    # Login sessions (auth/session.py): a login ends this long after it began, however active
    # (seconds from the environment).
    "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
    # Webhook delivery: every attempt ends within this many seconds (lookup, connect, TLS,
    # send, status line); private, loopback and link-local destinations only when allowed
    # (development: `make run`, the test suite).
    "WEBHOOK_DEADLINE": 15.0,
    "WEBHOOK_ALLOW_PRIVATE": False,
    # How long a SQLite connection waits for another's write lock, in seconds.
    "SQLITE_BUSY_TIMEOUT": 5.0,
    # --- Observability (onboarding/observability; docs/operations.md "Health, metrics and logs")
    # "json" or "text" log lines with request ids on the root logger; None means json under
    # `onboarding serve` and Python's defaults elsewhere (tests keep pytest's capture).
    "LOG_FORMAT": None,
    "LOG_LEVEL": "INFO",
    # Bearer token for GET /metrics; None means /metrics answers loopback only (404 elsewhere).
    "METRICS_TOKEN": None,
    # -- Bodies, shared rate limits, password hashing (security revision 2, holes 3, 4, 7) --
    # Pages: the largest honest form, a consent of 10,000 ticked numbers, is ~400 KB.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # The hub's forms are urlencoded; these bound a multipart body (per field, and parts).
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "MAX_FORM_PARTS": 1000,
    # The JSON doors (/api/, /messaging/, /ops/): no request of theirs needs more.
    "API_MAX_CONTENT_LENGTH": 64 * 1024,
    # Where every process counts its limits: memory:// (this process only) or redis://host:6379.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_STRATEGY": "sliding-window-counter",
    "RATELIMIT_KEY_PREFIX": "onboarding",
    # Failed logins from one address (any e-mail), and from everywhere, within LOGIN_FAILURE_WINDOW.
    "LOGIN_ADDRESS_FAILURE_LIMIT": 100,
    "LOGIN_TOTAL_FAILURE_LIMIT": 1000,
    # Per client address (IPv6: per /64); the syntax of flask-limiter, e.g. "20 per hour".
    "SIGNUP_RATE_LIMIT": "20 per hour",
    "TOKEN_RATE_LIMIT": "60 per minute",
    # Password hashes (argon2id) computed at once per process; 0 means one per CPU (one hash
    # already keeps a core busy for ~0.15 s). A request that waits longer than PASSWORD_HASH_WAIT
    # seconds for a slot gets 503 with Retry-After instead of holding a server thread.
    "PASSWORD_HASH_CONCURRENCY": 0,
    "PASSWORD_HASH_WAIT": 0.25,
}
