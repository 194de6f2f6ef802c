"""Apps on their own engine (not the test's rolled-back connection), for tests that need real
connections: outages, probes, several processes. Their pools are closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from onboarding import create_app
from onboarding.db import Base


@contextmanager
def standalone_app(url: str, **config: Any) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-key", **config})
    try:
        yield app
    finally:
        app.extensions["db"].engine.dispose()


def empty(engine: Engine) -> None:
    """Delete every row, children first: a committed database made fresh for the next test."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
