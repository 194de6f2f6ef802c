"""How fast is the permission screen? Prints figures; never part of the test suite.

Runs the real app (SQLite file or ONBOARDING_BENCH_DATABASE_URL) in-process through Flask's test
client, so the numbers are the app's own cost without network or WSGI server overhead.

    .venv/bin/python -m bench.consent_flow [rounds]
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.http import database_url
from onboarding import create_app
from onboarding.accounts import new_login
from onboarding.cli import OPERATOR, new_partner
from onboarding.clients.service import create_client
from onboarding.consent.callback import callback_url
from onboarding.db import get_session
from onboarding.migrate import upgrade
from onboarding.models import ChannelStatus
from onboarding.permissions.service import add_channel
from onboarding.security import hash_password, new_signing_secret

TOKEN = re.compile(r'name="(csrf_token|flow)" type="hidden" value="([^"]+)"')
CHANNELS = re.compile(r'name="channels" value="([^"]+)"')
PASSWORD = "benchmark password"


def timed(label: str, rounds: int, action: Callable[[], object]) -> None:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p95 = samples[int(len(samples) * 0.95) - 1] * 1000
    print(f"{label:<44} p50 {p50:8.3f} ms   p95 {p95:8.3f} ms   {rounds / sum(samples):9.0f}/s")


def main(rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="onboarding-bench-"))
    url = database_url(workdir, "bench_consent_flow")  # a schema of its own (PostgreSQL)
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "BASE_URL": "https://hub.test"})
    with app.app_context():
        session = get_session()
        partner, _ = new_partner(
            session, name="Bench", billing="direct_payment", brand_name=None,
            redirect_urls=["https://partner.example/cb"], webhook_url=None, owner_email=None,
        )  # fmt: skip
        client, _ = create_client(
            session, partner, name="Bench client",
            login=new_login("bench@client.example", PASSWORD), actor=OPERATOR,
        )  # fmt: skip
        for n in range(10):
            add_channel(
                session, client, f"+4915100000{n:03d}", f"Line {n}", actor=OPERATOR,
                status=ChannelStatus.RUNNING,
            )  # fmt: skip
        session.commit()
        partner_id = partner.public_id

    browser = app.test_client()
    link = f"/partners/{partner_id}/permission?state=bench"
    login_page = browser.get(browser.get(link).headers["Location"]).text
    tokens = dict(TOKEN.findall(login_page))
    browser.post("/login", data={**tokens, "email": "bench@client.example", "password": PASSWORD})

    def round_trip() -> None:
        consent = browser.get(browser.get(link).headers["Location"]).text
        ids = CHANNELS.findall(consent)
        answer = browser.post(
            "/permission/consent",
            data={**dict(TOKEN.findall(consent)), "channels": ids[: len(ids) // 2],
                  "action": "allow"},
        )  # fmt: skip
        assert answer.status_code == 303, answer.status_code

    secret = new_signing_secret()
    engine = url.split(":", 1)[0]
    print(f"onboarding benchmark — {engine}, {rounds} rounds, Python {sys.version.split()[0]}")
    timed("sign a callback URL (10 channels)", rounds * 10, lambda: callback_url(
        "https://partner.example/cb?tenant=7", secret, client_id="cl_x", consent_id="cs_x",
        issuer="https://hub", state="s" * 64, shared=[f"ch_{n:016d}" for n in range(10)],
    ))  # fmt: skip
    timed("hash a password (argon2id)", max(rounds // 10, 5), lambda: hash_password(PASSWORD))
    timed("link → consent screen → Allow → 303", rounds, round_trip)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
