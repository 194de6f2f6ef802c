"""The hot paths per request inside the app: a WSGI call in-process, no server, no network.

    .venv/bin/python -m bench.inprocess [rounds]        # SQLite file
    ONBOARDING_BENCH_DATABASE_URL=... .venv/bin/python -m bench.inprocess   # PostgreSQL

Each path is timed in short batches, interleaved with the others, and the best batch is kept;
the time is this process's CPU time (time.process_time), not the wall clock: on a shared
machine both choices keep out most of what other processes cost it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from bench import http
from bench.bare import create_bare_app
from onboarding import create_app

BATCH = 50


def call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> str:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    body = app(dict(environ), start_response)
    b"".join(body)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return statuses[0]


def main(rounds: int = 20) -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="onboarding-bench-inprocess-"))
    url = http.database_url(workdir, "bench_inprocess")  # not bench.http's schema
    fixture = http.build(url, big=())
    hub = create_app({"DATABASE_URL": url, "SECRET_KEY": http.SECRET, "RATELIMIT_ENABLED": False})
    api = f"/api/v1/partners/{fixture.partner_id}"
    cases: dict[str, tuple[Any, str, dict[str, str]]] = {
        "bare Flask JSON": (create_bare_app(), "/bare", {}),
        "/healthz (the hooks alone)": (hub, "/healthz", {}),
        "channel-key check": (
            hub, "/messaging/v1/channel", {"Authorization": f"Bearer {fixture.channel_key}"},
        ),
        "permission check": (
            hub, f"{api}/channels/{fixture.channel_id}/permission",
            {"X-API-Key": fixture.partner_key},
        ),
        "consent GET (10 numbers)": (
            hub, fixture.flows[10][0], {"Cookie": f"session={fixture.cookie}"},
        ),
    }  # fmt: skip
    environs = {
        name: EnvironBuilder(path=path, headers=headers, base_url="http://127.0.0.1").get_environ()
        for name, (_, path, headers) in cases.items()
    }
    for name, (app, _, _) in cases.items():
        status = call(app, environs[name])
        assert status.startswith("200"), (name, status)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, (app, _, _) in cases.items():
            start = time.process_time()
            for _ in range(BATCH):
                call(app, environs[name])
            best[name] = min(best[name], (time.process_time() - start) / BATCH)
    engine = url.split(":", 1)[0].split("+")[0]
    lines = [f"per request in-process ({engine}, CPU time, best of {rounds} batches of {BATCH})"]
    lines += [f"{name:<28} {seconds * 1e6:8.0f} µs" for name, seconds in best.items()]
    print(*lines, sep="\n", flush=True)
    return lines


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
