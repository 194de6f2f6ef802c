"""Big clients in the hubs (issue 8, item 5): the Partner Hub's client page and the Client Hub's
numbers and settings pages list a page of 100 numbers, with counts, next/previous links and a
filter by number or name that folds case in any language, all without JavaScript."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.clients.numbers import PER_PAGE
from onboarding.models import Channel, ChannelStatus, Client, ClientUser, Partner, PartnerUser
from onboarding.partners.service import create_partner_user
from onboarding.permissions.service import is_shared
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_client, make_partner

NUMBERS = 1000
DASH = "\u2013"  # the pages write ranges as 1\u2013100
# Names a filter must find whatever their case: n → name (the rest are "Line n").
NAMED = {7: "Bäckerei Müller", 512: "MÜLLER Nord", 999: "müller süd", 300: "Große Straße"}


def number(n: int) -> str:
    return f"+4930555{n:04d}"


@dataclass
class Big:
    partner: Partner
    customer: Client
    user: ClientUser
    staff: PartnerUser
    ids: list[str]  # in id order, as the pages list them


@pytest.fixture
def big(db: Session) -> Big:
    partner = make_partner(db)
    customer, user = make_client(db, partner)
    rows = [
        {
            "client_id": customer.id,
            "phone_number": number(n),
            "name": NAMED.get(n, f"Line {n}"),
            "status": ChannelStatus.RUNNING,
        }
        for n in range(NUMBERS)
    ]
    db.execute(insert(Channel), rows)  # Core: the column defaults fill partner_id, name_folded
    staff = create_partner_user(
        db, partner, email=f"owner{partner.id}@big.example", password=PASSWORD, role="owner"
    )
    db.commit()
    ids = list(
        db.scalars(
            select(Channel.public_id).where(Channel.client_id == customer.id).order_by(Channel.id)
        )
    )
    return Big(partner, customer, user, staff, ids)


def client_login(http: FlaskClient, user: ClientUser) -> None:
    page = http.get("/login").text
    http.post(
        "/login", data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD}
    )


def hub_login(http: FlaskClient, user: PartnerUser) -> None:
    page = http.get("/hub/login").text
    response = http.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 303


def listed(html: str) -> list[str]:
    """The channel ids a page lists, in order, whichever hub page it is."""
    for pattern in (
        r'<tr id="(ch_[\w-]+)"',  # Partner Hub: a table row per number
        r'name="listed" value="(ch_[\w-]+)"',  # Client Hub settings: the form's listed ids
        r"/client/numbers/(ch_[\w-]+)/api-key",  # Client Hub numbers: each card's key form
    ):
        if found := re.findall(pattern, html):
            return list(dict.fromkeys(found))
    return []


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def pages(big: Big) -> dict[str, tuple[str, Any]]:
    """Each paginated page: its path and how to log in to it."""
    return {
        "client hub numbers": ("/client/", lambda http: client_login(http, big.user)),
        "client hub settings": (
            "/client/settings/partner",
            lambda http: client_login(http, big.user),
        ),
        "partner hub client": (
            f"/hub/clients/{big.customer.public_id}",
            lambda http: hub_login(http, big.staff),
        ),
    }


PAGES = ["client hub numbers", "client hub settings", "partner hub client"]


@pytest.mark.parametrize("which", PAGES)
def test_a_big_client_answers_with_a_page_of_100_and_its_counts(
    client: FlaskClient, big: Big, which: str
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    response = client.get(path)
    assert response.status_code == 200
    assert listed(response.text) == big.ids[:PER_PAGE]
    assert f"1,000 numbers · showing 1{DASH}100" in words(response.text)
    assert link(response.text, "prev") is None


@pytest.mark.parametrize("which", PAGES)
def test_next_and_previous_walk_every_number_once(
    client: FlaskClient, big: Big, which: str
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    html, seen, positions = client.get(path).text, [], []
    while True:
        seen += listed(html)
        shown = re.search(rf"showing [\d,]+{DASH}[\d,]+", words(html))
        assert shown, "every page says which numbers it shows"
        positions.append(shown.group(0))
        following = link(html, "next")
        if following is None:
            break
        html = client.get(following).text
    assert seen == big.ids
    assert positions[-1] == f"showing 901{DASH}1,000" and len(positions) == NUMBERS // PER_PAGE

    back = client.get(link(html, "prev") or "").text  # from the last page, one back
    assert listed(back) == big.ids[800:900]
    assert f"showing 801{DASH}900" in words(back)


@pytest.mark.parametrize("which", PAGES)
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("MÜLLER", [7, 512, 999]),  # non-ASCII case folding, on SQLite too
        ("müller süd", [999]),
        ("STRASSE", [300]),  # casefold: ß is ss
        ("+49 30 555 0512", [512]),  # the number as people write it
        ("5550007", [7]),
        ("100%", []),  # % matches itself, not any text
    ],
)
def test_the_filter_finds_numbers_by_number_or_name_in_any_case(
    client: FlaskClient, big: Big, which: str, q: str, expected: list[int]
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    response = client.get(path, query_string={"q": q})
    assert response.status_code == 200
    assert listed(response.text) == [big.ids[n] for n in expected]
    assert f"{len(expected)} of 1,000 numbers match “{q}”" in words(response.text)
    if not expected:
        assert "No number matches" in response.text and "Show all numbers" in response.text


@pytest.mark.parametrize("which", PAGES)
def test_the_filter_pages_too_and_keeps_itself_in_the_links(
    client: FlaskClient, big: Big, which: str
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    first = client.get(path, query_string={"q": "line"}).text
    assert f"{NUMBERS - len(NAMED):,} of 1,000 numbers match “line”" in words(first)
    following = link(first, "next") or ""
    assert "q=line" in following
    second = client.get(following).text
    lines = [i for n, i in enumerate(big.ids) if n not in NAMED]
    assert listed(second) == lines[PER_PAGE : 2 * PER_PAGE]


@pytest.mark.parametrize("which", PAGES)
@pytest.mark.parametrize(
    "query", ["after=abc", "after=-1", "before=%C2%B2", "after=1&before=5", "after=1e3"]
)
def test_a_bad_page_link_is_a_readable_400(
    client: FlaskClient, big: Big, which: str, query: str
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "page link" in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("which", PAGES)
def test_a_page_past_the_end_is_empty_and_leads_back(
    client: FlaskClient, big: Big, which: str
) -> None:
    path, log_in = pages(big)[which]
    log_in(client)
    response = client.get(path, query_string={"after": str(2**40)})
    assert response.status_code == 200
    assert listed(response.text) == []
    assert "No numbers on this page." in response.text and "Show all numbers" in response.text


def test_another_partners_client_is_not_found_on_any_page(
    client: FlaskClient, db: Session, big: Big
) -> None:
    other, _ = make_client(db, make_partner(db))
    db.commit()
    hub_login(client, big.staff)
    for query in ("", "?after=1", "?q=Line"):
        response = client.get(f"/hub/clients/{other.public_id}{query}")
        assert response.status_code == 404, query
        assert other.name not in response.text


def settings_post(http: FlaskClient, html: str, ticked: list[str]) -> TestResponse:
    return http.post(
        "/client/settings/partner",
        data={
            "csrf_token": csrf_token(html),
            "mode": "selected",
            "listed": listed(html),
            "channels": ticked,
        },
    )


def test_saving_settings_changes_only_the_numbers_on_that_page(
    client: FlaskClient, db: Session, big: Big
) -> None:
    client_login(client, big.user)
    page_one = client.get("/client/settings/partner").text
    second = client.get(link(page_one, "next") or "").text
    assert listed(second) == big.ids[100:200]

    response = settings_post(client, second, listed(second))  # tick every number of page 2

    assert response.status_code == 303
    db.expire_all()
    channels = db.scalars(
        select(Channel).where(Channel.client_id == big.customer.id).order_by(Channel.id)
    ).all()
    assert [n for n, c in enumerate(channels) if is_shared(c)] == list(range(100, 200))

    # Saving page 1 with nothing ticked removes nothing there (none was shared) and leaves
    # page 2's numbers shared.
    response = settings_post(client, page_one, [])
    assert response.status_code == 303
    db.expire_all()
    assert sum(is_shared(c) for c in db.scalars(select(Channel))) == 100


def test_the_settings_form_refuses_a_listed_number_of_another_client(
    client: FlaskClient, db: Session, big: Big
) -> None:
    other, _ = make_client(db, big.partner)
    db.execute(
        insert(Channel),
        [{"client_id": other.id, "phone_number": "+4930999000", "name": "x", "status": "running"}],
    )
    db.commit()
    foreign = db.scalar(select(Channel.public_id).where(Channel.client_id == other.id))
    client_login(client, big.user)
    html = client.get("/client/settings/partner").text
    response = client.post(
        "/client/settings/partner",
        data={
            "csrf_token": csrf_token(html),
            "mode": "selected",
            "listed": [big.ids[0], foreign],
            "channels": [],
        },
    )
    assert response.status_code == 404
    assert db.scalar(select(Channel).where(Channel.public_id == foreign)) is not None


def test_core_inserts_fill_the_partner_and_the_folded_name(db: Session, big: Big) -> None:
    row = db.execute(
        select(Channel.partner_id, Channel.name_folded).where(Channel.public_id == big.ids[512])
    ).one()
    assert tuple(row) == (big.partner.id, "müller nord")
