"""`onboarding demo`: a sandbox partner, a client with numbers, and a ready permission link.

The demo partner is a sandbox partner (R9): the numbers its clients add run at once, so the
printed link leads, with no operator step, to a number whose key works on /messaging/v1/channel.
The demo is seeded once; its logins and secrets are kept in instance/demo.json (a development
file, never used in production) so that later runs print the same ones.
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

from onboarding.cli import OPERATOR, emit, new_partner, transaction
from onboarding.clients.service import create_client
from onboarding.models import ChannelStatus
from onboarding.partners.service import find_partner
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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def demo(redirect_url: str | None, as_json: bool) -> None:
    """Seed the demo once, then print its logins and a ready permission link."""
    saved = Path(current_app.instance_path) / "demo.json"
    with transaction() as session:
        result = _load(session, saved)
        if result is None:
            result = _seed(session, redirect_url or f"{_base_url()}/demo/callback")
            saved.write_text(json.dumps(result, indent=2))
            saved.chmod(0o600)
    emit(result, as_json)


def _load(session: Session, saved: Path) -> dict[str, Any] | None:
    if not saved.exists():
        return None
    result: dict[str, Any] = json.loads(saved.read_text())
    partner = find_partner(session, result["partner_id"])
    if partner is None:
        return None
    # A demo seeded before sandbox partners existed becomes one, so that its link still works
    # end to end with no operator step.
    partner.sandbox = True
    return {**result, "sandbox": True}


def _seed(session: Session, redirect_url: str) -> dict[str, Any]:
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
        email=CLIENT_EMAIL,
        password=client_password,
        partner_payload="crm-4711",
        actor=OPERATOR,
    )
    for number, name, status in CLIENT_NUMBERS:
        add_channel(session, client, number, name, actor=OPERATOR, status=status)
    query = urlencode({"redirect_url": redirect_url, "state": f"demo-{secrets.token_hex(4)}"})
    return {
        **summary,
        "client_id": client.public_id,
        "client_email": CLIENT_EMAIL,
        "client_password": client_password,
        "permission_link": f"{_base_url()}/partners/{partner.public_id}/permission?{query}",
    }


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")
