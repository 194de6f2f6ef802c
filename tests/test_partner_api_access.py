"""A partner reaches only its own partner id and objects (SPEC §6): partner B, with its API key
or its OAuth bearer token, gets 403 on every path of partner A, and 404 for every object of A
asked for under its own path; and no refused request changes anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onboarding.models import AuditEvent, BillingModel, WebhookOutbox
from onboarding.partner_api.openapi import document
from onboarding.permissions.consents import deny
from tests.api import (
    API,
    API_KEYS,
    CLIENT,
    CONSENT,
    DELIVERY,
    EVENTS,
    LINKS,
    PARTNER,
    PERMISSION,
    REDELIVER,
    access_token,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    bearer,
    make_account,
    table_rows,
)

# A body that would change something if the request were let through.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    (PARTNER, "patch"): {"brand_name": "Hijacked", "redirect_urls": ["https://evil.example/cb"]},
    (LINKS, "post"): {"client_id": "{client_id}", "channels": ["{channel_id}"]},
}


@dataclass(frozen=True)
class Attempt:
    method: str
    template: str  # the document's path template
    partner: str  # whose partner id is in the path: "a" or "b"
    status: int
    code: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None


# Every documented operation under A's own partner id: 403, whatever it is.
ON_A_PATHS = [
    Attempt(method, template, "a", 403, "forbidden", body=BODIES.get((template, method)))
    for template, operations in document()["paths"].items()
    if template.startswith(PARTNER) and "servers" not in operations  # not the operator API's
    for method in operations
]
# A's objects asked for under B's own partner id: 404, as if they did not exist.
A_OBJECTS_UNDER_B = [
    Attempt("get", CLIENT, "b", 404, "not_found"),
    Attempt("get", PERMISSION, "b", 404, "not_found"),
    Attempt("get", API_KEYS, "b", 404, "not_found"),
    Attempt("post", API_KEYS, "b", 404, "not_found"),
    Attempt("post", LINKS, "b", 404, "not_found", body={"client_id": "{client_id}"}),
    Attempt("post", LINKS, "b", 404, "not_found", body={"channels": ["{channel_id}"]}),
    Attempt(
        "post",
        LINKS,
        "b",
        404,
        "not_found",
        body={"client_id": "{b_client_id}", "channels": ["{channel_id}"]},
    ),
    Attempt("get", EVENTS, "b", 404, "not_found", query=(("after", "{event_id}"),)),
    Attempt("get", CONSENT, "b", 404, "not_found"),
    Attempt("get", DELIVERY, "b", 404, "not_found"),
    Attempt("post", REDELIVER, "b", 404, "not_found"),
]
ATTEMPTS = ON_A_PATHS + A_OBJECTS_UNDER_B


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {name: _fill(item, ids) for name, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("credential", ["api key", "bearer token"])
@pytest.mark.parametrize(
    "attempt",
    ATTEMPTS,
    ids=[f"{a.method} {a.template} as {a.partner}{dict(a.query) or ''}" for a in ATTEMPTS],
)
def test_a_partner_cannot_reach_another_partners_resources(
    client: FlaskClient, db: Session, credential: str, attempt: Attempt
) -> None:
    a = make_account(
        db, billing=BillingModel.PARTNER_PAYMENT, webhook_url="https://a.partner.example/hooks"
    )
    a_client = add_client(db, a)
    a_channel = add_line(db, a_client)  # running and shared with A: a key would be issued
    b = make_account(db)
    b_client = add_client(db, b)
    a_consent = deny(db, a_client, state=None)
    # Delivered, so that A's own redelivery (the control below) is answered.
    db.execute(update(WebhookOutbox).values(status="delivered"))
    db.commit()
    a_event = db.scalars(select(AuditEvent).where(AuditEvent.partner_id == a.partner.id)).first()
    assert a_event is not None
    headers = api_headers(b) if credential == "api key" else bearer(access_token(client, b))
    ids = {
        "partner_id": (a if attempt.partner == "a" else b).id,
        "client_id": a_client.public_id,
        "channel_id": a_channel.public_id,
        "b_client_id": b_client.public_id,
        "event_id": a_event.public_id,
        "consent_id": a_consent.public_id,
        "delivery_id": a_event.public_id,
    }
    assert len({(x.template, x.method) for x in ON_A_PATHS}) == 16  # the table is complete
    before = table_rows(db)

    response = client.open(
        API + attempt.template.format(**ids),
        method=attempt.method,
        query_string=[(name, _fill(value, ids)) for name, value in attempt.query],
        json=_fill(attempt.body, ids) if attempt.body is not None else None,
        headers=headers,
    )

    assert_problem(response, attempt.method, attempt.template, attempt.status, attempt.code)
    assert table_rows(db) == before
    # Control: the same request by A itself, on its own path, is answered; so the refusal above
    # was about whose resources they are, not about the request.
    own = ids | {"partner_id": a.id, "b_client_id": a_client.public_id}
    answered = client.open(
        API + attempt.template.format(**own),
        method=attempt.method,
        query_string=[(name, _fill(value, own)) for name, value in attempt.query],
        json=_fill(attempt.body, own) if attempt.body is not None else None,
        headers=api_headers(a),
    )
    assert_documented(answered, attempt.method, attempt.template)
    assert answered.status_code in (200, 201, 202)
