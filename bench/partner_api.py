"""How fast is the Partner API and the webhook signer? Prints figures; never part of the tests.

In-process through Flask's test client (no network, no WSGI server), on a SQLite file or
ONBOARDING_BENCH_DATABASE_URL, with 1,000 clients of 3 channels each.

    .venv/bin/python bench/partner_api.py [rounds]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import argon2.profiles
from argon2 import PasswordHasher
from sqlalchemy import select

from bench.consent_flow import timed
from bench.http import database_url
from onboarding import create_app, security
from onboarding.accounts import new_login
from onboarding.cli import OPERATOR, new_partner
from onboarding.clients.service import create_client
from onboarding.db import get_session
from onboarding.migrate import upgrade
from onboarding.models import AuditEvent, ChannelStatus, GrantedVia
from onboarding.permissions.service import add_channel, grant
from onboarding.webhooks import signing

CLIENTS = 1000
PASSWORD = "benchmark password"


def main(rounds: int) -> None:
    # Setup only: 3,000 argon2id hashes at production cost would take minutes and measure nothing.
    security._hasher = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    workdir = Path(tempfile.mkdtemp(prefix="onboarding-bench-"))
    url = database_url(workdir, "bench_partner_api")  # a schema of its own (PostgreSQL)
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "API_RATE_LIMIT": 10**9})
    with app.app_context():
        session = get_session()
        partner, secrets = new_partner(
            session, name="Bench", billing="direct_payment", brand_name=None,
            redirect_urls=["https://partner.example/cb"], webhook_url=None, owner_email=None,
        )  # fmt: skip
        for n in range(CLIENTS):
            client, _ = create_client(
                session, partner, name=f"Client {n}",
                login=new_login(f"c{n}@bench.example", PASSWORD), actor=OPERATOR,
            )  # fmt: skip
            for line in range(3):
                channel = add_channel(
                    session, client, f"+49151{n:05d}{line:03d}", f"Line {line}", actor=OPERATOR,
                    status=ChannelStatus.RUNNING,
                )  # fmt: skip
                if line == 0:
                    grant(session, client, [channel], via=GrantedVia.OPERATOR, actor=OPERATOR)
        session.commit()
        shared = client.channels[0].public_id
        partner_id = partner.public_id
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        body = signing.payload(event)

    http = app.test_client()
    headers = {"X-API-Key": secrets["api_key"]}
    base = f"/api/v1/partners/{partner_id}"

    def check(path: str, status: int = 200, method: str = "get") -> None:
        response = getattr(http, method)(f"{base}{path}", headers=headers)
        assert response.status_code == status, (path, response.status_code)

    engine = url.split(":", 1)[0]
    print(f"partner API benchmark — {engine}, {CLIENTS} clients, {rounds} rounds")
    timed("GET channel permission", rounds, lambda: check(f"/channels/{shared}/permission"))
    timed("GET clients (page of 100)", rounds, lambda: check("/clients"))
    timed(
        "GET channels?permission=shared (100)", rounds, lambda: check("/channels?permission=shared")
    )
    timed("GET events (page of 100)", rounds, lambda: check("/events"))
    timed("POST api_keys (revokes the previous)", rounds,
          lambda: check(f"/channels/{shared}/api_keys", 201, "post"))  # fmt: skip
    timed(
        "sign a webhook (Standard Webhooks)",
        rounds * 10,
        lambda: signing.headers(partner, event.public_id, 1795820425, body, event.created_at),
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
