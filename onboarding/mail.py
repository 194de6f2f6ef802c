"""Mail over SMTP (flask-mailman), each in a text and an HTML part rendered from templates.

Settings (environment `ONBOARDING_MAIL_*`): `MAIL_SERVER`, `MAIL_PORT`, `MAIL_USERNAME`,
`MAIL_PASSWORD`, `MAIL_USE_TLS`, `MAIL_DEFAULT_SENDER`, `MAIL_TIMEOUT`. With no server set, mails
are printed to the console instead (what `make run` does).

A mail goes out only after the transaction that called for it commits (`send_after_commit`):
never while a transaction is open, so a slow SMTP server holds no lock, and never for a change
that was rolled back. A failing server is logged and reported on the `Delivery`; it never turns
the request into a 500.

Each mail `NAME` is three templates: `mail/NAME.subject.txt`, `mail/NAME.txt` and
`mail/NAME.html`; all wording lives there, so translations can be added in the templates.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, render_template, url_for
from flask_mailman import EmailMultiAlternatives, Mail  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "MAIL_SERVER": None,  # None: print mails to the console
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,
    "MAIL_DEFAULT_SENDER": "Onboarding Hub <no-reply@localhost>",
    # Seconds for each step of the SMTP conversation, so that a stuck server can't hold a
    # request (and a worker thread) for long.
    "MAIL_TIMEOUT": 10,
}
_PENDING = "onboarding.mail.pending"


@dataclass(eq=False)
class Delivery:
    """One mail waiting for its transaction. `sent` is None until the commit, then whether the
    server took it (False also when the transaction was rolled back)."""

    message: EmailMultiAlternatives
    kind: str
    sent: bool | None = field(default=None)


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    configure(app)


def configure(app: Flask) -> None:
    """(Re)read the mail settings; the tests call it after pointing MAIL_SERVER at their own."""
    app.config["MAIL_BACKEND"] = "smtp" if app.config["MAIL_SERVER"] else "console"
    Mail().init_app(app)


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for a mail: always on BASE_URL, never on the request's Host header (which whoever
    asks for a reset could choose, and so receive the victim's link)."""
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}{url_for(endpoint, **values)}"


def compose(name: str, to: str, **context: Any) -> EmailMultiAlternatives:
    """The mail `name` for `to`, rendered now (while the data it shows is at hand)."""
    subject = " ".join(render_template(f"mail/{name}.subject.txt", **context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_template(f"mail/{name}.txt", **context),
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    )
    message.attach_alternative(render_template(f"mail/{name}.html", **context), "text/html")
    return message


def send_after_commit(session: Session, message: EmailMultiAlternatives, kind: str) -> Delivery:
    """Send `message` once `session` commits; drop it if the session rolls back instead."""
    delivery = Delivery(message=message, kind=kind)
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the mail
    pending: list[Delivery] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    pending.append(delivery)
    return delivery


def _send_pending(session: Session) -> None:
    pending: list[Delivery] = session.info.get(_PENDING, [])
    ready, pending[:] = list(pending), []
    for delivery in ready:
        delivery.sent = _send(delivery)


def _drop_pending(session: Session, previous: Any) -> None:
    if previous.nested:  # a savepoint rolled back; the transaction itself may still commit
        return
    pending: list[Delivery] = session.info.get(_PENDING, [])
    for delivery in pending:
        delivery.sent = False
    pending.clear()


def _send(delivery: Delivery) -> bool:
    connection = Mail().get_connection()
    try:
        return bool(connection.send_messages([delivery.message]))
    except Exception:  # an SMTP or network failure: the page says so, the log says why
        log.exception("Could not send the %s mail", delivery.kind)
        return False
    finally:
        with suppress(Exception):  # a failed conversation leaves the socket open otherwise
            connection.close()
