"""The operator's changes in the domain layer and through the CLI: a channel's status (R9,
`onboarding.permissions.lifecycle.set_status`) and a partner's billing model (R2,
`onboarding.partners.service.set_billing_model`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.errors import Conflict, InvalidInput
from onboarding.models import (
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    GrantedVia,
    WebhookOutbox,
)
from onboarding.partners.service import set_billing_model
from onboarding.permissions import lifecycle
from onboarding.permissions.lifecycle import set_status
from tests.api import row_counts, table_rows
from tests.factories import make_channel, make_client, make_partner

WEBHOOK_URL = "https://partner.example/hooks"


def status_events(db: Session, channel: Channel) -> list[tuple[str, dict[str, Any]]]:
    db.flush()
    found = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.type == "channel.status_changed")
        .order_by(AuditEvent.id)
    )
    return [(e.actor, e.data) for e in found if e.data.get("channel_id") == channel.public_id]


def twin(db: Session, of: Channel, client: Client, status: ChannelStatus) -> Channel:
    """Another client's channel with the same number. Made as a row: which numbers add_channel
    accepts is not this module's question; the schema allows twins unless both run."""
    channel = Channel(client=client, phone_number=of.phone_number, name="Twin", status=status)
    db.add(channel)
    db.flush()
    return channel


@pytest.fixture
def client_of_partner(db: Session) -> Client:
    partner = make_partner(db, webhook_url=WEBHOOK_URL)
    return make_client(db, partner)[0]


# --- set_status --------------------------------------------------------------------------------


def test_going_running_records_the_change(db: Session, client_of_partner: Client) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.PENDING)
    outbox = row_counts(db)["webhook_outbox"]

    changed = set_status(db, channel, "running", actor="operator")

    assert changed is True
    assert channel.status == ChannelStatus.RUNNING
    assert status_events(db, channel) == [
        (
            "operator",
            {
                "client_id": client_of_partner.public_id,
                "channel_id": channel.public_id,
                "channel_ids": [channel.public_id],
                "from": "pending",
                "to": "running",
            },
        )
    ]
    assert row_counts(db)["webhook_outbox"] == outbox + 1  # the partner's webhook hears of it


def test_going_back_to_pending_records_the_change(db: Session, client_of_partner: Client) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.RUNNING)

    assert set_status(db, channel, ChannelStatus.PENDING, actor="operator_api") is True

    assert channel.status == ChannelStatus.PENDING
    [(actor, data)] = status_events(db, channel)
    assert (actor, data["from"], data["to"]) == ("operator_api", "running", "pending")


@pytest.mark.parametrize("status", ["pending", "running"])
def test_setting_the_same_status_changes_and_records_nothing(
    db: Session, client_of_partner: Client, status: str
) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus(status))
    before = table_rows(db)

    assert set_status(db, channel, status, actor="operator") is False

    assert table_rows(db) == before


@pytest.mark.parametrize("status", ["active", "Running", "", "paused"])
def test_an_unknown_status_is_refused(db: Session, client_of_partner: Client, status: str) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.PENDING)
    before = table_rows(db)

    with pytest.raises(InvalidInput, match="pending or running"):
        set_status(db, channel, status, actor="operator")

    assert table_rows(db) == before


def test_a_number_running_elsewhere_cannot_start_here(
    db: Session, client_of_partner: Client
) -> None:
    """R9: unique only once running. The operator is told which channel holds the number."""
    elsewhere = make_client(db, make_partner(db))[0]
    running = make_channel(db, elsewhere, status=ChannelStatus.RUNNING)
    channel = twin(db, running, client_of_partner, ChannelStatus.PENDING)
    before = table_rows(db)

    with pytest.raises(Conflict) as refused:
        set_status(db, channel, "running", actor="operator")

    assert running.public_id in str(refused.value)
    assert elsewhere.public_id in str(refused.value)
    assert running.phone_number in str(refused.value)
    assert table_rows(db) == before


def test_pending_twins_block_no_one_until_one_runs(db: Session, client_of_partner: Client) -> None:
    first = make_channel(db, client_of_partner, status=ChannelStatus.PENDING)
    second = twin(db, first, make_client(db, make_partner(db))[0], ChannelStatus.PENDING)

    assert set_status(db, second, "running", actor="operator") is True
    with pytest.raises(Conflict, match=second.public_id):
        set_status(db, first, "running", actor="operator")
    assert set_status(db, second, "pending", actor="operator") is True
    assert set_status(db, first, "running", actor="operator") is True


def test_a_race_is_decided_by_the_unique_index(
    db: Session, client_of_partner: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction starts the number between the check and the write: here the check
    is made to miss once (as it would in that race), the real partial unique index refuses the
    write, and the caller gets the same Conflict with its transaction still usable."""
    running = make_channel(db, client_of_partner, status=ChannelStatus.RUNNING)
    channel = twin(db, running, make_client(db, make_partner(db))[0], ChannelStatus.PENDING)
    before = table_rows(db)
    real = lifecycle.running_with_number
    calls: list[int] = []

    def misses_once(session: Session, of: Channel) -> Channel | None:
        calls.append(1)
        return None if len(calls) == 1 else real(session, of)

    monkeypatch.setattr(lifecycle, "running_with_number", misses_once)

    with pytest.raises(Conflict, match=running.public_id):
        set_status(db, channel, "running", actor="operator")

    assert len(calls) == 2  # the second look, after the index refused, names the holder
    assert table_rows(db) == before  # still usable (PostgreSQL aborts a transaction otherwise)
    assert channel.status == ChannelStatus.PENDING


def test_a_race_whose_winner_is_not_visible_is_still_a_conflict(
    db: Session, client_of_partner: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = make_channel(db, client_of_partner, status=ChannelStatus.RUNNING)
    channel = twin(db, running, make_client(db, make_partner(db))[0], ChannelStatus.PENDING)
    monkeypatch.setattr(lifecycle, "running_with_number", lambda session, of: None)

    with pytest.raises(Conflict, match="is already running"):
        set_status(db, channel, "running", actor="operator")

    assert channel.status == ChannelStatus.PENDING
    assert status_events(db, channel) == []


# --- set_billing_model -----------------------------------------------------------------------


def test_a_new_billing_model_applies_to_channels_created_afterwards(db: Session) -> None:
    """R2: existing grants, and their absence, stay."""
    partner = make_partner(db, billing=BillingModel.DIRECT_PAYMENT)
    customer = make_client(db, partner)[0]
    before = make_channel(db, customer)

    assert set_billing_model(db, partner, "partner_payment") is True
    during = make_channel(db, customer)
    assert set_billing_model(db, partner, "direct_payment") is True
    after = make_channel(db, customer)

    assert before.permission is None
    assert during.permission is not None
    assert during.permission.granted_via == GrantedVia.BILLING_DEFAULT
    assert after.permission is None


def test_the_same_billing_model_changes_nothing(db: Session) -> None:
    partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT)
    before = table_rows(db)

    assert set_billing_model(db, partner, "partner_payment") is False

    assert table_rows(db) == before


@pytest.mark.parametrize("model", ["free", "", "PARTNER_PAYMENT"])
def test_an_unknown_billing_model_is_refused(db: Session, model: str) -> None:
    partner = make_partner(db)
    before = table_rows(db)

    with pytest.raises(InvalidInput, match="partner_payment or direct_payment"):
        set_billing_model(db, partner, model)

    assert table_rows(db) == before


# --- the CLI -----------------------------------------------------------------------------------


def run_json(runner: FlaskCliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def fresh(db: Session, row: Any) -> Any:
    db.expire_all()
    return db.get_one(type(row), row.id)


def test_cli_set_status(runner: FlaskCliRunner, db: Session, client_of_partner: Client) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.PENDING)
    db.commit()

    out = run_json(runner, "set-status", channel.public_id, "running")

    assert out == {
        "channel_id": channel.public_id,
        "client_id": client_of_partner.public_id,
        "phone_number": channel.phone_number,
        "status": "running",
    }
    assert fresh(db, channel).status == "running"
    [(actor, data)] = status_events(db, channel)
    assert (actor, data["from"], data["to"]) == ("operator", "pending", "running")


def test_cli_set_status_without_json_prints_lines(
    runner: FlaskCliRunner, db: Session, client_of_partner: Client
) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.RUNNING)
    db.commit()

    result = runner.invoke(args=["set-status", channel.public_id, "pending"])

    assert result.exit_code == 0, result.output
    assert f"channel_id: {channel.public_id}" in result.output
    assert "status: pending" in result.output


def test_cli_set_status_refusals_change_nothing(
    runner: FlaskCliRunner, db: Session, client_of_partner: Client
) -> None:
    running = make_channel(db, client_of_partner, status=ChannelStatus.RUNNING)
    channel = twin(db, running, make_client(db, make_partner(db))[0], ChannelStatus.PENDING)
    db.commit()
    before = table_rows(db)

    clash = runner.invoke(args=["set-status", channel.public_id, "running", "--json"])
    unknown = runner.invoke(args=["set-status", "ch_doesNotExist", "running"])
    bad = runner.invoke(args=["set-status", channel.public_id, "active"])

    assert clash.exit_code == 1 and running.public_id in clash.output
    assert unknown.exit_code == 1 and "No channel ch_doesNotExist" in unknown.output
    assert bad.exit_code == 2 and "'active' is not one of" in bad.output
    assert table_rows(db) == before


def test_cli_set_billing(runner: FlaskCliRunner, db: Session) -> None:
    partner = make_partner(db, billing=BillingModel.DIRECT_PAYMENT)
    db.commit()

    out = run_json(runner, "set-billing", partner.public_id, "partner_payment")

    assert out == {"partner_id": partner.public_id, "billing_model": "partner_payment"}
    assert fresh(db, partner).billing_model == "partner_payment"
    customer = make_client(db, fresh(db, partner))[0]
    assert make_channel(db, customer).permission is not None  # R2 for new channels


def test_cli_set_billing_refusals_change_nothing(runner: FlaskCliRunner, db: Session) -> None:
    partner = make_partner(db)
    db.commit()
    before = table_rows(db)

    unknown = runner.invoke(args=["set-billing", "pa_doesNotExist", "partner_payment"])
    bad = runner.invoke(args=["set-billing", partner.public_id, "free"])

    assert unknown.exit_code == 1 and "No partner pa_doesNotExist" in unknown.output
    assert bad.exit_code == 2 and "'free' is not one of" in bad.output
    assert table_rows(db) == before


def test_status_events_reach_the_outbox_in_order(db: Session, client_of_partner: Client) -> None:
    channel = make_channel(db, client_of_partner, status=ChannelStatus.PENDING)

    set_status(db, channel, "running", actor="operator")
    set_status(db, channel, "pending", actor="operator")

    db.flush()
    queued = db.scalars(
        select(AuditEvent.data)
        .join(WebhookOutbox, WebhookOutbox.event_id == AuditEvent.id)
        .where(AuditEvent.type == "channel.status_changed")
        .order_by(WebhookOutbox.id)
    )
    moves = [
        (data["from"], data["to"]) for data in queued if data["channel_id"] == channel.public_id
    ]
    assert moves == [("pending", "running"), ("running", "pending")]
