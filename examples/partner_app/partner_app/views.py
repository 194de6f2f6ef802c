"""The partner's pages: start the flow (popup or plain redirect), take the callback, take
webhooks, generate a key and use it."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask import session as cookie
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from partner_app.hub import Hub, HubError
from partner_app.store import Store
from partner_app.verify_callback import CallbackError, verify_callback

bp = Blueprint("partner", __name__)


def hub() -> Hub:
    found: Hub = current_app.extensions["hub"]
    return found


def store() -> Store:
    found: Store = current_app.extensions["store"]
    return found


def session_id() -> str:
    """This browser's id in the store; the cookie is Flask's signed session."""
    if "sid" not in cookie:
        cookie["sid"] = secrets.token_urlsafe(24)
        cookie["csrf"] = secrets.token_urlsafe(24)
    sid: str = cookie["sid"]
    return sid


def csrf_token() -> str:
    session_id()  # the token is made with the session
    token: str = cookie["csrf"]
    return token


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "").encode()  # bytes: any text compares, no TypeError
    expected = str(cookie.get("csrf", "")).encode()
    if not sent or not hmac.compare_digest(sent, expected):
        abort(400, "This form is stale or was not sent from this app: reload the page.")


def callback_url() -> str:
    """The redirect URL registered with the hub for this app, exactly."""
    return f"{current_app.config['PUBLIC_URL']}/callback"


@bp.after_app_request
def security_headers(response: Response) -> Response:
    hub_url = current_app.config["HUB_URL"]
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hub_url}; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    # The callback's URL carries a signature and ids: it is never sent on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def template_values() -> dict[str, Any]:
    return {
        "hub_url": current_app.config["HUB_URL"],
        "csrf_token": csrf_token,
    }


@bp.get("/")
def index() -> str:
    sid = session_id()
    states = store().states

    def link(**extra: str) -> str:
        params = {"redirect_url": callback_url(), "state": states.issue(sid), **extra}
        return hub().signed_link(params)

    return render_template(
        "index.html",
        popup_link=link(),
        redirect_link=link(),
        connection=store().connection(sid),
        events=store().events(),
    )


@bp.post("/links")
def link_from_api() -> Any:
    """Start the flow with a link the hub made and signed (POST permission_links)."""
    check_csrf()
    body = {"redirect_url": callback_url(), "state": store().states.issue(session_id())}
    try:
        url = hub().link_from_api(body)
    except HubError as error:
        return render_template("problem.html", error=error), 502
    return redirect(url, 303)


@bp.get("/callback")
def callback() -> tuple[str, int]:
    """The hub's redirect after Allow or Cancel. Nothing in it counts before it is verified:
    signature, `iss`, `ts`, no repeated names (verify_callback), then `state`, spent here."""
    query = request.query_string.decode("ascii", errors="replace")
    pairs = parse_qsl(query, keep_blank_values=True)
    claimed = next((value for name, value in pairs if name == "state"), None)
    try:
        answer = verify_callback(
            "?" + query,
            signing_secret=current_app.config["SIGNING_SECRET"],
            issuer=current_app.config["HUB_ISSUER"],
            state=claimed,  # checked just below, against what this browser was given
        )
        if answer.state is None:
            raise CallbackError("no state: every link of this app carries one")
        if not store().states.spend(session_id(), answer.state):
            raise CallbackError("a state this browser was not given, or one already used")
    except CallbackError as refusal:
        return render_template("refused.html", reason=str(refusal)), 400

    result: dict[str, Any] = {"client": answer.client, "consent": answer.consent}
    if answer.error is not None:
        result["error"] = answer.error  # Cancel: nothing changed on the hub
    else:
        channels, revoked = answer.channels, answer.revoked
        if answer.lists_omitted:
            try:
                consent = hub().consent(answer.consent)
            except HubError as error:
                return render_template("problem.html", error=error), 502
            if consent["client_id"] != answer.client or consent["state"] != answer.state:
                return render_template("refused.html", reason="the consent is another's"), 400
            channels, revoked = consent["channels"], consent["revoked"]
        result.update(channels=channels, revoked=revoked, lists_omitted=answer.lists_omitted)
        store().connect(session_id(), result)
    return render_template("callback.html", result=result, origin=current_app.config["ORIGIN"]), 200


@bp.post("/webhooks")
def webhook() -> tuple[str, int]:
    """Standard Webhooks: verified with the signing secret before anything is read."""
    body = request.get_data()
    try:
        event = Webhook(current_app.config["SIGNING_SECRET"]).verify(body, dict(request.headers))
    except (WebhookVerificationError, ValueError):
        # ValueError: the library's answer to a malformed signature header or a body that is
        # not UTF-8 JSON; the same refusal as a wrong signature.
        return "bad signature\n", 400
    store().add_event(request.headers["webhook-id"], event)
    return "", 204


@bp.post("/channels/<channel_id>/key")
def new_key(channel_id: str) -> tuple[str, int]:
    """A key for one of the numbers this browser's connection shares, then the messaging
    endpoint asked who it is for: a key that works."""
    check_csrf()
    connection = store().connection(session_id()) or {}
    if channel_id not in (connection.get("channels") or []):
        abort(404, "Not one of the numbers your connection shares with us.")
    try:
        key = hub().new_key(channel_id)
        channel = hub().messaging_channel(key["api_key"])
    except HubError as error:
        return render_template("problem.html", error=error), 502
    return render_template("key.html", key=key, channel=channel), 201
