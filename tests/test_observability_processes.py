"""The production server for real: `onboarding serve` processes, their JSON logs on stderr, and
metrics summed over several processes (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from onboarding.migrate import upgrade

ONBOARDING = Path(sys.executable).parent / "onboarding"
HEALTHZ_COUNT = "onboarding_http_request_duration_seconds_count"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: str | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def hub_env(tmp_path: Path) -> dict[str, str]:
    database = tmp_path / "hub.db"
    upgrade(f"sqlite:///{database}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONBOARDING_", "PROMETHEUS"))}
    return env | {
        "ONBOARDING_DATABASE_URL": f"sqlite:///{database}",
        "ONBOARDING_SECRET_KEY": "test-secret-key-for-serve",
        "ONBOARDING_INSTANCE_PATH": str(tmp_path / "instance"),
    }


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [str(ONBOARDING), "serve", "--port", str(port), "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{server.url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> str:
    """Stop the server (if still running); its stderr, the log."""
    if server.log is None:
        server.process.terminate()
        _out, server.log = server.process.communicate(timeout=10)
    return server.log


def healthz_count(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == HEALTHZ_COUNT and sample.labels == {
                "endpoint": "observability.healthz",
                "method": "GET",
                "status": "2xx",
            }:
                return sample.value
    return 0.0


def test_serve_logs_json_lines_with_request_ids_and_no_query_strings(
    hub_env: dict[str, str],
) -> None:
    with serving(hub_env) as server:
        ready = requests.get(
            f"{server.url}/readyz?state=s3cret-state&email=a%40client.example",
            headers={"X-Request-ID": "probe-1"},
            timeout=5,
        )
        assert ready.status_code == 200 and ready.headers["X-Request-ID"] == "probe-1"
        loopback = requests.get(f"{server.url}/metrics", timeout=5)
        assert loopback.status_code == 200
        proxied = requests.get(
            f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5
        )
        assert proxied.status_code == 404
        log = stop(server)

    lines = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    access = [line for line in lines if line["name"] == "onboarding.access"]
    readyz = [line for line in access if line["endpoint"] == "observability.readyz"]
    assert readyz == [
        {
            "time": readyz[0]["time"],
            "level": "INFO",
            "name": "onboarding.access",
            "message": readyz[0]["message"],
            "request_id": "probe-1",
            "method": "GET",
            "endpoint": "observability.readyz",
            "path": "/readyz",
            "status": 200,
            "duration_ms": readyz[0]["duration_ms"],
        }
    ]
    assert readyz[0]["time"].endswith("+00:00")  # ISO 8601, UTC
    assert {(line["path"], line["status"]) for line in access} >= {
        ("/metrics", 200),
        ("/metrics", 404),
    }
    assert "s3cret-state" not in log and "client.example" not in log


def test_metrics_of_several_processes_are_summed(hub_env: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = hub_env | {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with serving(env) as first, serving(env) as second:
        for server, times in ((first, 3), (second, 4)):
            for _ in range(times):
                assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        seen = [
            healthz_count(requests.get(f"{server.url}/metrics", timeout=5).text)
            for server in (first, second)
        ]
    # Each process also answered the start-up probe of `serving`: 3 + 4 + 2.
    assert seen == [9, 9]
    assert list(shared.glob("*.db")), "multiprocess mode keeps its values in files there"


def test_without_the_shared_directory_each_process_counts_alone(hub_env: dict[str, str]) -> None:
    with serving(hub_env) as first, serving(hub_env) as second:
        for _ in range(3):
            assert requests.get(f"{first.url}/healthz", timeout=5).status_code == 200
        seen = [
            healthz_count(requests.get(f"{server.url}/metrics", timeout=5).text)
            for server in (first, second)
        ]
    assert seen == [4, 1]


def test_serve_passes_forwarded_headers_to_proxy_fix(hub_env: dict[str, str]) -> None:
    """Behind a TLS proxy (ONBOARDING_PROXY_FIX) the app must see X-Forwarded-*; waitress's
    default would drop them, leaving every request plain HTTP from the proxy's address."""
    with serving(hub_env | {"ONBOARDING_PROXY_FIX": "true"}) as server:
        response = requests.get(
            f"{server.url}/healthz",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"},
            timeout=5,
        )
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
