"""The probes and the scrape endpoint, and the per-request hooks (id, timing, access line)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request

from onboarding.observability import health, logs, metrics

bp = Blueprint("observability", __name__)

bp.add_url_rule("/healthz", "healthz", health.healthz, methods=["GET"])
bp.add_url_rule("/readyz", "readyz", health.readyz, methods=["GET"])
bp.add_url_rule("/metrics", "metrics", metrics.metrics, methods=["GET"])


def start_request() -> None:
    g.request_started = time.perf_counter()
    logs.request_id()


def finish_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    response.headers[logs.REQUEST_ID_HEADER] = logs.request_id()
    metrics.observe_request(request.endpoint, request.method, response.status_code, seconds)
    logs.log_access(response.status_code, seconds * 1000)
    return response
