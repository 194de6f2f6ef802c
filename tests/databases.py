"""Which database engines the suite runs on: SQLite always, PostgreSQL whenever one answers."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from onboarding.db import make_engine
from onboarding.migrate import upgrade

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backends() -> list[str]:
    """ONBOARDING_TEST_DATABASE_URL makes PostgreSQL required; otherwise it runs if it answers."""
    if os.environ.get("ONBOARDING_TEST_DATABASE_URL"):
        return ["sqlite", "postgresql"]
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return ["sqlite"]
    return ["sqlite", "postgresql"]


@contextmanager
def migrated_database(backend: str, workdir: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh database at the latest migration: a SQLite file, or a private PostgreSQL schema."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'test.db'}"
        engine = make_engine(url)
        upgrade(url)
        yield url, engine
        engine.dispose()
        return

    base = os.environ.get("ONBOARDING_TEST_DATABASE_URL") or DEFAULT_POSTGRES
    schema = f"test_{secrets.token_hex(6)}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(url)
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
