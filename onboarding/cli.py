"""The operator's CLI: `onboarding <command>` or `flask --app wsgi <command>`.

Each mutating command runs in one transaction and, with --json, prints one JSON object holding
every id and secret it created.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding import create_app, urls
from onboarding.accounts import new_login
from onboarding.clients.service import create_client
from onboarding.db import get_session
from onboarding.errors import DomainError, NotFound
from onboarding.migrate import upgrade
from onboarding.models import BillingModel, Channel, ChannelStatus, Client, GrantedVia, Partner
from onboarding.partners.service import (
    create_partner,
    create_partner_user,
    find_partner,
    set_billing_model,
)
from onboarding.permissions.lifecycle import set_status
from onboarding.permissions.service import add_channel, grant, revoke
from onboarding.phones import to_e164

OPERATOR = "operator"


def main() -> None:
    FlaskGroup(create_app=create_app, help=__doc__)()


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit on success; on a refused input roll back and exit with its message."""
    session = get_session()
    try:
        yield session
        session.commit()
    except DomainError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None


def emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        click.echo(f"{key}: {shown}")


def json_output(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (runs the Alembic migrations)."""
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database schema is up to date.")


@click.command("create-partner")
@click.option("--name", required=True)
@click.option("--billing", required=True, type=click.Choice([m.value for m in BillingModel]))
@click.option("--brand-name", help="Shown to clients; defaults to --name.")
@click.option("--redirect-url", multiple=True, help="A registered redirect URL (repeatable).")
@click.option("--webhook-url")
@click.option("--owner-email", help="Login of the partner's owner; made up when not given.")
@click.option(
    "--sandbox",
    is_flag=True,
    help="A test integration: its clients' numbers run as soon as they are added (R9).",
)
@json_output
@with_appcontext
def create_partner_command(
    name: str,
    billing: str,
    brand_name: str | None,
    redirect_url: tuple[str, ...],
    webhook_url: str | None,
    owner_email: str | None,
    sandbox: bool,
    as_json: bool,
) -> None:
    """Create a partner: prints its id, API key, OAuth client, signing secret and owner login."""
    with transaction() as session:
        _partner_row, result = new_partner(
            session,
            name=name,
            billing=billing,
            brand_name=brand_name,
            redirect_urls=list(redirect_url),
            webhook_url=webhook_url,
            owner_email=owner_email,
            sandbox=sandbox,
        )
    emit(result, as_json)


def new_partner(
    session: Session,
    *,
    name: str,
    billing: str,
    brand_name: str | None,
    redirect_urls: list[str],
    webhook_url: str | None,
    owner_email: str | None,
    sandbox: bool = False,
) -> tuple[Partner, dict[str, Any]]:
    """A partner with an owner login, and everything that is shown only now."""
    partner, credentials = create_partner(
        session,
        name=name,
        brand_name=brand_name,
        billing_model=BillingModel(billing),
        redirect_urls=redirect_urls,
        webhook_url=webhook_url,
        sandbox=sandbox,
    )
    password = secrets.token_urlsafe(12)
    email = owner_email or f"owner-{secrets.token_hex(4)}@partners.example"
    create_partner_user(session, partner, email=email, password=password, role="owner")
    return partner, {
        "partner_id": partner.public_id,
        "billing_model": partner.billing_model,
        "sandbox": partner.sandbox,
        "redirect_urls": [entry.url for entry in partner.redirect_urls],
        "api_key": credentials.api_key,
        "oauth_client_id": credentials.oauth_client_id,
        "oauth_client_secret": credentials.oauth_client_secret,
        "signing_secret": partner.signing_secret,
        "owner_email": email,
        "owner_password": password,
    }


@click.command("create-partner-user")
@click.option("--partner", "partner_id", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["owner", "member"]), default="member")
@json_output
@with_appcontext
def create_partner_user_command(
    partner_id: str, email: str, password: str, role: str, as_json: bool
) -> None:
    """Add a login for a partner's staff."""
    with transaction() as session:
        user = create_partner_user(
            session, _partner(session, partner_id), email=email, password=password, role=role
        )
        result = {"partner_user_id": user.public_id, "email": user.email, "role": user.role}
    emit(result, as_json)


@click.command("create-client")
@click.option("--partner", "partner_id", required=True)
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--payload", help="The partner's own reference for this client.")
@json_output
@with_appcontext
def create_client_command(
    partner_id: str, name: str, email: str, password: str, payload: str | None, as_json: bool
) -> None:
    """Create a client of a partner, with its first user."""
    with transaction() as session:
        login = new_login(email, password)  # hashed before the first query begins a transaction
        client, user = create_client(
            session,
            _partner(session, partner_id),
            name=name,
            login=login,
            partner_payload=payload,
            actor=OPERATOR,
        )
        result = {
            "client_id": client.public_id,
            "client_user_id": user.public_id,
            "email": user.email,
        }
    emit(result, as_json)


@click.command("add-channel")
@click.option("--client", "client_id", required=True)
@click.option("--phone", required=True, help="With country code, e.g. +4915112345678.")
@click.option("--name", help="Display name; defaults to the number.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in ChannelStatus]),
    help="Overrides the partner's choice: running at once for a sandbox partner, else pending.",
)
@json_output
@with_appcontext
def add_channel_command(
    client_id: str, phone: str, name: str | None, status: str | None, as_json: bool
) -> None:
    """Add a WhatsApp number to a client (R2 decides whether the partner gets permission)."""
    with transaction() as session:
        client = _client(session, client_id)
        number = to_e164(phone)
        channel = add_channel(
            session,
            client,
            number,
            name or number,
            actor=OPERATOR,
            status=ChannelStatus(status) if status else None,
        )
        result = _channel_result(channel)
    emit(result, as_json)


@click.command("grant")
@click.argument("channel_ids", nargs=-1, required=True)
@json_output
@with_appcontext
def grant_command(channel_ids: tuple[str, ...], as_json: bool) -> None:
    """Give the client's partner permission for these channels (operator fix)."""
    with transaction() as session:
        result = _change(session, channel_ids, grant)
    emit(result, as_json)


@click.command("revoke")
@click.argument("channel_ids", nargs=-1, required=True)
@json_output
@with_appcontext
def revoke_command(channel_ids: tuple[str, ...], as_json: bool) -> None:
    """Remove the partner's permission for these channels (operator fix; disables its keys)."""
    with transaction() as session:
        result = _change(session, channel_ids, revoke)
    emit(result, as_json)


def _change(
    session: Session, channel_ids: tuple[str, ...], change: Callable[..., list[Channel]]
) -> dict[str, Any]:
    changed: list[str] = []
    for channel_id in channel_ids:
        channel = session.scalar(select(Channel).where(Channel.public_id == channel_id))
        if channel is None:
            raise NotFound(f"No channel {channel_id}.")
        done = change(session, channel.client, [channel], via=GrantedVia.OPERATOR, actor=OPERATOR)
        changed += [c.public_id for c in done]
    return {"changed": changed}


@click.command("set-billing")
@click.argument("partner_id")
@click.argument("billing_model", type=click.Choice([m.value for m in BillingModel]))
@json_output
@with_appcontext
def set_billing_command(partner_id: str, billing_model: str, as_json: bool) -> None:
    """Set a partner's billing model (R2): it decides the default permission of channels
    created from now on; existing grants stay."""
    with transaction() as session:
        partner = _partner(session, partner_id)
        set_billing_model(session, partner, billing_model)
        result = {"partner_id": partner.public_id, "billing_model": partner.billing_model}
    emit(result, as_json)


@click.command("set-status")
@click.argument("channel_id")
@click.argument("status", type=click.Choice([s.value for s in ChannelStatus]))
@json_output
@with_appcontext
def set_status_command(channel_id: str, status: str, as_json: bool) -> None:
    """Move a channel to pending or running (R9); a number runs on one channel at a time."""
    with transaction() as session:
        channel = session.scalar(select(Channel).where(Channel.public_id == channel_id))
        if channel is None:
            raise NotFound(f"No channel {channel_id}.")
        set_status(session, channel, status, actor=OPERATOR)
        result = {
            "channel_id": channel.public_id,
            "client_id": channel.client.public_id,
            "phone_number": channel.phone_number,
            "status": channel.status,
        }
    emit(result, as_json)


def address_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--host and --port (or PORT=): where the hub listens, and so, unless ONBOARDING_BASE_URL
    says otherwise, the address of every link and of `iss` (onboarding/urls.py)."""
    command = click.option(
        "--port", default=urls.DEFAULT_PORT, show_default=True, type=int, envvar="PORT"
    )(command)
    return click.option("--host", default=urls.DEFAULT_HOST, show_default=True)(command)


@click.command("serve")
@address_options
@click.option("--threads", default=8, show_default=True, type=int, help="waitress's threads.")
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Serve with gunicorn in this many processes (Linux; one per core is right); 0: waitress.",
)
@click.option(
    "--with-worker", is_flag=True, help="Also deliver webhooks in a thread of this process."
)
@with_appcontext
def serve(host: str, port: int, threads: int, workers: int, with_worker: bool) -> None:
    """Serve the hub: with gunicorn worker processes (--workers, production on Linux) or with
    waitress in one process (threads; `make run`, Windows)."""
    if workers:
        from onboarding import serving

        if with_worker:
            raise click.UsageError(
                "--with-worker runs in one process; with --workers run `onboarding webhooks "
                "work` beside the server."
            )

        def hub() -> Flask:
            app = serving.hub()
            urls.listen_on(app, host, port)
            return app

        click.echo(f"Serving on {urls.address_url(host, port)} with {workers} gunicorn workers")
        serving.run(f"{host}:{port}", workers, load=hub)
        return
    import waitress

    from onboarding.observability import logs
    from onboarding.webhooks import worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    urls.listen_on(app, host, port)
    logs.configure(app, default="json")
    if with_worker:
        worker.start_in_thread(app)
        click.echo("Delivering webhooks in this process.")
    click.echo(
        f"Serving on {urls.address_url(host, port)}; links and iss on {app.config['BASE_URL']}"
    )
    # Forwarded headers reach the app: ProxyFix (ONBOARDING_PROXY_FIX) decides whether to trust
    # them, and /metrics refuses proxied requests; waitress would silently drop them all.
    # Waitress spools a body to disk before the app sees it (up to 1 GiB by default). The app
    # refuses anything over MAX_CONTENT_LENGTH with a readable 413; waitress cuts off the absurd.
    spool = 8 * app.config["MAX_CONTENT_LENGTH"]
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        clear_untrusted_proxy_headers=False,
        max_request_body_size=spool,
    )


def _partner(session: Session, public_id: str) -> Partner:
    partner = find_partner(session, public_id)
    if partner is None:
        raise NotFound(f"No partner {public_id}.")
    return partner


def _client(session: Session, public_id: str) -> Client:
    client = session.scalar(select(Client).where(Client.public_id == public_id))
    if client is None:
        raise NotFound(f"No client {public_id}.")
    return client


def _channel_result(channel: Channel) -> dict[str, Any]:
    return {
        "channel_id": channel.public_id,
        "client_id": channel.client.public_id,
        "phone_number": channel.phone_number,
        "status": channel.status,
        "permission": "shared" if channel.permission else "missing",
    }


def init_app(app: Flask) -> None:
    from onboarding.demo import demo
    from onboarding.webhooks.cli import webhooks

    for command in (
        init_db,
        create_partner_command,
        create_partner_user_command,
        create_client_command,
        add_channel_command,
        grant_command,
        revoke_command,
        set_billing_command,
        set_status_command,
        demo,
        serve,
        webhooks,
    ):
        app.cli.add_command(command)
