"""`onboarding demo`: a sandbox partner, a client with numbers, and a ready permission link.

The demo partner is a sandbox partner (R9): the numbers its clients add run at once, so the
printed link leads, with no operator step, to a number whose key works on /messaging/v1/channel.
The demo is seeded once; its logins and secrets are kept in instance/demo.json (a development
file, never used in production) so that later runs print the same ones. The permission link is
made anew on every run, with a fresh `state`: with the hub's own demo receiver it is the
receiver's start page (/demo/start), which makes a signed link and a state per click and keeps
the state in that browser; with `--redirect-url` it is a link with a state made for this run.
Links follow the hub's address rule (onboarding/urls.py): `--port` / PORT as `serve` takes them.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from onboarding import urls
from onboarding.accounts import new_login
from onboarding.cli import OPERATOR, address_options, emit, new_partner, transaction
from onboarding.clients.service import create_client
from onboarding.models import ChannelStatus, Partner
from onboarding.partners.service import add_redirect_url, find_partner
from onboarding.permissions.service import add_channel

PARTNER_EMAIL = "partner@demo.example"
CLIENT_EMAIL = "client@demo.example"
# None: the sandbox decides (running). The support line is held pending by the operator's
# override, to show a number still being connected and what `onboarding set-status` does.
CLIENT_NUMBERS: list[tuple[str, str, ChannelStatus | None]] = [
    ("+4915112345001", "Store Berlin", None),
    ("+4915112345002", "Store Hamburg", None),
    ("+4915112345003", "Support line", ChannelStatus.PENDING),
]


@click.command("demo")
@click.option(
    "--redirect-url",
    help="The demo partner's registered redirect URL (default: the hub's own demo receiver).",
)
@address_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def demo(redirect_url: str | None, host: str, port: int, as_json: bool) -> None:
    """Seed the demo once, then print its logins and a fresh permission link."""
    urls.listen_on(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]
    saved = Path(current_app.instance_path) / "demo.json"
    receiver = redirect_url or receiver_url()
    with transaction() as session:
        loaded = _load(session, saved)
        if loaded is None:
            partner, result = _seed(session, receiver)
            saved.write_text(json.dumps(result, indent=2))
            saved.chmod(0o600)
        else:
            partner, result = loaded
        if receiver not in [entry.url for entry in partner.redirect_urls]:
            # The hub now serves on another port than when the demo was seeded: register its
            # receiver there too, so the link made below leads back to a page that answers.
            add_redirect_url(partner, receiver)
    emit({**result, "permission_link": _link(partner.public_id, redirect_url)}, as_json)


def receiver_url() -> str:
    """The hub's own demo receiver (onboarding/demo/views.py), on the hub's address."""
    return f"{urls.base_url(current_app)}/demo/callback"


def _link(partner_id: str, redirect_url: str | None) -> str:
    if redirect_url is None:
        return f"{urls.base_url(current_app)}/demo/start"
    query = urlencode({"redirect_url": redirect_url, "state": f"demo-{secrets.token_hex(8)}"})
    return f"{urls.base_url(current_app)}/partners/{partner_id}/permission?{query}"


def _load(session: Session, saved: Path) -> tuple[Partner, dict[str, Any]] | None:
    if not saved.exists():
        return None
    result: dict[str, Any] = json.loads(saved.read_text())
    partner = find_partner(session, result["partner_id"])
    if partner is None:
        return None
    # A demo seeded before sandbox partners existed becomes one, so that its link still works
    # end to end with no operator step.
    partner.sandbox = True
    # Demos seeded before links were made per run kept one link, with one state, for good.
    result.pop("permission_link", None)
    return partner, {**result, "sandbox": True}


def _seed(session: Session, redirect_url: str) -> tuple[Partner, dict[str, Any]]:
    partner, summary = new_partner(
        session,
        name="Acme Messaging GmbH",
        brand_name="Acme Messaging",
        billing="direct_payment",
        redirect_urls=[redirect_url],
        webhook_url=None,
        owner_email=PARTNER_EMAIL,
        sandbox=True,
    )
    client_password = secrets.token_urlsafe(9)
    client, _user = create_client(
        session,
        partner,
        name="Demo Bakery",
        login=new_login(CLIENT_EMAIL, client_password),
        partner_payload="crm-4711",
        actor=OPERATOR,
    )
    for number, name, status in CLIENT_NUMBERS:
        add_channel(session, client, number, name, actor=OPERATOR, status=status)
    return partner, {
        **summary,
        "client_id": client.public_id,
        "client_email": CLIENT_EMAIL,
        "client_password": client_password,
    }


def demo_partner_id(instance_path: str) -> str | None:
    """The demo partner's id from instance/demo.json, or None before `onboarding demo` ran."""
    saved = Path(instance_path) / "demo.json"
    if not saved.exists():
        return None
    partner_id = json.loads(saved.read_text()).get("partner_id")
    return partner_id if isinstance(partner_id, str) else None
