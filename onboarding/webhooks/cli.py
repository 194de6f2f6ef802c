"""`onboarding webhooks ...`: run the delivery worker, rotate a partner's signing secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from onboarding.cli import emit, json_output, transaction
from onboarding.errors import NotFound
from onboarding.partners.service import find_partner
from onboarding.permissions import events
from onboarding.webhooks import worker
from onboarding.webhooks.service import rotate_signing_secret

webhooks = AppGroup("webhooks", help="Deliver webhooks and manage their signing secrets.")


@webhooks.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds to wait after a pass that found nothing to do.",
)
def work(once: bool, interval: float) -> None:
    """Deliver the webhook outbox (runs until interrupted), logging every attempt."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _attempts_echoed():
        try:
            made = worker.run(app, once=once, interval=interval)
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)
            return
    if once:
        click.echo(f"{made} delivery attempt(s) made.")


@webhooks.command("rotate-secret")
@click.option("--partner", "partner_id", required=True)
@click.option(
    "--overlap-hours",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="How long webhooks stay signed with the old secret too; 0 after a leak.",
)
@json_output
def rotate_secret(partner_id: str, overlap_hours: float, as_json: bool) -> None:
    """Give a partner a new signing secret and print it."""
    with transaction() as session:
        partner = find_partner(session, partner_id)
        if partner is None:
            raise NotFound(f"No partner {partner_id}.")
        secret = rotate_signing_secret(session, partner, overlap=timedelta(hours=overlap_hours))
        until = partner.previous_signing_secret_until
        result = {
            "partner_id": partner.public_id,
            "signing_secret": secret,
            "previous_secret_valid_until": events.iso8601(until) if until else None,
        }
    emit(result, as_json)


class _EchoHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


@contextmanager
def _attempts_echoed() -> Iterator[None]:
    """Show the delivery log on stderr while the command runs, whatever logging set-up the host
    has (and without leaving a handler behind, which matters for tests)."""
    package = logging.getLogger("onboarding.webhooks")
    handler = _EchoHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
