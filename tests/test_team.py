"""Partner staff (SPEC §5.4): invitations by e-mail, removals, roles, the last owner, and the
audit events of each change. Domain rules first, then every page and refusal over HTTP with the
invitation mail read from a real SMTP server."""

from __future__ import annotations

import html as markup
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onboarding.errors import Conflict, InvalidInput, NotAllowed, NotFound
from onboarding.models import (
    AuditEvent,
    LoginSession,
    Partner,
    PartnerInvite,
    PartnerUser,
    WebhookOutbox,
)
from onboarding.partners import team
from onboarding.partners.service import create_partner_user
from tests.api import table_rows
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, make_partner
from tests.mailbox import Mailbox

JOIN_PASSWORD = "my own long passphrase"


@dataclass
class Staff:
    partner: Partner
    owner: PartnerUser
    member: PartnerUser
    other_owner: PartnerUser  # of another partner


@pytest.fixture
def staff(db: Session) -> Staff:
    partner = make_partner(db, webhook_url="https://a.example/hooks")
    owner = create_partner_user(
        db, partner, email="owner@a.example", password=PASSWORD, role="owner"
    )
    member = create_partner_user(db, partner, email="member@a.example", password=PASSWORD)
    other = make_partner(db)
    other_owner = create_partner_user(
        db, other, email="owner@b.example", password=PASSWORD, role="owner"
    )
    db.commit()
    return Staff(partner, owner, member, other_owner)


def staff_events(db: Session, partner: Partner) -> list[tuple[str, dict[str, object]]]:
    return [
        (event.type, event.data)
        for event in db.scalars(
            select(AuditEvent)
            .where(AuditEvent.partner_id == partner.id, AuditEvent.type.startswith("staff."))
            .order_by(AuditEvent.id)
        )
    ]


# -- domain rules --------------------------------------------------------------------------------


def test_an_invitation_is_accepted_once_and_makes_a_user_of_its_role(
    db: Session, staff: Staff
) -> None:
    sent = team.invite(db, staff.owner, email="New@A.example", role="owner")
    assert sent.invite.email == "new@a.example"
    assert sent.invite.token_hash != sent.token and sent.token not in sent.invite.token_hash
    assert sent.invite.expires_at - sent.invite.created_at == timedelta(days=7)
    joined = team.accept_invite(db, sent.token, password=JOIN_PASSWORD)
    assert (joined.email, joined.role, joined.partner_id) == (
        "new@a.example",
        "owner",
        staff.partner.id,
    )
    with pytest.raises(team.InviteUnusable, match="accepted already"):
        team.accept_invite(db, sent.token, password=JOIN_PASSWORD)
    with pytest.raises(team.InviteUnusable, match="not valid"):
        team.open_invite(db, sent.token + "x")


def test_an_expired_invitation_is_refused(db: Session, staff: Staff) -> None:
    sent = team.invite(db, staff.owner, email="late@a.example", role="member")
    db.execute(
        update(PartnerInvite)
        .where(PartnerInvite.id == sent.invite.id)
        .values(expires_at=sent.invite.created_at - timedelta(seconds=1))
    )
    with pytest.raises(team.InviteUnusable, match="expired"):
        team.accept_invite(db, sent.token, password=JOIN_PASSWORD)
    assert db.scalar(select(PartnerUser).where(PartnerUser.email == "late@a.example")) is None


def test_a_revoked_invitation_is_refused_and_revoking_twice_is_a_conflict(
    db: Session, staff: Staff
) -> None:
    sent = team.invite(db, staff.owner, email="gone@a.example", role="member")
    team.revoke_invite(db, staff.owner, sent.invite.public_id)
    with pytest.raises(team.InviteUnusable, match="withdrawn"):
        team.accept_invite(db, sent.token, password=JOIN_PASSWORD)
    with pytest.raises(Conflict):
        team.revoke_invite(db, staff.owner, sent.invite.public_id)
    assert team.pending_invites(db, staff.partner) == []


def test_invitations_are_refused_for_staff_duplicates_bad_input_and_members(
    db: Session, staff: Staff
) -> None:
    with pytest.raises(Conflict, match="on your team already"):
        team.invite(db, staff.owner, email="MEMBER@a.example", role="member")
    team.invite(db, staff.owner, email="twice@a.example", role="member")
    with pytest.raises(Conflict, match="pending already"):
        team.invite(db, staff.owner, email="twice@a.example", role="owner")
    with pytest.raises(InvalidInput):
        team.invite(db, staff.owner, email="not an address", role="member")
    with pytest.raises(InvalidInput):
        team.invite(db, staff.owner, email="x@a.example", role="admin")
    with pytest.raises(NotAllowed):
        team.invite(db, staff.member, email="x@a.example", role="member")


def test_an_address_with_a_login_at_another_partner_cannot_join(db: Session, staff: Staff) -> None:
    """Refused when the invitee accepts, not when inviting: the owner learns nothing about
    other partners' staff; the invitee, who owns the address, learns why."""
    sent = team.invite(db, staff.owner, email=staff.other_owner.email, role="member")
    with pytest.raises(Conflict, match="Partner Hub login already"):
        team.accept_invite(db, sent.token, password=JOIN_PASSWORD)


def test_another_partners_invitation_and_people_are_not_found(db: Session, staff: Staff) -> None:
    sent = team.invite(db, staff.owner, email="x@a.example", role="member")
    with pytest.raises(NotFound):
        team.revoke_invite(db, staff.other_owner, sent.invite.public_id)
    with pytest.raises(NotFound):
        team.remove_member(db, staff.other_owner, staff.member.public_id)
    with pytest.raises(NotFound):
        team.set_role(db, staff.other_owner, staff.member.public_id, "owner")


def test_the_last_owner_can_be_neither_removed_nor_demoted(db: Session, staff: Staff) -> None:
    with pytest.raises(Conflict, match="at least one owner"):
        team.remove_member(db, staff.owner, staff.owner.public_id)
    with pytest.raises(Conflict, match="at least one owner"):
        team.set_role(db, staff.owner, staff.owner.public_id, "member")
    team.set_role(db, staff.owner, staff.member.public_id, "owner")
    team.set_role(db, staff.owner, staff.owner.public_id, "member")  # two owners: allowed
    assert staff.owner.role == "member"
    with pytest.raises(NotAllowed):  # a member now
        team.set_role(db, staff.owner, staff.member.public_id, "member")
    with pytest.raises(Conflict):
        team.remove_member(db, staff.member, staff.member.public_id)


def test_removal_deletes_the_user_and_ends_their_sessions(db: Session, staff: Staff) -> None:
    from onboarding.db import utcnow

    db.add(
        LoginSession(
            token_hash="a" * 64,
            partner_user_id=staff.member.id,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.flush()
    team.remove_member(db, staff.owner, staff.member.public_id)
    assert db.get(PartnerUser, staff.member.id) is None
    assert db.scalars(select(LoginSession).where(LoginSession.token_hash == "a" * 64)).all() == []


def test_every_change_is_an_audit_event_without_a_webhook(db: Session, staff: Staff) -> None:
    sent = team.invite(db, staff.owner, email="one@a.example", role="member")
    team.revoke_invite(db, staff.owner, sent.invite.public_id)
    again = team.invite(db, staff.owner, email="one@a.example", role="member")
    joined = team.accept_invite(db, again.token, password=JOIN_PASSWORD)
    team.set_role(db, staff.owner, joined.public_id, "owner")
    team.remove_member(db, staff.owner, staff.member.public_id)

    events = staff_events(db, staff.partner)
    assert [kind for kind, _ in events] == [
        "staff.invited",
        "staff.invite_revoked",
        "staff.invited",
        "staff.joined",
        "staff.role_changed",
        "staff.removed",
    ]
    assert events[3][1] == {
        "user_id": joined.public_id,
        "email": "one@a.example",
        "role": "member",
        "invite_id": again.invite.public_id,
    }
    assert events[4][1] == {
        "user_id": joined.public_id,
        "email": "one@a.example",
        "from": "member",
        "to": "owner",
    }
    assert (
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.type.startswith("staff."), AuditEvent.client_id.is_not(None)
            )
        ).all()
        == []
    )
    # The partner has a webhook URL, yet no staff event goes to it.
    outbox = db.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == staff.partner.id))
    assert outbox.all() == []


# -- over HTTP -----------------------------------------------------------------------------------


def log_in(client: FlaskClient, user: PartnerUser, password: str = PASSWORD) -> None:
    response = submit_login(client, "/hub/login", user.email, password)
    assert response.status_code == 303, response.text


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/hub/team").text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def text(response) -> str:  # type: ignore[no-untyped-def]
    return markup.unescape(response.text)


def test_owner_invites_and_the_invitee_joins_through_the_mail(
    app: Flask, client: FlaskClient, db: Session, staff: Staff, mailbox: Mailbox
) -> None:
    log_in(client, staff.owner)
    page = client.get("/hub/team").text
    assert "Invite someone" in page and staff.member.email in page
    response = post(
        client, "/hub/team/invites", {"email": "New.Person@A.example", "role": "member"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/hub/team"
    page = text(client.get("/hub/team"))
    assert "Invited new.person@a.example as member" in page
    assert "Pending invitations" in page and "new.person@a.example" in page

    mail = mailbox.last("new.person@a.example")
    assert staff.partner.brand_name in mail.subject
    assert staff.owner.email in mail.text and "as a member" in mail.text
    assert mail.link() in mail.html

    invitee = app.test_client()
    join = invitee.get(mail.link())
    assert join.status_code == 200
    assert "new.person@a.example" in join.text and staff.partner.brand_name in join.text
    response = invitee.post(
        mail.link(), data={"csrf_token": csrf_token(join.text), "password": JOIN_PASSWORD}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/hub/clients"
    assert invitee.get("/hub/clients").status_code == 200
    joined = db.scalars(
        select(PartnerUser).where(PartnerUser.email == "new.person@a.example")
    ).one()
    assert (joined.role, joined.partner_id) == ("member", staff.partner.id)
    # Used: the same link now answers a clear page, and nothing more is made.
    again = app.test_client().get(mail.link())
    assert again.status_code == 400 and "accepted already" in again.text
    activity = text(client.get("/hub/activity"))
    assert "Joined the team: new.person@a.example (Member)" in activity
    assert "Invited to the team: new.person@a.example (Member)" in activity


def test_a_revoked_invitation_link_stops_working(
    app: Flask, client: FlaskClient, db: Session, staff: Staff, mailbox: Mailbox
) -> None:
    log_in(client, staff.owner)
    post(client, "/hub/team/invites", {"email": "soon.gone@a.example", "role": "owner"})
    link = mailbox.last("soon.gone@a.example").link()
    invite = db.scalars(
        select(PartnerInvite).where(PartnerInvite.email == "soon.gone@a.example")
    ).one()
    response = post(client, f"/hub/team/invites/{invite.public_id}/revoke")
    assert response.status_code == 303
    assert "is withdrawn" in text(client.get("/hub/team"))
    page = app.test_client().get(link)
    assert page.status_code == 400 and "withdrawn" in page.text


def test_a_bad_invitation_link_and_a_short_password_are_refused(
    app: Flask, client: FlaskClient, db: Session, staff: Staff, mailbox: Mailbox
) -> None:
    assert client.get("/hub/invite/inv_not-a-real-token").status_code == 400
    log_in(client, staff.owner)
    post(client, "/hub/team/invites", {"email": "short@a.example", "role": "member"})
    link = mailbox.last("short@a.example").link()
    invitee = app.test_client()
    page = invitee.get(link).text
    before = table_rows(db)
    response = invitee.post(link, data={"csrf_token": csrf_token(page), "password": "short"})
    assert response.status_code == 400 and "between 12 and 200 characters" in response.text
    response = invitee.post(link, data={"password": JOIN_PASSWORD})  # no CSRF token
    assert response.status_code == 400 and "Your form expired" in response.text
    assert table_rows(db) == before


@pytest.mark.parametrize(
    ("email", "status", "message"),
    [
        ("member@a.example", 409, "member@a.example is on your team already."),
        ("not an address", 400, "This email address is not valid"),
    ],
)
def test_inviting_a_member_or_a_bad_address_is_refused_clearly(
    client: FlaskClient,
    db: Session,
    staff: Staff,
    mailbox: Mailbox,
    email: str,
    status: int,
    message: str,
) -> None:
    log_in(client, staff.owner)
    before = table_rows(db)
    response = post(client, "/hub/team/invites", {"email": email, "role": "member"})
    assert response.status_code == status
    assert message in text(response)
    assert table_rows(db) == before
    assert mailbox.mails == []


def test_an_invitation_whose_mail_fails_says_so(
    client: FlaskClient, db: Session, staff: Staff, no_mail_server: None
) -> None:
    log_in(client, staff.owner)
    response = post(client, "/hub/team/invites", {"email": "unlucky@a.example", "role": "member"})
    assert response.status_code == 303
    assert "could not be sent just now" in text(client.get("/hub/team"))


def test_members_see_the_team_without_the_owners_controls(
    client: FlaskClient, staff: Staff
) -> None:
    log_in(client, staff.member)
    page = text(client.get("/hub/team"))
    assert staff.owner.email in page and staff.member.email in page
    assert staff.other_owner.email not in page
    assert "Invite someone" not in page and "Remove" not in page and "Make owner" not in page
    assert "Only an owner can invite people" in page


def test_removing_a_member_ends_their_session_at_once(
    app: Flask, client: FlaskClient, db: Session, staff: Staff
) -> None:
    theirs = app.test_client()
    log_in(theirs, staff.member)
    log_in(client, staff.owner)
    response = post(client, f"/hub/team/members/{staff.member.public_id}/remove")
    assert response.status_code == 303
    assert f"Removed {staff.member.email}" in text(client.get("/hub/team"))
    assert theirs.get("/hub/clients").headers["Location"] == "/hub/login"
    assert db.scalar(select(PartnerUser).where(PartnerUser.email == staff.member.email)) is None


def test_roles_move_both_ways_but_the_last_owner_stays(
    client: FlaskClient, db: Session, staff: Staff
) -> None:
    log_in(client, staff.owner)
    page = text(client.get("/hub/team"))
    assert "The only owner" in page
    before = table_rows(db)
    response = post(client, f"/hub/team/members/{staff.owner.public_id}/role", {"role": "member"})
    assert response.status_code == 409 and "at least one owner" in text(response)
    response = post(client, f"/hub/team/members/{staff.owner.public_id}/remove")
    assert response.status_code == 409 and "at least one owner" in text(response)
    assert table_rows(db) == before

    response = post(client, f"/hub/team/members/{staff.member.public_id}/role", {"role": "owner"})
    assert response.status_code == 303
    assert f"{staff.member.email} is now an owner." in text(client.get("/hub/team"))
    response = post(client, f"/hub/team/members/{staff.owner.public_id}/role", {"role": "member"})
    assert response.status_code == 303
    # Now a member: the owner's actions are refused.
    response = post(client, f"/hub/team/members/{staff.member.public_id}/role", {"role": "member"})
    assert response.status_code == 403


def test_a_role_other_than_owner_or_member_is_refused(
    client: FlaskClient, db: Session, staff: Staff
) -> None:
    log_in(client, staff.owner)
    before = table_rows(db)
    response = post(client, f"/hub/team/members/{staff.member.public_id}/role", {"role": "admin"})
    assert response.status_code == 400
    assert table_rows(db) == before


def test_an_owner_may_remove_themselves_when_another_owner_remains(
    client: FlaskClient, db: Session, staff: Staff
) -> None:
    log_in(client, staff.owner)
    post(client, f"/hub/team/members/{staff.member.public_id}/role", {"role": "owner"})
    response = post(client, f"/hub/team/members/{staff.owner.public_id}/remove")
    assert response.headers["Location"] == "/hub/login"
    assert client.get("/hub/clients").headers["Location"] == "/hub/login"


def test_another_partners_invitation_is_not_found(
    client: FlaskClient, db: Session, staff: Staff
) -> None:
    sent = team.invite(db, staff.owner, email="x@a.example", role="member")
    db.commit()
    log_in(client, staff.other_owner)
    before = table_rows(db)
    response = post(client, f"/hub/team/invites/{sent.invite.public_id}/revoke")
    assert response.status_code == 404
    assert table_rows(db) == before
