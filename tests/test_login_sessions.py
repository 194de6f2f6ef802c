"""Server-side login sessions (issue 7, hole 5; SPEC §5.4): the cookie holds a random token whose
hash is a `login_session` row, so logout, the absolute lifetime and a removal end a login at
once, whatever copy of the cookie survives."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask, g, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding import security
from onboarding.auth import session as login_sessions
from onboarding.db import utcnow
from onboarding.models import ClientUser, LoginSession, PartnerUser
from onboarding.partners.service import create_partner_user
from onboarding.security import hash_secret
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_client, make_partner


@dataclass(frozen=True)
class Door:
    """One hub's login form, logout button and a page behind the login."""

    login: str
    logout: str
    page: str


CLIENT_HUB = Door(login="/login", logout="/logout", page="/client/")
PARTNER_HUB = Door(login="/hub/login", logout="/hub/logout", page="/hub/clients")
DOORS = pytest.mark.parametrize("door", [CLIENT_HUB, PARTNER_HUB], ids=["client", "partner"])


@dataclass
class Users:
    client_user: ClientUser
    partner_user: PartnerUser

    def on(self, door: Door) -> ClientUser | PartnerUser:
        return self.client_user if door is CLIENT_HUB else self.partner_user


@pytest.fixture
def users(db: Session) -> Users:
    partner = make_partner(db)
    _client, client_user = make_client(db, partner)
    partner_user = create_partner_user(
        db, partner, email="staff@partner.example", password=PASSWORD, role="owner"
    )
    db.commit()
    return Users(client_user, partner_user)


def log_in(client: FlaskClient, door: Door, email: str) -> None:
    page = client.get(door.login, follow_redirects=True).text  # the hub, if logged in already
    response = client.post(
        door.login, data={"csrf_token": csrf_token(page), "email": email, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text


def log_out(client: FlaskClient, door: Door) -> None:
    response = client.post(door.logout, data={"csrf_token": csrf_token(client.get(door.page).text)})
    assert response.status_code == 303


def opens(client: FlaskClient, door: Door) -> bool:
    response = client.get(door.page)
    assert response.status_code in (200, 303)
    return response.status_code == 200


def cookie(client: FlaskClient) -> str:
    kept = client.get_cookie("session")
    assert kept is not None
    return kept.value


def browser_with(app: Flask, value: str) -> FlaskClient:
    """Another browser, into which a copy of a session cookie was pasted."""
    browser = app.test_client()
    browser.set_cookie("session", value)
    return browser


def rows(db: Session, user: ClientUser | PartnerUser | None = None) -> int:
    db.expire_all()
    query = select(func.count()).select_from(LoginSession)
    if isinstance(user, ClientUser):
        query = query.where(LoginSession.client_user_id == user.id)
    elif isinstance(user, PartnerUser):
        query = query.where(LoginSession.partner_user_id == user.id)
    return db.scalar(query) or 0


def token_in(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        value = session.get(login_sessions.COOKIE_KEY)
    return value if isinstance(value, str) else None


# -- logout, lifetime, removal ----------------------------------------------------------------


@DOORS
def test_a_cookie_copied_before_logout_no_longer_opens_the_hub(
    app: Flask, client: FlaskClient, users: Users, door: Door
) -> None:
    log_in(client, door, users.on(door).email)
    copied = cookie(client)
    assert opens(browser_with(app, copied), door)  # the copy works while the login lasts

    log_out(client, door)

    assert not opens(client, door)
    assert not opens(browser_with(app, copied), door)


@DOORS
def test_logout_deletes_the_login_session(
    client: FlaskClient, db: Session, users: Users, door: Door
) -> None:
    log_in(client, door, users.on(door).email)
    assert rows(db, users.on(door)) == 1
    log_out(client, door)
    assert rows(db, users.on(door)) == 0


@DOORS
def test_a_session_ends_at_its_absolute_lifetime_however_active(
    client: FlaskClient,
    db: Session,
    users: Users,
    door: Door,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_in(client, door, users.on(door).email)
    login = db.scalar(select(LoginSession))
    assert login is not None
    assert login.expires_at - login.created_at == timedelta(hours=12)

    start, clock = utcnow(), Clock(monkeypatch)
    for minutes in range(30, 12 * 60, 30):  # busy all day long, a request every half hour
        later = start + timedelta(minutes=minutes)
        monkeypatch.setattr(login_sessions, "utcnow", lambda later=later: later)
        clock.at(minutes * 60)
        assert opens(client, door)
    db.expire_all()
    assert db.scalar(select(LoginSession.expires_at)) == login.expires_at  # activity moved nothing

    monkeypatch.setattr(login_sessions, "utcnow", lambda: login.expires_at + timedelta(seconds=1))
    clock.at(12 * 60 * 60 + 1)
    assert not opens(client, door)


class Clock:
    """Moves the clock that signs session cookies and reads their age (security._now)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = int(time.time())
        self.monkeypatch = monkeypatch
        self.at(0)  # stopped: a second that ticks over during the test moves nothing

    def at(self, seconds: int) -> None:
        now = self.start + seconds
        self.monkeypatch.setattr(security, "_now", lambda: now)


IDLE = 60 * 60  # PERMANENT_SESSION_LIFETIME's default


@DOORS
def test_a_browser_left_alone_for_the_idle_timeout_is_signed_out(
    client: FlaskClient, users: Users, door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    log_in(client, door, users.on(door).email)

    clock.at(IDLE)
    assert opens(client, door)  # an hour to the second: still in, and its cookie signed afresh
    clock.at(2 * IDLE + 1)
    assert not opens(client, door)


@DOORS
def test_a_browser_in_use_stays_signed_in_past_the_idle_timeout(
    app: Flask, client: FlaskClient, users: Users, door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    log_in(client, door, users.on(door).email)
    assert opens(client, door)  # the first page takes what login left for it (a flash)
    first = cookie(client)

    clock.at(IDLE // 12 - 1)
    assert opens(client, door)
    assert cookie(client) == first  # young cookies are not rewritten
    clock.at(IDLE // 12)
    assert opens(client, door)
    renewed = cookie(client)
    assert renewed != first  # a twelfth of the timeout old: signed afresh, once
    assert "Set-Cookie" not in client.get(door.page).headers

    clock.at(IDLE // 12 + IDLE)  # an hour after the last request, and more since the login
    assert opens(client, door)
    assert not opens(browser_with(app, first), door)  # the copy left alone has expired


@DOORS
def test_a_form_posted_after_the_idle_timeout_changes_nothing(
    client: FlaskClient, db: Session, users: Users, door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page was open past the timeout: its form is refused, and the login is not ended."""
    clock = Clock(monkeypatch)
    log_in(client, door, users.on(door).email)
    account = door.page.split("/")[1]  # "client" or "hub"
    page = client.get(f"/{account}/account").text
    assert rows(db, users.on(door)) == 1

    clock.at(IDLE + 1)
    response = client.post(
        f"/{account}/account/log-out-everywhere", data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 400
    assert "Your form expired" in response.text
    assert rows(db, users.on(door)) == 1


def test_the_idle_timeout_is_configurable(
    app: Flask, client: FlaskClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = 600  # seconds, as the environment gives it
    clock = Clock(monkeypatch)
    log_in(client, CLIENT_HUB, users.client_user.email)
    clock.at(601)
    assert not opens(client, CLIENT_HUB)


def test_the_absolute_lifetime_is_configurable(
    app: Flask, client: FlaskClient, db: Session, users: Users
) -> None:
    app.config["SESSION_ABSOLUTE_LIFETIME"] = 3600  # seconds, as the environment gives it
    log_in(client, CLIENT_HUB, users.client_user.email)
    login = db.scalar(select(LoginSession))
    assert login is not None
    assert login.expires_at - login.created_at == timedelta(hours=1)


def test_the_lifetimes_default_to_an_idle_hour_and_twelve_hours_in_all(app: Flask) -> None:
    assert app.permanent_session_lifetime == timedelta(seconds=IDLE)
    assert app.config["SESSION_ABSOLUTE_LIFETIME"] == timedelta(hours=12)


@DOORS
def test_a_removed_users_session_is_out_at_once(
    client: FlaskClient, db: Session, users: Users, door: Door
) -> None:
    log_in(client, door, users.on(door).email)
    assert opens(client, door)

    db.delete(users.on(door))
    db.commit()

    assert not opens(client, door)
    assert rows(db) == 0  # the row went with its user (ON DELETE CASCADE)


# -- login: a fresh token each time, and only a token --------------------------------------------


@DOORS
def test_login_replaces_a_planted_token(
    app: Flask, client: FlaskClient, db: Session, users: Users, door: Door
) -> None:
    """No fixation: whatever the browser carried before login, the login gets a new token."""
    with client.session_transaction() as session:
        session[login_sessions.COOKIE_KEY] = "chosen-by-an-attacker"
        session["planted"] = "too"
    log_in(client, door, users.on(door).email)
    token = token_in(client)
    assert token is not None and token != "chosen-by-an-attacker"
    with client.session_transaction() as session:
        assert "planted" not in session
    attacker = app.test_client()
    with attacker.session_transaction() as session:
        session[login_sessions.COOKIE_KEY] = "chosen-by-an-attacker"
    assert not opens(attacker, door)


@DOORS
def test_logging_in_again_ends_the_browsers_previous_login(
    app: Flask, client: FlaskClient, db: Session, users: Users, door: Door
) -> None:
    log_in(client, door, users.on(door).email)
    first = cookie(client)
    log_in(client, door, users.on(door).email)
    assert rows(db) == 1
    assert opens(client, door)
    assert not opens(browser_with(app, first), door)


def test_the_cookie_holds_a_random_token_and_the_database_its_hash(
    client: FlaskClient, db: Session, users: Users
) -> None:
    log_in(client, CLIENT_HUB, users.client_user.email)
    token = token_in(client)
    assert token is not None and len(token) >= 43  # 256 bits
    with client.session_transaction() as session:
        assert set(session) - {"_permanent", "csrf_token", "_flashes"} == {"login"}
    login = db.scalar(select(LoginSession))
    assert login is not None
    assert login.token_hash == hash_secret(token)
    assert (login.client_user_id, login.partner_user_id) == (users.client_user.id, None)


def test_a_guessed_token_opens_nothing(client: FlaskClient, users: Users) -> None:
    with client.session_transaction() as session:
        session[login_sessions.COOKIE_KEY] = "a-guess"
    assert not opens(client, CLIENT_HUB)
    assert not opens(client, PARTNER_HUB)


def test_the_pre_revision_cookie_opens_nothing(client: FlaskClient, users: Users) -> None:
    """A cookie of the old kind (the user's id, signed) is no login any more."""
    with client.session_transaction() as session:
        session["client_user_id"] = users.client_user.id
        session["partner_user_id"] = users.partner_user.id
    assert not opens(client, CLIENT_HUB)
    assert not opens(client, PARTNER_HUB)


@pytest.mark.parametrize(
    ("logged_in", "other"), [(CLIENT_HUB, PARTNER_HUB), (PARTNER_HUB, CLIENT_HUB)]
)
def test_one_kind_of_login_does_not_open_the_other_hub(
    client: FlaskClient, users: Users, logged_in: Door, other: Door
) -> None:
    log_in(client, logged_in, users.on(logged_in).email)
    assert opens(client, logged_in)
    assert not opens(client, other)


def test_expired_rows_are_deleted_at_the_next_login(
    client: FlaskClient, db: Session, users: Users
) -> None:
    db.add(
        LoginSession(
            token_hash=hash_secret("long gone"),
            partner_user_id=users.partner_user.id,
            expires_at=utcnow() - timedelta(seconds=1),
        )
    )
    db.commit()
    log_in(client, CLIENT_HUB, users.client_user.email)
    assert rows(db, users.partner_user) == 0
    assert rows(db, users.client_user) == 1


# -- ending every session of a user (log out everywhere, password change, removal) -----------------


def test_end_sessions_ends_every_login_of_the_user_only(
    app: Flask, db: Session, users: Users
) -> None:
    browsers = [app.test_client() for _ in range(3)]
    for browser in browsers[:2]:
        log_in(browser, CLIENT_HUB, users.client_user.email)
    log_in(browsers[2], PARTNER_HUB, users.partner_user.email)

    login_sessions.end_sessions(db, users.client_user)
    db.commit()

    assert rows(db, users.client_user) == 0
    assert not any(opens(browser, CLIENT_HUB) for browser in browsers[:2])
    assert opens(browsers[2], PARTNER_HUB)


def test_end_sessions_can_keep_the_current_one(app: Flask, db: Session, users: Users) -> None:
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        log_in(browser, PARTNER_HUB, users.partner_user.email)

    login_sessions.end_sessions(db, users.partner_user, keep=token_in(here))
    db.commit()

    assert rows(db, users.partner_user) == 1
    assert opens(here, PARTNER_HUB)
    assert not opens(elsewhere, PARTNER_HUB)


def test_end_sessions_leaves_a_user_of_the_other_kind_with_the_same_id(
    db: Session, users: Users
) -> None:
    """The two kinds of users count their ids apart: ending one's sessions spares the other's."""
    free = 1 + max(db.scalar(select(func.max(ClientUser.id))) or 0, users.partner_user.id)
    client_twin = ClientUser(
        id=free, client=users.client_user.client, email="twin@client.example", password_hash="x"
    )
    partner_twin = PartnerUser(
        id=free,
        partner=users.partner_user.partner,
        email="twin@partner.example",
        password_hash="x",
        role="member",
    )
    db.add_all([client_twin, partner_twin])
    db.flush()
    for name, column in (("client", "client_user_id"), ("partner", "partner_user_id")):
        db.add(
            LoginSession(
                token_hash=hash_secret(name),
                expires_at=utcnow() + timedelta(hours=1),
                **{column: free},
            )
        )
    db.flush()

    login_sessions.end_sessions(db, client_twin)

    assert (rows(db, client_twin), rows(db, partner_twin)) == (0, 1)


# -- every hub page asks for its own kind of login ----------------------------------------------


@pytest.mark.parametrize(
    ("blueprint", "login", "public"),
    [
        ("client_hub", "/login", set()),
        ("partner_hub", "/hub/login", {"partner_hub.login", "partner_hub.logout"}),
    ],
)
def test_every_hub_route_requires_its_login(
    app: Flask, client: FlaskClient, blueprint: str, login: str, public: set[str]
) -> None:
    """Walks the URL map, so a view added later without the requirement fails here."""
    token = csrf_token(client.get("/login").text)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{blueprint}.") or rule.endpoint in public:
            continue
        path = rule.build({name: "x1" for name in rule.arguments})[1]  # type: ignore[index]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(path, method=method, data={"csrf_token": token})
            assert (response.status_code, response.headers.get("Location")) == (303, login), (
                rule.endpoint,
                method,
            )
            checked += 1
    assert checked >= 10


class TestVerifiedCookies:
    """A session cookie verified once is remembered (security.SessionInterface): what it opens
    must stay exactly what checking it again would open."""

    def cookie(self, client: FlaskClient, users: Users) -> str:
        log_in(client, CLIENT_HUB, users.client_user.email)
        cookie = client.get_cookie("session")
        assert cookie is not None
        assert client.get(CLIENT_HUB.page).status_code == 200  # verified, now remembered
        return cookie.value

    def test_a_changed_cookie_opens_nothing_after_the_real_one_was_remembered(
        self, app: Flask, client: FlaskClient, users: Users
    ) -> None:
        real = self.cookie(client, users)
        payload, stamp, signature = real.rsplit(".", 2)
        # Another first character of the signature (its last one may carry unused bits).
        other = "B" if signature[0] != "B" else "C"
        for forged in (
            f"{payload}.{stamp}.{other}{signature[1:]}",
            f"{payload}x.{stamp}.{signature}",
        ):
            stranger = app.test_client()
            stranger.set_cookie("session", forged)
            assert stranger.get(CLIENT_HUB.page).status_code == 303, forged  # to the login

    def test_a_remembered_cookie_still_expires(
        self, app: Flask, client: FlaskClient, users: Users, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = self.cookie(client, users)
        lifetime = int(app.permanent_session_lifetime.total_seconds())
        monkeypatch.setattr(security, "_now", lambda: int(time.time()) + lifetime + 1)
        late = app.test_client()
        late.set_cookie("session", real)
        assert late.get(CLIENT_HUB.page).status_code == 303

    def test_a_new_secret_key_forgets_what_the_old_one_verified(
        self, app: Flask, client: FlaskClient, users: Users
    ) -> None:
        real = self.cookie(client, users)
        app.secret_key = app.config["SECRET_KEY"] = "a key rotated without the old as fallback"
        again = app.test_client()
        again.set_cookie("session", real)
        assert again.get(CLIENT_HUB.page).status_code == 303

    def test_each_request_changes_its_own_copy(self, app: Flask) -> None:
        interface = app.session_interface
        with app.app_context():
            signer = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
            cookie = signer.dumps({"_flashes": [["message", "Saved."]]})
        with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as context:
            first = interface.open_session(app, context.request)
            assert first is not None
            first["_flashes"].append(["message", "only in the first request"])
            second = interface.open_session(app, context.request)
            assert second is not None and second["_flashes"] == [["message", "Saved."]]


def test_the_consent_screens_csrf_token_is_flask_wtfs(app: Flask) -> None:
    """security.csrf_token signs as flask-wtf does: its tokens pass flask-wtf's own check."""
    with app.test_request_context():
        first = security.csrf_token()  # a new session: flask-wtf makes the raw token
        validate_csrf(first)
        delattr(g._get_current_object(), "csrf_token")
        second = security.csrf_token()  # from the session's raw token, by our signer
        validate_csrf(second)
        assert second == security.csrf_token()  # one per request
        delattr(g._get_current_object(), "csrf_token")
        assert generate_csrf().split(".")[0] == second.split(".")[0]  # the same signed value


def test_the_csrf_token_is_signed_once_per_session_while_tokens_do_not_expire(
    app: Flask,
) -> None:
    with app.test_request_context():
        session["csrf_token"] = "a" * 40
        first = security.csrf_token()
        delattr(g._get_current_object(), "csrf_token")
        assert security.csrf_token() == first  # remembered: a token without a time limit
        delattr(g._get_current_object(), "csrf_token")
        app.config["WTF_CSRF_TIME_LIMIT"] = 3600
        with_time = security.csrf_token()  # a limit: each token signed anew, when it is made
        validate_csrf(with_time)
        delattr(g._get_current_object(), "csrf_token")
        session["csrf_token"] = "b" * 40
        app.config["WTF_CSRF_TIME_LIMIT"] = None
        assert security.csrf_token() != first  # another session's raw token, another token
