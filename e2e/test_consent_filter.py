"""The consent screen for a big client in Chromium (issue 8, item 5): filter by name in another
case and language, keep a number ticked before filtering, select all matching, Allow; the
signed callback lists exactly those numbers."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from e2e.conftest import LiveServer, Receiver
from e2e.helpers import assert_accessible, screenshot
from e2e.test_consent_journey import id_list, log_in, the_callback, wait_for_partner
from onboarding.models import Channel, ChannelStatus, Client

BRANCHES = 285  # "Filiale n": with the demo's 3 and the bakeries, 300 numbers
BAKERIES = 12  # "Bäckerei Müller n": what the client filters for


def add_numbers(live_server: LiveServer, client_public_id: str) -> list[str]:
    """The bakeries' channel ids, after giving the demo client 297 more numbers."""
    with Session(live_server.engine) as session:
        client = session.scalars(select(Client).where(Client.public_id == client_public_id)).one()
        rows: list[dict[str, Any]] = [
            {"phone_number": f"+4930555{n:04d}", "name": f"Filiale {n}"} for n in range(BRANCHES)
        ] + [
            {"phone_number": f"+4989777{n:04d}", "name": f"Bäckerei Müller {n}"}
            for n in range(BAKERIES)
        ]
        session.execute(
            insert(Channel),
            [{**row, "client_id": client.id, "status": ChannelStatus.RUNNING} for row in rows],
        )
        session.commit()
        return list(
            session.scalars(
                select(Channel.public_id).where(
                    Channel.client_id == client.id, Channel.name.startswith("Bäckerei")
                )
            )
        )


def test_filter_select_all_matching_and_allow(
    page: Page, live_server: LiveServer, receiver: Receiver, demo: dict[str, Any]
) -> None:
    bakeries = add_numbers(live_server, demo["client_id"])
    log_in(page, demo)
    counts = page.locator("#counts")
    expect(counts).to_have_text("0 of 300 selected · showing the first 100")
    boxes = page.locator('input[type="checkbox"][name="channels"]')
    expect(boxes).to_have_count(100)

    first = boxes.nth(0)  # one of the demo's own numbers, ticked before filtering
    first.check()
    kept = first.get_attribute("value")
    search = page.get_by_label("Find a number or name")
    search.fill("MÜLLER")
    search.press("Enter")  # Enter in the search field filters; it never answers for the client

    expect(counts).to_have_text(f"1 of 300 selected · {BAKERIES} matching “MÜLLER”")
    expect(boxes).to_have_count(BAKERIES)
    for index in range(BAKERIES):
        expect(boxes.nth(index)).not_to_be_checked()
    assert sorted(boxes.evaluate_all("boxes => boxes.map((box) => box.value)")) == sorted(bakeries)
    screenshot(page, "consent-filter")
    assert_accessible(page)

    page.get_by_label(f"Select all {BAKERIES} matching “MÜLLER”").check()
    page.get_by_role("button", name="Allow").click()
    wait_for_partner(page, receiver)

    callback = the_callback(receiver, demo["signing_secret"])
    assert sorted(id_list(callback["channels"])) == sorted([*bakeries, kept])
    assert "revoked" not in callback
