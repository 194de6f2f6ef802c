"""One vocabulary for events (issue 11): every event type has one typed `data` model and one
label; whoever did it is one Actor, whose ids a partner sees only for its own side."""

from __future__ import annotations

import pytest

from onboarding import labels
from onboarding.partner_api.openapi import document
from onboarding.permissions.payloads import EVENTS, WEBHOOK_EVENTS, Actor, channel_ids


def test_every_event_type_has_a_model_and_a_label() -> None:
    assert set(EVENTS) == set(labels.EVENTS)


def test_the_document_has_one_webhook_per_event_type_sent_as_a_webhook() -> None:
    assert set(document()["webhooks"]) == set(WEBHOOK_EVENTS)
    assert not any(name.startswith("staff.") for name in document()["webhooks"])


@pytest.mark.parametrize(
    ("recorded", "seen"),
    [
        ("partner_user:pu_1", {"type": "partner_user", "id": "pu_1"}),
        ("partner_api_key:pk_1", {"type": "partner_api_key", "id": "pk_1"}),
        ("oauth_client:abc", {"type": "oauth_client", "id": "abc"}),
        ("client_user:cu_1", {"type": "client_user", "id": None}),  # not the partner's to know
        ("operator", {"type": "operator", "id": None}),
        ("operator_api", {"type": "operator_api", "id": None}),
        ("something else", {"type": "hub", "id": None}),
    ],
)
def test_an_actor_has_one_shape_and_shows_only_the_partners_own_ids(
    recorded: str, seen: dict[str, str | None]
) -> None:
    assert Actor.parse(recorded).public().model_dump() == seen


def test_channel_ids_are_read_from_either_vocabulary() -> None:
    assert channel_ids({"channel_ids": ["ch_a", "ch_b"]}) == ["ch_a", "ch_b"]
    assert channel_ids({"channel_id": "ch_a"}) == ["ch_a"]  # stored before channel_ids
    assert channel_ids({"name": "x"}) == []
