"""Consents (SPEC §5.3): each answer of the permission screen is recorded in the transaction of its
change, and the partner reads it with GET /api/v1/partners/{pid}/consents/{id}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding.errors import ForeignChannel
from onboarding.models import BillingModel, Client, Consent, GrantedVia, Permission
from onboarding.permissions import consents
from onboarding.permissions.service import grant
from tests.api import (
    CONSENT,
    PartnerAccount,
    access_token,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    bearer,
    make_account,
    row_counts,
)


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db)
    db.commit()
    return account


def ids(client: Client) -> list[str]:
    return [channel.public_id for channel in client.channels]


def shared(db: Session, client: Client) -> list[str]:
    db.expire_all()
    return [channel.public_id for channel in client.channels if channel.permission is not None]


# --- the domain: what an answer records --------------------------------------------------------


class TestRecording:
    def test_allow_records_the_shared_set_and_what_it_revoked(
        self, db: Session, account: PartnerAccount
    ) -> None:
        client = add_client(db, account)
        kept, dropped, added = (add_line(db, client) for _ in range(3))
        grant(db, client, [kept, dropped], via=GrantedVia.CLIENT_HUB, actor="test")

        consent = consents.allow(
            db, client, [kept.public_id, added.public_id], all_channels=False, state="s", actor="t"
        )

        assert consent.public_id.startswith("cs_")
        assert (consent.action, consent.state, consent.all_channels) == ("allow", "s", False)
        assert consent.channels == [kept.public_id, added.public_id]
        assert consent.revoked == [dropped.public_id]
        assert consent.partner_id == account.partner.id and consent.client_id == client.id
        assert shared(db, client) == consent.channels

    def test_allow_with_all_numbers_records_it(self, db: Session, account: PartnerAccount) -> None:
        client = add_client(db, account)
        for _ in range(2):
            add_line(db, client)

        consent = consents.allow(db, client, [], all_channels=True, state=None, actor="t")

        assert (consent.all_channels, consent.channels, consent.state) == (True, ids(client), None)

    def test_deny_changes_nothing_and_records_what_stays_shared(
        self, db: Session, account: PartnerAccount
    ) -> None:
        client = add_client(db, account)
        one, _other = add_line(db, client, shared=True), add_line(db, client)
        db.flush()
        before = row_counts(db)

        consent = consents.deny(db, client, state="s t")

        assert (consent.action, consent.channels, consent.revoked) == ("deny", [one.public_id], [])
        assert (consent.state, consent.all_channels) == ("s t", False)
        after = row_counts(db)
        assert after.pop("consent") == before.pop("consent") + 1
        assert after == before

    def test_a_foreign_channel_records_nothing(self, db: Session, account: PartnerAccount) -> None:
        client, stranger = add_client(db, account), add_client(db, account)
        own, foreign = add_line(db, client), add_line(db, stranger)
        db.flush()
        before = row_counts(db)

        with pytest.raises(ForeignChannel):
            consents.allow(
                db,
                client,
                [own.public_id, foreign.public_id],
                all_channels=False,
                state=None,
                actor="t",
            )

        assert row_counts(db) == before

    def test_find_consent_finds_only_the_partners_own(
        self, db: Session, account: PartnerAccount
    ) -> None:
        other = make_account(db)
        consent = consents.deny(db, add_client(db, account), state=None)

        assert consents.find_consent(db, account.partner, consent.public_id) is consent
        assert consents.find_consent(db, other.partner, consent.public_id) is None
        assert consents.find_consent(db, account.partner, "cs_unknown") is None


# --- GET /api/v1/partners/{pid}/consents/{id} ---------------------------------------------------


def read(client: FlaskClient, account: PartnerAccount, consent_id: str, **kw: Any) -> Any:
    headers = kw.pop("headers", None) or api_headers(account)
    return client.get(account.path(f"/consents/{consent_id}"), headers=headers)


def test_a_consent_reads_as_it_was_recorded(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account)
    kept, dropped = add_line(db, customer, shared=True), add_line(db, customer, shared=True)
    consent = consents.allow(
        db, customer, [kept.public_id], all_channels=False, state="a&b=c ü", actor="t"
    )
    db.commit()

    body = assert_documented(read(client, account, consent.public_id), "get", CONSENT, 200)

    assert body == {
        "id": consent.public_id,
        "client_id": customer.public_id,
        "action": "allow",
        "channels": [kept.public_id],
        "revoked": [dropped.public_id],
        "all_channels": False,
        "state": "a&b=c ü",
        "created_at": body["created_at"],
    }


def test_a_cancel_reads_as_deny_without_state(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    consent = consents.deny(db, add_client(db, account), state=None)
    db.commit()

    body = assert_documented(read(client, account, consent.public_id), "get", CONSENT, 200)

    assert (body["action"], body["channels"], body["revoked"], body["state"]) == (
        "deny",
        [],
        [],
        None,
    )


def test_a_consent_reads_with_an_oauth_token_too(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    consent = consents.deny(db, add_client(db, account), state="s")
    db.commit()
    headers = bearer(access_token(client, account))

    response = read(client, account, consent.public_id, headers=headers)

    assert assert_documented(response, "get", CONSENT, 200)["id"] == consent.public_id


def _another_partners(db: Session, account: PartnerAccount) -> str:
    other = make_account(db, billing=BillingModel.PARTNER_PAYMENT)
    return consents.deny(db, add_client(db, other), state=None).public_id


def _own(db: Session, account: PartnerAccount) -> str:
    return consents.deny(db, add_client(db, account), state=None).public_id


REFUSALS: list[Any] = [
    pytest.param(_another_partners, api_headers, 404, "not_found", id="another partner's consent"),
    pytest.param(lambda db, account: "cs_unknown", api_headers, 404, "not_found", id="unknown id"),
    pytest.param(lambda db, account: "ch_x", api_headers, 404, "not_found", id="not a consent id"),
    pytest.param(_own, lambda account: {}, 401, "unauthorized", id="no credentials"),
    pytest.param(
        _own, lambda account: {"X-API-Key": "obk_wrong"}, 401, "unauthorized", id="wrong key"
    ),
]


@pytest.mark.parametrize(("consent_id", "headers", "status", "code"), REFUSALS)
def test_consents_are_refused_to_whom_they_do_not_belong(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    consent_id: Callable[[Session, PartnerAccount], str],
    headers: Callable[[PartnerAccount], dict[str, str]],
    status: int,
    code: str,
) -> None:
    wanted = consent_id(db, account)
    db.commit()

    response = client.get(account.path(f"/consents/{wanted}"), headers=headers(account))

    body = assert_problem(response, "get", CONSENT, status, code)
    assert "channels" not in body and "client_id" not in body


def test_another_partners_credentials_on_this_path_are_forbidden(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    other = make_account(db)
    consent_id = _own(db, account)
    db.commit()

    response = read(client, account, consent_id, headers=api_headers(other))

    assert_problem(response, "get", CONSENT, 403, "forbidden")


def test_a_consent_is_kept_when_the_permission_changes_later(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """A consent is what that answer said, not the state of today."""
    customer = add_client(db, account)
    line = add_line(db, customer)
    consent = consents.allow(
        db, customer, [line.public_id], all_channels=False, state=None, actor="t"
    )
    consents.allow(db, customer, [], all_channels=False, state=None, actor="t")
    db.commit()

    body = assert_documented(read(client, account, consent.public_id), "get", CONSENT, 200)

    assert (body["channels"], body["revoked"]) == ([line.public_id], [])
    assert db.scalar(select(func.count()).select_from(Permission)) == 0
    assert db.scalar(select(func.count()).select_from(Consent)) == 2
