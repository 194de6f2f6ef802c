"""Alembic, driven from the app's own configuration (`onboarding init-db`, tests, CI)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from onboarding import ROOT


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), "head")
