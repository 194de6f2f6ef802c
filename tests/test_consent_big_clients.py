"""The permission screen for a client with many numbers (issue 8, item 5): a page of numbers,
a filter by number or name that works without JavaScript, counts, "select all matching", and a
selection that filtering never loses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from onboarding.consent.selection import SHOW
from onboarding.models import Channel, ChannelStatus, GrantedVia
from onboarding.permissions.service import grant
from tests.conftest import csrf_token, flow_token
from tests.factories import ClientAccount, make_channel, make_client, make_partner
from tests.test_consent_http import (
    CONSENT,
    arrange,
    callback,
    checkboxes,
    controls,
    open_consent,
    recorded,
    shared_ids,
    snapshot,
    ticked,
)

SHOPS = 120  # named "Shop n", numbers +4930555nnnn
DEPOTS = 40  # named "Depot n", numbers +4940777nnnn


@pytest.fixture
def big(db: Session) -> ClientAccount:
    account = arrange(db, channels=0)
    rows: list[dict[str, Any]] = [
        {"client_id": account.customer.id, "phone_number": f"+4930555{n:04d}", "name": f"Shop {n}"}
        for n in range(SHOPS)
    ] + [
        {"client_id": account.customer.id, "phone_number": f"+4940777{n:04d}", "name": f"Depot {n}"}
        for n in range(DEPOTS)
    ]
    db.execute(insert(Channel), [{**row, "status": ChannelStatus.RUNNING} for row in rows])
    db.commit()
    account.channels = list(
        db.scalars(select(Channel).where(Channel.client_id == account.customer.id))
    )
    return account


def hidden(html: str, name: str) -> str:
    return next(
        str(c.attrs.get("value") or "")
        for c in controls(html)
        if c.tag == "input" and c.attrs.get("name") == name
    )


def counts(html: str) -> str:
    found = re.search(r'<p class="counts" id="counts">(.*?)</p>', html, re.S)
    assert found, "the page shows its counts"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def submit(client: FlaskClient, page: str, action: str, **fields: Any) -> Any:
    """Post the screen's form as a browser would: every hidden field it carries, the ticked
    boxes (or `channels` given), and the button pressed."""
    form: dict[str, Any] = {
        "csrf_token": csrf_token(page),
        "flow": flow_token(page),
        "listed": hidden(page, "listed"),
        "picked": hidden(page, "picked"),
        "unpicked": hidden(page, "unpicked"),
        "prior_q": hidden(page, "prior_q"),
        "channels": sorted(ticked(page)),
        "action": action,
    }
    form.update(fields)
    return client.post(CONSENT, data=form)


def by_name(account: ClientAccount, name: str) -> Channel:
    return next(c for c in account.channels if c.name == name)


class TestBigClient:
    def test_lists_one_page_and_counts_every_number(
        self, client: FlaskClient, big: ClientAccount
    ) -> None:
        html = open_consent(client, big)

        assert len(checkboxes(html, "channels")) == SHOW
        assert counts(html) == f"0 of {SHOPS + DEPOTS} selected · showing the first {SHOW}"
        assert 'name="q"' in html, "a filter is offered"

    def test_a_small_client_gets_no_filter(self, client: FlaskClient, db: Session) -> None:
        html = open_consent(client, arrange(db))

        assert counts(html) == "0 of 3 selected"
        assert 'name="q"' not in html

    def test_filters_by_number_with_a_get_that_keeps_the_flow(
        self, client: FlaskClient, big: ClientAccount
    ) -> None:
        html = open_consent(client, big)
        page = client.get(CONSENT, query_string={"flow": flow_token(html), "q": "+4940777"})

        assert page.status_code == 200
        listed = checkboxes(page.text, "channels")
        assert len(listed) == DEPOTS
        assert all("Depot" in box.text for box in listed.values())
        assert f"{DEPOTS} matching “+4940777”" in counts(page.text)

    def test_filters_by_name_case_insensitively(
        self, client: FlaskClient, big: ClientAccount
    ) -> None:
        html = open_consent(client, big)

        page = submit(client, html, "filter", q="shop 11")

        assert page.status_code == 200
        boxes = checkboxes(page.text, "channels").values()
        names = {re.search(r"Shop (\d+)", box.text).group(1) for box in boxes}  # type: ignore[union-attr]
        assert names == {"11", *(f"11{n}" for n in range(10))}

    def test_a_filter_that_matches_nothing_says_so(
        self, client: FlaskClient, big: ClientAccount
    ) -> None:
        page = submit(client, open_consent(client, big), "filter", q="nobody%_")

        assert "No number matches “nobody%_”." in page.text
        assert checkboxes(page.text, "channels") == {}

    def test_filtering_keeps_the_ticks_made_before_and_allow_shares_exactly_them(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        shop = by_name(big, "Shop 3")
        html = open_consent(client, big)

        depots = submit(client, html, "filter", channels=[shop.public_id], q="Depot")
        assert shop.public_id in hidden(depots.text, "picked").split()
        assert counts(depots.text).startswith(f"1 of {SHOPS + DEPOTS} selected")
        depot = by_name(big, "Depot 7")
        response = submit(client, depots.text, "allow", channels=[depot.public_id])

        params = callback(response, big.partner)
        assert set(recorded(db, params).channels) == {shop.public_id, depot.public_id}
        assert shared_ids(db, big) == {shop.public_id, depot.public_id}

    def test_a_number_cleared_in_one_view_stays_cleared_in_the_next(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        kept, dropped = by_name(big, "Shop 1"), by_name(big, "Shop 2")
        grant(db, big.customer, [kept, dropped], via=GrantedVia.CLIENT_HUB, actor="test")
        db.commit()
        html = open_consent(client, big)
        assert {kept.public_id, dropped.public_id} <= ticked(html)

        others = submit(
            client, html, "filter", channels=sorted(ticked(html) - {dropped.public_id}), q="Depot"
        )
        assert dropped.public_id in hidden(others.text, "unpicked").split()
        response = submit(client, others.text, "allow")

        assert callback(response, big.partner)
        assert shared_ids(db, big) == {kept.public_id}

    def test_select_all_matching_picks_the_numbers_not_listed_too(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        shops = submit(client, open_consent(client, big), "filter", q="Shop")
        assert f"Select all {SHOPS} matching “Shop”" in shops.text
        assert len(checkboxes(shops.text, "channels")) == SHOW < SHOPS

        picked = submit(client, shops.text, "filter", all_matching="1", q="Shop")
        assert counts(picked.text).startswith(f"{SHOPS} of {SHOPS + DEPOTS} selected")
        response = submit(client, picked.text, "allow")

        assert callback(response, big.partner)
        expected = {c.public_id for c in big.channels if c.name.startswith("Shop")}
        assert shared_ids(db, big) == expected

    def test_allow_with_select_all_matching_ticked_shares_them(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        # The box sits beside Filter, but pressing Allow straight after ticking it is what a
        # client does; it used to share none of the matching numbers.
        depots = submit(client, open_consent(client, big), "filter", q="DEPOT")
        assert f"Select all {DEPOTS} matching “DEPOT”" in depots.text

        response = submit(client, depots.text, "allow", all_matching="1")

        assert callback(response, big.partner)
        expected = {c.public_id for c in big.channels if c.name.startswith("Depot")}
        assert shared_ids(db, big) == expected

    def test_filtering_spends_nothing_and_changes_nothing(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, big)
        before = snapshot(db)

        page = submit(client, html, "filter", q="Depot", channels=[big.channels[0].public_id])

        assert page.status_code == 200
        assert snapshot(db) == before
        assert submit(client, page.text, "allow").status_code == 303, "the flow is still good"

    def test_a_forged_pick_refuses_the_whole_answer(
        self, client: FlaskClient, big: ClientAccount, db: Session
    ) -> None:
        stranger, _ = make_client(db, make_partner(db))
        foreign = make_channel(db, stranger)
        db.commit()
        html = open_consent(client, big)
        before = snapshot(db)

        response = submit(client, html, "allow", picked=foreign.public_id)

        assert response.status_code == 400
        assert "does not belong to your account" in response.text
        assert snapshot(db) == before
