"""The webhook worker: `onboarding webhooks work`, or a thread of `serve --with-worker`."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from onboarding.db import get_session
from onboarding.webhooks.delivery import Post, deliver_due, post_with_requests

logger = logging.getLogger(__name__)


def run(
    app: Flask,
    *,
    once: bool = False,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    post: Post = post_with_requests,
) -> int:
    """Deliver due webhooks, pass after pass, until `stop` is set (or after one pass with `once`);
    return the number of attempts made. Sleeps `interval` seconds only after an idle pass."""
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        try:
            made = _one_pass(app, post)
        except Exception:
            if once:
                raise
            # A database restart must not end delivery until the process is restarted too.
            logger.exception("Webhook delivery pass failed; trying again in %.1f s", interval)
            made = 0
        total += made
        if once:
            break
        if not made:
            stop.wait(interval)
    return total


def _one_pass(app: Flask, post: Post) -> int:
    # A fresh app context per pass: a new session, closed (and its connection returned) after it.
    with app.app_context():
        return deliver_due(get_session(), post=post)


def start_in_thread(app: Flask) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run, args=(app,), kwargs={"stop": stop}, name="webhook-worker", daemon=True
    )
    thread.start()
    return stop
