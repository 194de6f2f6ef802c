"""The Client Hub's rules on the domain layer, without HTTP: who may generate a key and why not
(R6-R8), what an edit in Settings → Partner changes (R3, R5), and "all numbers" (one save:
`choose`), including what becomes of the client's own key when it shares a number."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from onboarding.errors import ChannelNotRunning, ForeignChannel, PermissionMissing
from onboarding.models import BillingModel, ChannelStatus, Client, GrantedVia, Side
from onboarding.permissions import client_settings
from onboarding.permissions.keys import (
    KEYS_WITH_PARTNER,
    can_generate,
    channel_for_key,
    client_keys_on_unshared_numbers,
    generate_api_key,
    refusal,
)
from onboarding.permissions.service import default_grant, grant, is_shared, revoke
from tests.factories import make_channel, make_client, make_partner

R7 = (
    "API keys are disabled for this number. The number was shared with your integration partner."
    " With your permission the partner has access to the WhatsApp Business API on your behalf."
    " To manage permissions go to “Organization Settings” or contact your partner."
)


def a_client(db: Session, billing: BillingModel = BillingModel.DIRECT_PAYMENT) -> Client:
    client, _user = make_client(db, make_partner(db, billing=billing))
    return client


def choose_all(db: Session, client: Client) -> client_settings.SharingChange:
    """ "All numbers, now and later", saved."""
    change = client_settings.choose(client, all_numbers=True, shared_ids=[], listed_ids=[])
    client_settings.apply(db, client, change, actor="c")
    return change


class TestCanGenerate:
    """R6/R7/R8: the reason the screens show is the reason generate_api_key refuses with."""

    def test_client_side_while_shared_is_r7_word_for_word(self, db: Session) -> None:
        channel = make_channel(db, a_client(db, BillingModel.PARTNER_PAYMENT))
        assert can_generate(channel, Side.CLIENT) == R7 == KEYS_WITH_PARTNER
        with pytest.raises(PermissionMissing) as refused:
            generate_api_key(db, channel, side=Side.CLIENT, actor="c")
        assert str(refused.value) == R7

    def test_refusals_are_codes_the_screens_word(self, db: Session) -> None:
        client = a_client(db)
        pending = make_channel(db, client, status=ChannelStatus.PENDING)
        running = make_channel(db, client)
        grant(db, client, [running], via=GrantedVia.CLIENT_HUB, actor="c")
        codes = [
            (refused.code, refused.params) if (refused := refusal(channel, side)) else None
            for channel, side in [
                (pending, Side.CLIENT),
                (pending, Side.PARTNER),
                (running, Side.CLIENT),
                (running, Side.PARTNER),
            ]
        ]
        assert codes == [
            ("key.pending_for_client", {"brand": client.partner.brand_name}),
            ("key.not_shared", {}),
            ("key.with_partner", {}),
            None,
        ]

    def test_client_side_of_an_unshared_running_number_may(self, db: Session) -> None:
        channel = make_channel(db, a_client(db))
        assert can_generate(channel, Side.CLIENT) is None
        assert can_generate(channel, Side.PARTNER) is not None

    def test_a_pending_number_gets_no_key_from_either_side(self, db: Session) -> None:
        client = a_client(db)
        channel = make_channel(db, client, status=ChannelStatus.PENDING)
        reason = can_generate(channel, Side.CLIENT)
        assert reason == (
            "This number is still being connected to WhatsApp: API keys can be generated once"
            f" it is running. If this takes long, contact {client.partner.brand_name}."
        )
        with pytest.raises(ChannelNotRunning, match=re.escape(reason)):
            generate_api_key(db, channel, side=Side.CLIENT, actor="c")
        grant(db, client, [channel], via=GrantedVia.CLIENT_HUB, actor="c")
        partner_reason = can_generate(channel, Side.PARTNER)
        assert partner_reason is not None and partner_reason.startswith(
            "This number is still pending: it can get API keys once it is connected to WhatsApp."
        )
        assert can_generate(channel, Side.CLIENT) == R7  # R7 first: the client cannot either way


class TestAllNumbers:
    def test_removing_any_number_ends_all_numbers(self, db: Session) -> None:
        client = a_client(db)
        a, b = make_channel(db, client), make_channel(db, client)
        choose_all(db, client)
        assert client.all_channels and is_shared(a) and is_shared(b)

        revoke(db, client, [a], via=GrantedVia.CLIENT_HUB, actor="c")

        assert client.all_channels is False
        assert default_grant(client) is None
        assert not is_shared(make_channel(db, client))  # the next number stays with the client

    def test_removing_nothing_leaves_all_numbers_on(self, db: Session) -> None:
        client = a_client(db)
        a = make_channel(db, client)
        choose_all(db, client)
        revoke(db, client, [], via=GrantedVia.CLIENT_HUB, actor="c")
        assert client.all_channels
        assert is_shared(a)

    def test_turning_it_off_removes_nothing(self, db: Session) -> None:
        client = a_client(db)
        a = make_channel(db, client)
        choose_all(db, client)
        ids = [a.public_id]
        change = client_settings.choose(client, all_numbers=False, shared_ids=ids, listed_ids=ids)
        assert (change.share, change.remove, change.ends_all_numbers) == ([], [], True)
        assert not change.is_empty
        client_settings.apply(db, client, change, actor="c")
        assert is_shared(a)
        assert client.all_channels is False

    def test_all_numbers_shares_every_number_whatever_is_ticked_or_listed(
        self, db: Session
    ) -> None:
        client = a_client(db)
        a, b, c = (make_channel(db, client) for _ in range(3))
        # The page listed only `a` (one page of many) and nothing was ticked.
        change = client_settings.choose(
            client, all_numbers=True, shared_ids=[], listed_ids=[a.public_id]
        )
        assert (change.share, change.remove, change.starts_all_numbers) == ([a, b, c], [], True)
        client_settings.apply(db, client, change, actor="c")
        assert client.all_channels and all(is_shared(x) for x in (a, b, c))
        again = client_settings.choose(client, all_numbers=True, shared_ids=[], listed_ids=[])
        assert again.is_empty

    def test_all_numbers_with_another_clients_id_changes_nothing(self, db: Session) -> None:
        client = a_client(db)
        own = make_channel(db, client)
        foreign = make_channel(db, a_client(db))
        with pytest.raises(ForeignChannel):
            client_settings.choose(
                client, all_numbers=True, shared_ids=[foreign.public_id], listed_ids=[]
            )
        assert not is_shared(own) and client.all_channels is False


class TestTheClientsOwnKeyWhenSharing:
    """The rule: sharing a number leaves the client's own key working until the partner
    generates one, which revokes it (R8). The client cannot make a new one meanwhile (R6)."""

    def test_all_numbers_keeps_the_clients_key_until_the_partner_generates_one(
        self, db: Session
    ) -> None:
        client = a_client(db)
        channel = make_channel(db, client)
        own = generate_api_key(db, channel, side=Side.CLIENT, actor="c")

        choose_all(db, client)

        assert is_shared(channel)
        assert channel_for_key(db, own.secret) is not None  # still works
        assert can_generate(channel, Side.CLIENT) == R7  # but no new one from the client
        partners = generate_api_key(db, channel, side=Side.PARTNER, actor="p")
        assert channel_for_key(db, own.secret) is None  # R8: the partner's key revoked it
        assert channel_for_key(db, partners.secret) is not None

    def test_settings_count_the_clients_live_keys_on_numbers_not_shared(self, db: Session) -> None:
        client = a_client(db)
        own, twice, shared, partners = (make_channel(db, client) for _ in range(4))
        for channel in (own, twice, twice, shared):
            generate_api_key(db, channel, side=Side.CLIENT, actor="c")
        grant(db, client, [shared, partners], via=GrantedVia.CLIENT_HUB, actor="c")
        generate_api_key(db, partners, side=Side.PARTNER, actor="p")
        assert client_keys_on_unshared_numbers(db, client) == 2  # own and twice's newer key

        grant(db, client, [twice], via=GrantedVia.CLIENT_HUB, actor="c")
        assert client_keys_on_unshared_numbers(db, client) == 1
        revoke(db, client, [shared], via=GrantedVia.CLIENT_HUB, actor="c")
        assert client_keys_on_unshared_numbers(db, client) == 2  # shared's key never stopped

    @pytest.mark.parametrize(
        ("billing", "all_numbers", "expected"),
        [
            (BillingModel.PARTNER_PAYMENT, False, GrantedVia.BILLING_DEFAULT),
            (BillingModel.PARTNER_PAYMENT, True, GrantedVia.BILLING_DEFAULT),
            (BillingModel.DIRECT_PAYMENT, True, GrantedVia.ALL_CHANNELS),
            (BillingModel.DIRECT_PAYMENT, False, None),
        ],
    )
    def test_default_grant_of_the_next_number(
        self, db: Session, billing: BillingModel, all_numbers: bool, expected: GrantedVia | None
    ) -> None:
        client = a_client(db, billing)
        client.all_channels = all_numbers
        assert default_grant(client) == expected
        channel = make_channel(db, client)
        assert (channel.permission.granted_via if channel.permission else None) == expected


class TestChanges:
    def test_change_to_lists_only_what_really_changes(self, db: Session) -> None:
        client = a_client(db)
        a, b, c = (make_channel(db, client) for _ in range(3))
        grant(db, client, [a, b], via=GrantedVia.CLIENT_HUB, actor="c")

        listed = [x.public_id for x in (a, b, c)]
        change = client_settings.change_to(client, [a.public_id, c.public_id], listed)

        assert (change.share, change.remove, change.ends_all_numbers) == ([c], [b], False)
        client_settings.apply(db, client, change, actor="c")
        assert [is_shared(x) for x in (a, b, c)] == [True, False, True]

    def test_change_to_leaves_the_numbers_it_did_not_list(self, db: Session) -> None:
        # The settings page lists one page of numbers: unticked there means removed, not
        # shown there means untouched.
        client = a_client(db)
        a, b, c = (make_channel(db, client) for _ in range(3))
        grant(db, client, [a, c], via=GrantedVia.CLIENT_HUB, actor="c")

        change = client_settings.change_to(client, [b.public_id], [a.public_id, b.public_id])

        assert (change.share, change.remove) == ([b], [a])

    def test_a_change_that_removes_says_it_ends_all_numbers(self, db: Session) -> None:
        client = a_client(db)
        a, _b = make_channel(db, client), make_channel(db, client)
        choose_all(db, client)
        every = [c.public_id for c in client.channels]
        assert client_settings.change_to(client, [a.public_id], every).ends_all_numbers
        assert not client_settings.change_to(client, every, every).remove

    def test_remove_all_lists_the_shared_numbers(self, db: Session) -> None:
        client = a_client(db, BillingModel.PARTNER_PAYMENT)
        a, b = make_channel(db, client), make_channel(db, client)
        revoke(db, client, [a], via=GrantedVia.CLIENT_HUB, actor="c")
        change = client_settings.remove_all(client)
        assert (change.share, change.remove) == ([], [b])
        assert client_settings.remove_all(a_client(db)).is_empty

    def test_another_clients_number_refuses_the_whole_request(self, db: Session) -> None:
        client = a_client(db)
        own = make_channel(db, client)
        foreign = make_channel(db, a_client(db))
        for share, remove in [([own.public_id], [foreign.public_id]), ([foreign.public_id], [])]:
            with pytest.raises(ForeignChannel):
                client_settings.requested(client, share_ids=share, remove_ids=remove)
        with pytest.raises(ForeignChannel):
            client_settings.change_to(client, [own.public_id, "ch_unknown"], [])
        with pytest.raises(ForeignChannel):
            client_settings.change_to(client, [], [own.public_id, foreign.public_id])
        with pytest.raises(ForeignChannel):
            client_settings.own_channel(client, foreign.public_id)
        assert client_settings.own_channel(client, own.public_id) is own
