"""The domain functions under the Partner Hub, without HTTP: who may generate a channel key
(and the greyed-out button's reason), partner credentials, redirect URLs and the team."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from onboarding.accounts import verified_user, verify_login
from onboarding.errors import ChannelNotRunning, NotAllowed, NotFound, PermissionMissing
from onboarding.models import BillingModel, ChannelStatus, GrantedVia, PartnerUser, Side
from onboarding.partners import service as partners
from onboarding.partners import team as staff
from onboarding.permissions.keys import can_generate, generate_api_key
from onboarding.permissions.service import grant
from onboarding.security import hash_secret
from tests.factories import PASSWORD, REDIRECT_URL, make_channel, make_client, make_partner


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("status", list(ChannelStatus))
def test_can_generate_gives_the_reason_generate_api_key_refuses_with(
    db: Session, side: Side, shared: bool, status: ChannelStatus
) -> None:
    client, _ = make_client(db, make_partner(db))
    channel = make_channel(db, client, status=status)
    if shared:
        grant(db, client, [channel], via=GrantedVia.OPERATOR, actor="test")
    reason = can_generate(channel, side)
    holder = Side.PARTNER if shared else Side.CLIENT
    if holder != side:
        assert reason is not None
        with pytest.raises(PermissionMissing, match=re.escape(reason)):
            generate_api_key(db, channel, side=side, actor="test")
    elif status != ChannelStatus.RUNNING:
        # R9: what will make it running, worded for the side that asks (tests/test_keys.py).
        assert reason is not None and "still" in reason and "connected to WhatsApp" in reason
        with pytest.raises(ChannelNotRunning, match=re.escape(reason)):
            generate_api_key(db, channel, side=side, actor="test")
    else:
        assert reason is None
        assert generate_api_key(db, channel, side=side, actor="test").secret


def test_api_keys_are_issued_once_and_revoked_only_by_their_partner(db: Session) -> None:
    mine, theirs = make_partner(db), make_partner(db)
    key, secret = partners.issue_api_key(db, mine)
    assert key.key_hash == hash_secret(secret) and secret not in key.key_hash
    assert key in partners.api_keys(db, mine)
    assert key not in partners.api_keys(db, theirs)
    with pytest.raises(NotFound):
        partners.revoke_api_key(db, theirs, key.public_id)
    assert key.revoked_at is None
    assert partners.revoke_api_key(db, mine, key.public_id).revoked_at is not None


def test_oauth_clients_are_made_once_and_revoked_only_by_their_partner(db: Session) -> None:
    mine, theirs = make_partner(db), make_partner(db)
    client, secret = partners.create_oauth_client(db, mine)
    assert client.secret_hash == hash_secret(secret)
    assert partners.oauth_clients(db, mine)[0] == client  # newest first
    with pytest.raises(NotFound):
        partners.revoke_oauth_client(db, theirs, client.client_id)
    assert client.revoked_at is None
    assert partners.revoke_oauth_client(db, mine, client.client_id).revoked_at is not None


def test_removing_a_redirect_url_moves_the_next_one_up(db: Session) -> None:
    second = "https://partner.example/second"
    partner = make_partner(db, redirect_urls=[REDIRECT_URL, second])
    with pytest.raises(NotFound):
        partners.remove_redirect_url(partner, "https://partner.example/never-registered")
    partners.remove_redirect_url(partner, REDIRECT_URL)
    db.flush()
    assert [(entry.url, entry.position) for entry in partner.redirect_urls] == [(second, 0)]


def test_only_owners_invite_and_an_invitee_joins_with_their_own_password(db: Session) -> None:
    partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT)
    owner = partners.create_partner_user(
        db, partner, email="boss@p.example", password=PASSWORD, role="owner"
    )
    sent = staff.invite(db, owner, email="Staff@P.example", role="member")
    member = staff.accept_invite(db, sent.token, password=PASSWORD)
    assert (member.role, member.partner_id, member.email) == (
        "member",
        partner.id,
        "staff@p.example",
    )
    with pytest.raises(NotAllowed):
        staff.invite(db, member, email="other@p.example", role="member")
    assert [user.email for user in partners.team(db, partner)] == [owner.email, member.email]
    assert partners.may_administer(owner) and not partners.may_administer(member)
    verified = verify_login(db, PartnerUser, "BOSS@p.example", PASSWORD)
    assert verified is not None and verified_user(db, PartnerUser, verified) == owner
    assert verify_login(db, PartnerUser, owner.email, "wrong password") is None
