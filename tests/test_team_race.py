"""The last owner under a race: two owners demote each other at the same moment, each in its own
transaction that really commits. The partner's row is locked before the owners are counted, so
exactly one wins and one owner remains. PostgreSQL only: SQLite serializes writers anyway (the
loser gets "database is locked" rather than a stale count)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from onboarding.db import Base
from onboarding.errors import DomainError
from onboarding.models import PartnerUser
from onboarding.partners import team
from onboarding.partners.service import create_partner_user
from tests.databases import backends, migrated_database
from tests.factories import PASSWORD, make_partner

pytestmark = pytest.mark.skipif(
    "postgresql" not in backends(), reason="needs PostgreSQL's row locks"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_database("postgresql", tmp_path_factory.mktemp("race")) as (_url, engine):
        yield engine


def test_two_owners_demoting_each_other_leave_one_owner(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as db:
        partner = make_partner(db)
        x = create_partner_user(
            db, partner, email="x@race.example", password=PASSWORD, role="owner"
        )
        y = create_partner_user(
            db, partner, email="y@race.example", password=PASSWORD, role="owner"
        )
        db.commit()
        pairs = [(x.id, y.public_id), (y.id, x.public_id)]

    # Widen the window between counting the owners and changing a role, so that without the
    # lock both transactions would count two owners and both demote.
    count = team._owners

    def slow_count(session: Session, partner: object) -> int:
        found = count(session, partner)  # type: ignore[arg-type]
        time.sleep(0.3)
        return found

    monkeypatch.setattr(team, "_owners", slow_count)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor_id: int, target: str) -> None:
        with sessions() as db:
            actor = db.get_one(PartnerUser, actor_id)
            start.wait()
            try:
                team.set_role(db, actor, target, "member")
                db.commit()
                outcomes.append("demoted")
            except DomainError as refused:
                db.rollback()
                outcomes.append(type(refused).__name__)

    threads = [threading.Thread(target=demote, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(outcomes) == ["NotAllowed", "demoted"]
    with sessions() as db:
        owners = db.scalar(
            select(func.count()).where(
                PartnerUser.role == "owner", PartnerUser.partner_id == partner.id
            )
        )
    assert owners == 1
