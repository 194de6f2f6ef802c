"""The probes and the scrape endpoint, and the per-request hooks (id, timing, access line)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g

from onboarding.observability import health, logs, metrics
from onboarding.security import this_request

bp = Blueprint("observability", __name__)

bp.add_url_rule("/healthz", "healthz", health.healthz, methods=["GET"])
bp.add_url_rule("/readyz", "readyz", health.readyz, methods=["GET"])
bp.add_url_rule("/metrics", "metrics", metrics.metrics, methods=["GET"])


def start_request() -> None:
    # The request id is made when first asked for (a log record, or the answer's header).
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    context = g._get_current_object()  # one proxy lookup
    current = this_request()
    seconds = time.perf_counter() - getattr(context, "request_started", time.perf_counter())
    response.headers[logs.REQUEST_ID_HEADER] = logs.request_id()
    metrics.observe_request(current.endpoint, current.method, response.status_code, seconds)
    logs.log_access(response.status_code, seconds * 1000)
    return response
