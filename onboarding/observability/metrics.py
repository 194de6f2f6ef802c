"""Prometheus metrics: request latency, webhook backlog and outcomes, consents, keys generated.

The metric objects live in prometheus-client's default registry, one set per process. With
several processes (waitress instances behind a proxy, gunicorn workers, webhook workers) set
`PROMETHEUS_MULTIPROC_DIR` to one empty directory shared by all of them *before* they start:
prometheus-client then keeps every process's values in files there, and `/metrics` of any one
process reports the sum over all of them (multiprocess mode).

Labels are bounded on purpose: the Flask endpoint name (never the raw path, whose ids would make
a series per channel), a known HTTP method or `OTHER`, a status class; the consent action, the
key's side and the delivery outcome come from fixed lists.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from onboarding.db import get_session, utcnow
from onboarding.models import WebhookOutbox

logger = logging.getLogger(__name__)

# From 1 ms: the hot paths (key check, permission check) answer in a few milliseconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LOOPBACK = frozenset({"127.0.0.1", "::1"})
# The outbox row's status after an attempt → the outcome counted.
OUTCOMES = {"delivered": "delivered", "pending": "retry", "failed": "failed"}

# No `_created` twin of every series: half the scrape, nothing lost (the function is unannotated).
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUEST_DURATION = Histogram(
    "onboarding_http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
    buckets=BUCKETS,
)
RESPONSES = Counter(
    "onboarding_http_responses",
    "HTTP responses by Flask endpoint, method and exact status code (429, 503, ...).",
    ["endpoint", "method", "code"],
)
WEBHOOK_DELIVERIES = Counter(
    "onboarding_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retry (failed, will be tried again), "
    "failed (given up).",
    ["outcome"],
)
CONSENTS = Counter(
    "onboarding_consents",
    "Answers of the permission screen by action: allow or deny (Cancel).",
    ["action"],
)
API_KEYS_GENERATED = Counter(
    "onboarding_api_keys_generated",
    "Channel API keys generated (and committed), by the side that holds them.",
    ["side"],
)
# Every known label value from the start, so rates of "failed" or "deny" are 0, not absent.
for _outcome in OUTCOMES.values():
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)
for _action in ("allow", "deny"):
    CONSENTS.labels(action=_action)
for _side in ("partner", "client"):
    API_KEYS_GENERATED.labels(side=_side)


# --- hooks called by the rest of the code -----------------------------------------------------


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    name = endpoint or "unmatched"
    verb = method if method in METHODS else "OTHER"
    children = _CHILDREN.get((name, verb, status))
    if children is None:  # bounded: endpoints, methods and statuses the app answers
        children = (
            REQUEST_DURATION.labels(endpoint=name, method=verb, status=f"{status // 100}xx"),
            RESPONSES.labels(endpoint=name, method=verb, code=str(status)),
        )
        _CHILDREN[(name, verb, status)] = children
    children[0].observe(seconds)
    children[1].inc()


# The labelled children, looked up once: `labels()` costs more than the observation itself.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def webhook_attempted(status: str) -> None:
    """An attempt ended and left its outbox row in `status` (pending, delivered or failed)."""
    WEBHOOK_DELIVERIES.labels(outcome=OUTCOMES.get(status, status)).inc()


def consent_answered(action: str) -> None:
    """A permission-screen answer was committed; `action` is allow or deny."""
    CONSENTS.labels(action=action).inc()


def api_key_generated(session: Session, side: str) -> None:
    """Count a new key once the caller commits it (the domain never commits itself)."""
    after_commit(session, API_KEYS_GENERATED.labels(side=side).inc)


# --- counting only what commits ---------------------------------------------------------------

_AFTER_COMMIT = "onboarding.observability.after_commit"


def after_commit(session: Session, callback: Callable[[], Any]) -> None:
    """Call `callback` when the session's current transaction commits; drop it on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: rolled back or closed (commit ran above)
        session.info.pop(_AFTER_COMMIT, None)


# --- the /metrics endpoint ---------------------------------------------------------------------


class _Backlog(Collector):
    """The webhook backlog, read from the database at scrape time in one query."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterable[Metric]:
        try:
            pending, oldest = self.session.execute(
                select(func.count(), func.min(WebhookOutbox.created_at)).where(
                    WebhookOutbox.status == "pending"
                )
            ).one()
        except SQLAlchemyError as error:
            # The other metrics are worth having most while the database is away.
            logger.warning("Webhook backlog not measured: %s", type(error).__name__)
            self.session.rollback()
            return
        yield GaugeMetricFamily(
            "onboarding_webhook_backlog",
            "Webhook outbox rows waiting for delivery (pending), measured at scrape time.",
            value=pending,
        )
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "onboarding_webhook_backlog_oldest_seconds",
            "Age of the oldest pending webhook outbox row (0 when none is pending).",
            value=max(age, 0.0),
        )


class _ThisProcess(Collector):
    """The default registry (this process's metrics, plus process and GC figures)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition(session: Session) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every process's files, summed (the class has no annotations).
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Backlog(session))
    return generate_latest(registry)


def metrics() -> Response:
    """`GET /metrics`: Bearer `METRICS_TOKEN` when one is configured; otherwise loopback only."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), str(token).encode()
        ):
            return Response(
                "A valid bearer token is required.\n",
                401,
                {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
                content_type="text/plain; charset=utf-8",
            )
    elif request.remote_addr not in LOOPBACK or _forwarded():
        abort(404)
    response = Response(exposition(get_session()), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _forwarded() -> bool:
    """A proxy on this machine makes every remote request come from loopback; proxies announce
    themselves with these headers, so without a token such a request is not trusted."""
    return any(name in request.headers for name in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
