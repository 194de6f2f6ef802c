"""Apps on their own engine (not the test's rolled-back connection), for tests that need real
connections: outages, probes, several processes. Their pools are closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from onboarding import create_app


@contextmanager
def standalone_app(url: str, **config: Any) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-key", **config})
    try:
        yield app
    finally:
        app.extensions["db"].engine.dispose()
