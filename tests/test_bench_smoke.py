"""The bench scripts still run (a few iterations, nothing timed): a bench that rots is noticed
here, not on the day someone needs figures. SQLite only; the scripts make their own files."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from bench import http, inprocess, lists


def test_the_http_bench_builds_serves_and_loads_both_apps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONBOARDING_BENCH_DATABASE_URL", raising=False)
    monkeypatch.setattr(
        http, "load", lambda url, seconds, headers: http.python_load(url, 3, headers)
    )
    fixture = http.build(f"sqlite:///{tmp_path / 'bench.db'}", big=(20,))

    with http.served("bare", fixture.url, limits=False) as bare:
        assert http.python_load(f"{bare}/bare", 3, {}).errors == 0
    with http.served("hub", fixture.url, limits=True) as hub:
        key = {"Authorization": f"Bearer {fixture.channel_key}"}
        assert http.python_load(f"{hub}/messaging/v1/channel", 3, key).errors == 0
        api = f"{hub}/api/v1/partners/{fixture.partner_id}/channels/{fixture.channel_id}"
        partner = {"X-API-Key": fixture.partner_key}
        assert http.python_load(f"{api}/permission", 3, partner).errors == 0
        consent, cookie = fixture.flows[20]
        assert http.python_load(f"{hub}{consent}", 3, {"Cookie": f"session={cookie}"}).errors == 0
    assert http.consent_post(fixture, 20, rounds=1) > 0
    with socket.socket() as probe:  # the servers are gone
        assert probe.connect_ex(("127.0.0.1", int(hub.rsplit(":", 1)[1]))) != 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_output_is_read() -> None:
    assert http._ms("1.50ms") == 1.5
    assert http._ms("250.00us") == 0.25
    assert http._ms("1.20s") == 1200


def test_the_list_bench_measures_both_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONBOARDING_BENCH_DATABASE_URL", raising=False)
    lines = lists.main(big=2000, rounds=2)

    assert len(lines) == 8 and "2,000" in lines[1]  # a heading, a header, six pages


def test_the_in_process_bench_times_every_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONBOARDING_BENCH_DATABASE_URL", raising=False)
    lines = inprocess.main(rounds=1)

    assert len(lines) == 6 and "consent GET" in lines[-1] and lines[-1].endswith("µs")
