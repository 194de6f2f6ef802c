"""Do list pages stay flat as a partner grows? The same pages at 1,000 and 1,000,000 channels.

One partner; one client holds half the channels, the rest are spread over clients of up to
100 numbers, and at least 200 of them, so that the clients page is a full page of 100 at both
sizes (at 1,000 channels it used to list 6 clients against 100); every tenth channel is
shared. Rows are written with bulk Core inserts (set-up, not the path under test). Pages are
fetched in-process through Flask's test client.

    .venv/bin/python -m bench.lists [big] [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.http import SECRET, database_url
from onboarding import create_app
from onboarding.cli import new_partner
from onboarding.db import get_session, utcnow
from onboarding.ids import new_id
from onboarding.migrate import upgrade
from onboarding.models import Channel, ChannelStatus, Client, GrantedVia

BATCH = 20_000


def populate(session: Any, partner_id: int, channels: int) -> str:
    """`channels` channels; returns the public id of the client holding half of them."""
    clients = max(channels // 2 // 100, 200)
    now = utcnow()
    session.execute(
        insert(Client),
        [{"partner_id": partner_id, "name": f"Client {n}", "public_id": new_id("cl")}
         for n in range(clients + 1)],
    )  # fmt: skip
    ids = list(session.scalars(select(Client.id).where(Client.partner_id == partner_id)))
    big, small = ids[0], ids[1:]
    written = 0
    while written < channels:
        rows = []
        for n in range(written, min(written + BATCH, channels)):
            owner = big if n % 2 == 0 else small[(n // 2) % len(small)]
            rows.append(
                {
                    "public_id": new_id("ch"),
                    "client_id": owner,
                    "partner_id": partner_id,  # given: the column default would look it up
                    "phone_number": f"+1{n:011d}",
                    "name": f"Line {n}",
                    "status": ChannelStatus.RUNNING,
                    "created_at": now,
                }
            )
        session.execute(insert(Channel), rows)
        written += len(rows)
    session.execute(
        text(
            "INSERT INTO permission (partner_id, channel_id, granted_via, granted_by, granted_at) "
            "SELECT :partner, id, :via, 'bench', :now FROM channel WHERE id % 10 = 0"
        ),
        {"partner": partner_id, "via": GrantedVia.OPERATOR.value, "now": now},
    )
    session.commit()
    return str(session.scalar(select(Client.public_id).where(Client.id == big)))


def measure(channels: int, rounds: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="onboarding-bench-lists-"))
    url = database_url(workdir, "bench_lists")
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False})
    started = time.perf_counter()
    with app.app_context():
        session = get_session()
        partner, secrets = new_partner(
            session, name="Lists", billing="direct_payment", brand_name=None,
            redirect_urls=["https://partner.example/cb"], webhook_url=None, owner_email=None,
        )  # fmt: skip
        session.commit()
        big = populate(session, partner.id, channels)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        base = f"/api/v1/partners/{partner.public_id}"
    built = time.perf_counter() - started
    http = app.test_client()
    headers = {"X-API-Key": secrets["api_key"]}
    pages = {
        "GET channels (page of 100)": f"{base}/channels",
        "GET channels?permission=shared": f"{base}/channels?permission=shared",
        "GET channels?permission=missing": f"{base}/channels?permission=missing",
        "GET channels?client_id=<biggest>": f"{base}/channels?client_id={big}",
        "GET clients (page of 100)": f"{base}/clients",
        "GET clients/<biggest> (first 100)": f"{base}/clients/{big}",
    }
    results = {}
    for label, path in pages.items():
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            response = http.get(path, headers=headers)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (path, response.status_code)
        results[label] = statistics.median(samples) * 1000
    print(f"  ({channels:,} channels built in {built:.0f} s)", flush=True)
    return results


def main(big: int = 1_000_000, rounds: int = 30) -> list[str]:
    engine = (os.environ.get("ONBOARDING_BENCH_DATABASE_URL") or "sqlite").split(":")[0]
    small = measure(1000, rounds)
    large = measure(big, rounds)
    lines = [
        f"list pages — {engine.split('+')[0]}, p50 of {rounds}, {time.strftime('%Y-%m-%d')}",
        f"{'page':<36} {'1,000':>9} {f'{big:,}':>11} {'ratio':>6} (target ≤ 2)",
    ]
    for label in small:
        ratio = large[label] / small[label]
        verdict = "ok" if ratio <= 2 else "MISSED"
        lines.append(
            f"{label:<36} {small[label]:7.1f}ms {large[label]:9.1f}ms {ratio:6.2f} {verdict}"
        )
    print(*lines, sep="\n", flush=True)
    return lines


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 30,
    )
