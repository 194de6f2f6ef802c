"""The domain rules (SPEC R1-R6) on the service layer, without HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.errors import Conflict, ForeignChannel
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    ChannelStatus,
    GrantedVia,
    Side,
    WebhookOutbox,
)
from onboarding.permissions.service import (
    add_channel,
    grant,
    is_shared,
    key_holder,
    revoke,
    set_shared,
)
from onboarding.security import issue_secret
from tests.factories import make_channel, make_client, make_partner, new_number


def events(db: Session, type: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.type == type)))


class TestDefaultPermission:
    """R2: the billing model decides the default for new channels."""

    def test_partner_payment_partner_gets_new_channels_by_default(self, db: Session) -> None:
        partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT)
        client, _ = make_client(db, partner)
        channel = make_channel(db, client)
        assert is_shared(channel)
        assert channel.permission.granted_via == GrantedVia.BILLING_DEFAULT
        assert key_holder(channel) == Side.PARTNER

    def test_direct_payment_partner_gets_nothing_by_default(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db, billing=BillingModel.DIRECT_PAYMENT))
        channel = make_channel(db, client)
        assert not is_shared(channel)
        assert key_holder(channel) == Side.CLIENT
        assert events(db, "permission.granted") == []

    def test_billing_change_affects_only_later_channels(self, db: Session) -> None:
        partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT)
        client, _ = make_client(db, partner)
        before = make_channel(db, client)
        partner.billing_model = BillingModel.DIRECT_PAYMENT
        after = make_channel(db, client)
        assert is_shared(before)
        assert not is_shared(after)

    def test_switch_to_partner_payment_grants_no_existing_channel(self, db: Session) -> None:
        partner = make_partner(db, billing=BillingModel.DIRECT_PAYMENT)
        client, _ = make_client(db, partner)
        before = make_channel(db, client)
        partner.billing_model = BillingModel.PARTNER_PAYMENT
        after = make_channel(db, client)
        assert not is_shared(before)
        assert is_shared(after)

    def test_all_numbers_shares_channels_added_later(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        set_shared(db, client, [], all_channels=True, via=GrantedVia.PERMISSION_SCREEN, actor="t")
        channel = make_channel(db, client)
        assert is_shared(channel)
        assert channel.permission.granted_via == GrantedVia.ALL_CHANNELS

    def test_new_channel_is_recorded(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db, billing=BillingModel.PARTNER_PAYMENT))
        channel = make_channel(db, client)
        created = events(db, "channel.created")[-1]
        granted = events(db, "permission.granted")[-1]
        assert created.data["channel_id"] == channel.public_id
        assert granted.data == {
            "client_id": client.public_id,
            "channel_ids": [channel.public_id],
            "via": "billing_default",
        }

    def test_a_number_is_refused_only_by_its_own_client(self, db: Session) -> None:
        """R9: another client's pending copy blocks no one (tests/test_number_privacy.py)."""
        partner = make_partner(db)
        first, _ = make_client(db, partner)
        second, _ = make_client(db, partner)
        number = new_number()
        add_channel(db, first, number, "A", actor="t")
        assert add_channel(db, second, number, "B", actor="t").status == ChannelStatus.PENDING
        with pytest.raises(Conflict):
            add_channel(db, first, number, "A again", actor="t")


class TestSetShared:
    """R5 (grant through the screen or hub) and R3 (removal)."""

    def test_shared_set_becomes_exactly_the_ticked_set(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        a, b, c = (make_channel(db, client) for _ in range(3))
        grant(db, client, [a], via=GrantedVia.CLIENT_HUB, actor="t")

        outcome = set_shared(
            db,
            client,
            [b.public_id, c.public_id],
            all_channels=False,
            via=GrantedVia.PERMISSION_SCREEN,
            actor="t",
        )

        assert [ch.public_id for ch in outcome.shared] == [b.public_id, c.public_id]
        assert [ch.public_id for ch in outcome.granted] == [b.public_id, c.public_id]
        assert [ch.public_id for ch in outcome.revoked] == [a.public_id]
        assert not is_shared(a)
        assert b.permission.granted_via == GrantedVia.PERMISSION_SCREEN

    def test_unchanged_channels_keep_their_grant(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db, billing=BillingModel.PARTNER_PAYMENT))
        channel = make_channel(db, client)
        granted_at = channel.permission.granted_at

        outcome = set_shared(
            db,
            client,
            [channel.public_id],
            all_channels=False,
            via=GrantedVia.PERMISSION_SCREEN,
            actor="t",
        )

        assert outcome.granted == [] and outcome.revoked == []
        assert channel.permission.granted_via == GrantedVia.BILLING_DEFAULT
        assert channel.permission.granted_at == granted_at

    def test_all_channels_shares_every_channel_whatever_is_ticked(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        channels = [make_channel(db, client) for _ in range(3)]
        outcome = set_shared(
            db, client, [], all_channels=True, via=GrantedVia.PERMISSION_SCREEN, actor="t"
        )
        assert [ch.public_id for ch in outcome.shared] == [ch.public_id for ch in channels]
        assert client.all_channels

    def test_submitting_without_all_channels_ends_automatic_sharing(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        set_shared(db, client, [], all_channels=True, via=GrantedVia.PERMISSION_SCREEN, actor="t")
        set_shared(db, client, [], all_channels=False, via=GrantedVia.PERMISSION_SCREEN, actor="t")
        assert not client.all_channels
        assert not is_shared(make_channel(db, client))

    def test_foreign_channel_id_changes_nothing(self, db: Session) -> None:
        partner = make_partner(db)
        client, _ = make_client(db, partner)
        other, _ = make_client(db, partner)
        own = make_channel(db, client)
        foreign = make_channel(db, other)

        with pytest.raises(ForeignChannel):
            set_shared(
                db,
                client,
                [own.public_id, foreign.public_id],
                all_channels=True,
                via=GrantedVia.PERMISSION_SCREEN,
                actor="t",
            )

        assert not is_shared(own) and not is_shared(foreign)
        assert not client.all_channels

    def test_grant_refuses_another_clients_channel(self, db: Session) -> None:
        partner = make_partner(db)
        client, _ = make_client(db, partner)
        other, _ = make_client(db, partner)
        with pytest.raises(ForeignChannel):
            grant(db, client, [make_channel(db, other)], via=GrantedVia.CLIENT_HUB, actor="t")

    def test_every_change_is_audited_with_its_actor(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        a, b = make_channel(db, client), make_channel(db, client)
        set_shared(
            db,
            client,
            [a.public_id],
            all_channels=False,
            via=GrantedVia.PERMISSION_SCREEN,
            actor="client_user:x",
        )
        set_shared(
            db,
            client,
            [b.public_id],
            all_channels=False,
            via=GrantedVia.PERMISSION_SCREEN,
            actor="client_user:x",
        )
        granted = events(db, "permission.granted")
        revoked = events(db, "permission.revoked")
        assert [e.data["channel_ids"] for e in granted] == [[a.public_id], [b.public_id]]
        assert [e.data["channel_ids"] for e in revoked] == [[a.public_id]]
        assert {e.actor for e in granted + revoked} == {"client_user:x"}


class TestRemoval:
    """R3: the client can remove permission; the partner's keys stop working."""

    def test_revoke_disables_partner_keys_and_keeps_client_keys(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db, billing=BillingModel.PARTNER_PAYMENT))
        channel = make_channel(db, client, status=ChannelStatus.RUNNING)
        partner_key = _key(db, channel.id, Side.PARTNER)
        client_key = _key(db, channel.id, Side.CLIENT)

        revoked = revoke(db, client, [channel], via=GrantedVia.CLIENT_HUB, actor="t")

        db.refresh(partner_key)
        db.refresh(client_key)
        assert revoked == [channel]
        assert partner_key.revoked_at is not None
        assert client_key.revoked_at is None
        assert key_holder(channel) == Side.CLIENT

    def test_revoking_an_unshared_channel_records_nothing(self, db: Session) -> None:
        client, _ = make_client(db, make_partner(db))
        channel = make_channel(db, client)
        assert revoke(db, client, [channel], via=GrantedVia.CLIENT_HUB, actor="t") == []
        assert events(db, "permission.revoked") == []


class TestOutbox:
    def test_events_are_queued_for_a_partner_with_a_webhook(self, db: Session) -> None:
        partner = make_partner(db, webhook_url="https://partner.example/hooks")
        client, _ = make_client(db, partner)
        make_channel(db, client)
        queued = db.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id))
        assert len(list(queued)) == 2  # client.created, channel.created

    def test_nothing_is_queued_without_a_webhook(self, db: Session) -> None:
        partner = make_partner(db)
        make_channel(db, make_client(db, partner)[0])
        assert list(db.scalars(select(WebhookOutbox))) == []


def _key(db: Session, channel_id: int, side: Side) -> ApiKey:
    secret = issue_secret("wab")
    key = ApiKey(channel_id=channel_id, prefix=secret.prefix, key_hash=secret.hash, created_by=side)
    db.add(key)
    db.flush()
    return key
