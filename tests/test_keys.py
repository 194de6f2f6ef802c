"""Channel API keys on the domain layer: R1, R6 and R8."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.errors import ChannelNotRunning, PermissionMissing
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    GrantedVia,
    Side,
)
from onboarding.permissions.keys import KeyOwner, api_keys, channel_for_key, generate_api_key
from onboarding.permissions.service import grant, revoke
from onboarding.security import hash_secret
from tests.factories import make_channel, make_client, make_partner


def shared_channel(db: Session, status: ChannelStatus = ChannelStatus.RUNNING) -> Channel:
    client, _ = make_client(db, make_partner(db, billing=BillingModel.PARTNER_PAYMENT))
    return make_channel(db, client, status=status)


def test_partner_with_permission_gets_a_key_shown_once(db: Session) -> None:
    channel = shared_channel(db)
    new = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")

    assert new.secret.startswith("wak_") and len(new.secret) >= 4 + 43  # 256 random bits
    assert new.key.prefix == new.secret[: len(new.key.prefix)]
    assert new.key.key_hash == hash_secret(new.secret)
    stored = db.scalars(select(ApiKey.key_hash)).all()
    assert new.secret not in stored
    assert channel_for_key(db, new.secret) == KeyOwner.of(channel)


def test_partner_without_permission_is_refused(db: Session) -> None:
    client, _ = make_client(db, make_partner(db, billing=BillingModel.DIRECT_PAYMENT))
    channel = make_channel(db, client)
    with pytest.raises(PermissionMissing):
        generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    assert api_keys(db, channel) == []


def test_client_is_refused_while_the_partner_holds_permission(db: Session) -> None:
    """R6/R7: one side at a time."""
    channel = shared_channel(db)
    with pytest.raises(PermissionMissing, match="shared with your integration partner"):
        generate_api_key(db, channel, side=Side.CLIENT, actor="client_user:x")


def test_client_regains_keys_after_removing_permission(db: Session) -> None:
    channel = shared_channel(db)
    partner_key = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    revoke(db, channel.client, [channel], via=GrantedVia.CLIENT_HUB, actor="client_user:x")

    own = generate_api_key(db, channel, side=Side.CLIENT, actor="client_user:x")

    assert channel_for_key(db, partner_key.secret) is None
    assert channel_for_key(db, own.secret) == KeyOwner.of(channel)
    with pytest.raises(PermissionMissing):
        generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")


def test_granting_again_does_not_revive_a_revoked_partner_key(db: Session) -> None:
    channel = shared_channel(db)
    old = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    revoke(db, channel.client, [channel], via=GrantedVia.CLIENT_HUB, actor="c")
    grant(db, channel.client, [channel], via=GrantedVia.CLIENT_HUB, actor="c")
    assert channel_for_key(db, old.secret) is None


def test_a_new_key_revokes_the_previous_ones(db: Session) -> None:
    """R8."""
    channel = shared_channel(db)
    first = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")
    second = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api")

    assert channel_for_key(db, first.secret) is None
    assert channel_for_key(db, second.secret) == KeyOwner.of(channel)
    keys = api_keys(db, channel)
    assert [key.public_id for key in keys] == [second.key.public_id, first.key.public_id]
    assert keys[0].revoked_at is None and keys[1].revoked_at is not None


def test_a_new_client_key_revokes_the_previous_client_key(db: Session) -> None:
    client, _ = make_client(db, make_partner(db))
    channel = make_channel(db, client)
    first = generate_api_key(db, channel, side=Side.CLIENT, actor="c")
    generate_api_key(db, channel, side=Side.CLIENT, actor="c")
    assert channel_for_key(db, first.secret) is None


@pytest.mark.parametrize("side", [Side.PARTNER, Side.CLIENT])
def test_only_running_channels_get_keys(db: Session, side: Side) -> None:
    """R8."""
    billing = BillingModel.PARTNER_PAYMENT if side == Side.PARTNER else BillingModel.DIRECT_PAYMENT
    client, _ = make_client(db, make_partner(db, billing=billing))
    channel = make_channel(db, client, status=ChannelStatus.PENDING)
    with pytest.raises(ChannelNotRunning):
        generate_api_key(db, channel, side=side, actor="x")


def test_a_pending_number_tells_the_partner_what_makes_it_running(db: Session) -> None:
    """R9: the partner, an integrator, learns the operator's step and the event to wait for."""
    client, _ = make_client(db, make_partner(db, billing=BillingModel.PARTNER_PAYMENT))
    channel = make_channel(db, client, status=ChannelStatus.PENDING)
    ch = channel.public_id
    with pytest.raises(ChannelNotRunning) as refused:
        generate_api_key(db, channel, side=Side.PARTNER, actor="x")
    assert str(refused.value) == (
        "This number is still pending: it can get API keys once it is connected to WhatsApp."
        f" The hub's operator marks it running (onboarding set-status {ch} running, or"
        f" PUT /ops/v1/channels/{ch}/status); a channel.status_changed event tells you when."
    )


def test_a_pending_number_tells_the_client_whom_to_ask_not_how_the_hub_works(
    db: Session,
) -> None:
    partner = make_partner(db)
    client, _ = make_client(db, partner)
    channel = make_channel(db, client, status=ChannelStatus.PENDING)
    with pytest.raises(ChannelNotRunning) as refused:
        generate_api_key(db, channel, side=Side.CLIENT, actor="x")
    reason = str(refused.value)
    assert reason == (
        "This number is still being connected to WhatsApp: API keys can be generated once it"
        f" is running. If this takes long, contact {partner.brand_name}."
    )
    assert "set-status" not in reason and "/ops/" not in reason and "operator" not in reason


def test_key_generation_is_audited_with_who_did_it(db: Session) -> None:
    channel = shared_channel(db)
    new = generate_api_key(db, channel, side=Side.PARTNER, actor="partner_api:pk_1")
    event = db.scalars(select(AuditEvent).where(AuditEvent.type == "api_key.created")).one()
    assert event.actor == "partner_api:pk_1"
    assert event.data == {
        "client_id": channel.client.public_id,
        "channel_id": channel.public_id,
        "channel_ids": [channel.public_id],
        "api_key_id": new.key.public_id,
        "prefix": new.key.prefix,
        "created_by": "partner",
    }


def test_unknown_key_finds_no_channel(db: Session) -> None:
    assert channel_for_key(db, "wak_not-a-key") is None
