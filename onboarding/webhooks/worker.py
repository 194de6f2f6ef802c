"""The webhook worker: `onboarding webhooks work`, or a thread of `serve --with-worker`."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from onboarding.db import get_session
from onboarding.webhooks.delivery import Post, deliver_due
from onboarding.webhooks.transport import Transport

logger = logging.getLogger(__name__)


def run(
    app: Flask,
    *,
    once: bool = False,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    post: Post | None = None,
) -> int:
    """Deliver due webhooks, pass after pass, until `stop` is set (or after one pass with `once`);
    return the number of attempts made. Sleeps `interval` seconds only after an idle pass.

    `post` defaults to a `Transport` that reaches private addresses only with
    `WEBHOOK_ALLOW_PRIVATE`; every attempt ends within `WEBHOOK_DEADLINE` seconds.
    """
    deadline = float(app.config["WEBHOOK_DEADLINE"])
    if deadline <= 0:
        raise ValueError("ONBOARDING_WEBHOOK_DEADLINE must be a positive number of seconds")
    post = post or Transport(allow_private=bool(app.config["WEBHOOK_ALLOW_PRIVATE"]))
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        try:
            made = _one_pass(app, post, deadline)
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


def _one_pass(app: Flask, post: Post, deadline: float) -> int:
    # A fresh app context per pass: a new session, closed (and its connection returned) after it.
    with app.app_context():
        return deliver_due(get_session(), post=post, deadline=deadline)


def start_in_thread(app: Flask) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run, args=(app,), kwargs={"stop": stop}, name="webhook-worker", daemon=True
    )
    thread.start()
    return stop
