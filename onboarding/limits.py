"""Rate limits that every process of the hub shares.

One flask-limiter `Limiter` per app keeps the counts in the store named by RATELIMIT_STORAGE_URI:
`memory://` counts in this process only (the embedded set-up; in `MemoryStore`, which starts no
threads), `redis://…` counts across every process and machine. Its strategy (RATELIMIT_STRATEGY,
a sliding window counter) and key prefix come from the same config. Every count expires with its
window, so the store stays bounded.

What is counted, and where:
- Partner API requests per partner (API_RATE_LIMIT a minute): `partner_api.auth`, via `hit`;
- `POST /api/v1/token` and `POST /signup` per client address: the `per_address` decorator;
- failed logins per e-mail and address, per address, and overall: `LoginFailures`.

The hub asks the Limiter's strategy itself instead of using flask-limiter's route decorators:
those bind to one module-level Limiter (two apps in one process would share its store), they
cannot count only failures keyed by the e-mail a form names, and a partner is known only after
authentication.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from functools import lru_cache, partial, wraps
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

from onboarding.refusals import TEXTS

log = logging.getLogger(__name__)
T = TypeVar("T")
STORE_RETRY = 30.0  # seconds on the per-process fallback before the shared store is tried again
SWEEP_EVERY = 1.0  # seconds between sweeps of expired counts out of a memory store


class RateLimited(TooManyRequests):
    """429 with Retry-After; a page under the hub's doors (its `refusal` code worded in the
    reader's language), problem+json under the JSON ones (in English, as the API speaks)."""

    refusal = "limit.address"

    def __init__(self, retry_after: int) -> None:
        self.params = {"minutes": max(1, math.ceil(retry_after / 60))}
        super().__init__(description=TEXTS[self.refusal] % self.params, retry_after=retry_after)


class MemoryStore(MemoryStorage):
    """`memory://` without its timer thread: limits' MemoryStorage starts a thread 10 ms after
    each count to drop expired ones, so under load a new thread every 10 ms takes the GIL from
    the requests (~50 µs a Partner API call, measured). Here the count that comes due sweeps,
    inline, at most every SWEEP_EVERY seconds; an expired count is never read (`get` drops it),
    and the store stays as bounded as before."""

    def __init__(self) -> None:
        super().__init__()
        self._swept = time.monotonic()
        self._sweeping = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now - self._swept >= SWEEP_EVERY and self._sweeping.acquire(blocking=False):
            try:
                self._swept = now
                self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
            finally:
                self._sweeping.release()


class Limits:
    """The app's Limiter, and a per-process fallback while its shared store cannot be reached:
    the limits then hold per process, as before, rather than fail every request."""

    def __init__(self, app: Flask) -> None:
        self.limiter = Limiter(
            key_func=client_address,
            app=app,
            # Storage errors as limits.errors.StorageError; Redis must answer fast or not at all.
            storage_options={"wrap_exceptions": True, **_timeouts(app)},
        )
        _detach_request_hooks(app, self.limiter)
        self.prefix: str = app.config["RATELIMIT_KEY_PREFIX"]
        strategy = STRATEGIES[app.config["RATELIMIT_STRATEGY"]]
        self.fallback: RateLimiter = strategy(MemoryStore())
        self.shared: RateLimiter = self.fallback  # never asked while limits are off
        if self.limiter.enabled:
            memory = isinstance(self.limiter.storage, MemoryStorage)  # this process is the store
            self.shared = strategy(MemoryStore()) if memory else self.limiter.limiter
        self._shared_down_until = 0.0
        self._lock = threading.Lock()

    def run(self, operation: Callable[[RateLimiter], T]) -> T:
        if time.monotonic() >= self._shared_down_until:
            try:
                return operation(self.shared)
            except StorageError as error:
                with self._lock:
                    self._shared_down_until = time.monotonic() + STORE_RETRY
                log.warning("rate-limit store unreachable, counting per process: %s", error)
        return operation(self.fallback)


def _detach_request_hooks(app: Flask, limiter: Limiter) -> None:
    """flask-limiter checks its route limits around every request; the hub declares none (it
    calls the strategy where a limit applies), so those hooks would only cost time on every
    request, static files and hot API paths included (~50 µs measured)."""
    _drop_hooks_of(limiter, app.before_request_funcs.get(None, []))
    _drop_hooks_of(limiter, app.after_request_funcs.get(None, []))
    _drop_hooks_of(limiter, app.teardown_request_funcs.get(None, []))


def _drop_hooks_of(limiter: Limiter, hooks: list[T]) -> None:
    def belongs(hook: Any) -> bool:
        bound = getattr(hook, "__self__", None) is limiter
        return bound or (isinstance(hook, partial) and limiter in hook.args)

    hooks[:] = [hook for hook in hooks if not belongs(hook)]


def _timeouts(app: Flask) -> dict[str, int]:
    uri: str = app.config["RATELIMIT_STORAGE_URI"] or ""
    return {"socket_connect_timeout": 1, "socket_timeout": 1} if uri.startswith("redis") else {}


def _limits() -> Limits | None:
    limits: Limits | None = current_app.extensions.get("rate_limits")
    return limits if limits is not None and limits.limiter.enabled else None


@lru_cache(maxsize=64)
def per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)


@lru_cache(maxsize=64)
def per_window(amount: int, seconds: int) -> RateLimitItem:
    return RateLimitItemPerSecond(amount, seconds)


@lru_cache(maxsize=64)
def parsed(text: str) -> RateLimitItem:
    """A limit in flask-limiter's syntax, e.g. "20 per hour"."""
    return parse(text)


def hit(item: RateLimitItem, *key: str) -> int:
    """Count one request against `item` for `key`: 0 when it is allowed, else the seconds until
    one more would be (the request is then not counted)."""
    limits = _limits()
    if limits is None:
        return 0
    full = (limits.prefix, *key)
    if limits.run(lambda strategy: strategy.hit(item, *full)):
        return 0
    return retry_after(item, *key)


def exhausted(item: RateLimitItem, *key: str) -> int:
    """Like `hit` without counting: 0 while `item` allows one more for `key`."""
    limits = _limits()
    if limits is None:
        return 0
    full = (limits.prefix, *key)
    if limits.run(lambda strategy: strategy.test(item, *full)):
        return 0
    return retry_after(item, *key)


def retry_after(item: RateLimitItem, *key: str) -> int:
    limits = _limits()
    if limits is None:
        return 0
    full = (limits.prefix, *key)
    stats = limits.run(lambda strategy: strategy.get_window_stats(item, *full))
    return max(1, math.ceil(stats.reset_time - time.time()))


def clear(item: RateLimitItem, *key: str) -> None:
    limits = _limits()
    if limits is not None:
        full = (limits.prefix, *key)
        limits.run(lambda strategy: strategy.clear(item, *full))


def client_address() -> str:
    """The caller's address as limits see it: IPv4 as is, IPv6 by its /64 (one subscriber's
    share, so rotating through it does not escape the limit). Behind a proxy this is the
    proxy's address unless ONBOARDING_PROXY_FIX is set."""
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def per_address(config_key: str, methods: tuple[str, ...] = ("POST",)) -> Callable[[T], T]:
    """Limit a view's `methods` per client address to the app's `config_key` limit (in
    flask-limiter's syntax); past it, 429 with Retry-After before the view runs."""

    def decorate(view: T) -> T:
        @wraps(view)  # type: ignore[arg-type]
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if request.method in methods:
                limit = parsed(current_app.config[config_key])
                wait = hit(limit, config_key.lower(), client_address())
                if wait:
                    raise RateLimited(wait)
            return view(*args, **kwargs)  # type: ignore[operator]

        return wrapped  # type: ignore[return-value]

    return decorate


class LoginFailures:
    """Failed logins of one kind of user for one e-mail from this address, counted three ways
    within LOGIN_FAILURE_WINDOW: per e-mail and address (LOGIN_FAILURE_LIMIT: guessing one
    password), per address (LOGIN_ADDRESS_FAILURE_LIMIT: spraying many e-mails), and overall
    (LOGIN_TOTAL_FAILURE_LIMIT: spraying from many addresses). Only failures count; a success
    clears the e-mail-and-address count, never the other two (a sprayer's own account must not
    reset them). The e-mail is kept as a digest: the store holds no addresses of people."""

    def __init__(self, kind: str, email: str) -> None:
        config = current_app.config
        window = int(config["LOGIN_FAILURE_WINDOW"])
        address = client_address()
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        self.own = (
            per_window(config["LOGIN_FAILURE_LIMIT"], window),
            ("login-failures", kind, digest, address),
        )
        self.counts = [
            self.own,
            (per_window(config["LOGIN_ADDRESS_FAILURE_LIMIT"], window), ("login-address", address)),
            (per_window(config["LOGIN_TOTAL_FAILURE_LIMIT"], window), ("login-total",)),
        ]

    def retry_after(self) -> int:
        """0 while a login may be tried; else the seconds until the fullest count has room."""
        return max(exhausted(item, *key) for item, key in self.counts)

    def failed(self) -> None:
        for item, key in self.counts:
            hit(item, *key)

    def succeeded(self) -> None:
        item, key = self.own
        clear(item, *key)


def init_app(app: Flask) -> None:
    app.extensions["rate_limits"] = Limits(app)
