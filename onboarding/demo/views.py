"""A stand-in for the demo partner's web app: starts a request and checks the callback as a
partner would.

Registered only with ONBOARDING_DEMO_RECEIVER=1 (as `make run` does). It plays the partner, so
it shares no code with the hub's signing: it runs the very verifier the integration guide ships
(docs/verify/verify_callback.py) with what a partner has: its signing secret, the `state` it
issued to this browser, and the hub's address it expects as `iss`.

- `/demo/start` makes a fresh `state` per click, keeps it in this browser (a signed cookie of the
  receiver's own, as a partner keeps it in its user's session) and sends the browser to a fresh
  signed permission link.
- `/demo/callback` accepts a callback only with a state issued here and not used before.
- The `iss` it expects is ONBOARDING_ISSUER when set, else the address this page was reached on:
  the hub the partner sent its client to. So a hub that signs another address than the one it
  serves on (the bug of issue 11: `PORT=5077` signing `iss=...:5000`) is refused here.
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.wrappers import Response

from onboarding import ROOT
from onboarding.consent.links import permission_link
from onboarding.db import get_session
from onboarding.demo import demo_partner_id, receiver_url
from onboarding.errors import InvalidInput
from onboarding.models import Client
from onboarding.pages import error_page
from onboarding.partners.service import find_partner

bp = Blueprint("demo", __name__, url_prefix="/demo")
VERIFIER = ROOT / "docs" / "verify" / "verify_callback.py"
STATES_COOKIE = "demo_states"
# A state outlives the flow it started (15 minutes at most) and a little more; the newest few
# are kept, so that several tabs can each start a request.
STATES_MAX_AGE = 20 * 60
STATES_KEPT = 10


@cache
def partner_verifier() -> ModuleType:
    """docs/verify/verify_callback.py, loaded from its file as a partner would copy it."""
    spec = importlib.util.spec_from_file_location("demo_verify_callback", VERIFIER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"Cannot load {VERIFIER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being made
    spec.loader.exec_module(module)
    return module


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="onboarding.demo.states")


def issued_states() -> list[str]:
    """The states this browser was given and has not used; none if the cookie is old or forged."""
    try:
        states = _serializer().loads(request.cookies.get(STATES_COOKIE, ""), max_age=STATES_MAX_AGE)
    except BadSignature:
        return []
    return [state for state in states if isinstance(state, str)]


def _keep_states(response: Response, states: list[str]) -> Response:
    response.set_cookie(
        STATES_COOKIE,
        _serializer().dumps(states[-STATES_KEPT:]),
        max_age=STATES_MAX_AGE,
        path=bp.url_prefix or "/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/start")
def start() -> Response | tuple[str, int]:
    partner_id = demo_partner_id(current_app.instance_path)
    partner = find_partner(get_session(), partner_id) if partner_id else None
    if partner is None:
        return error_page(404, _("No demo yet"), _("Run `onboarding demo` (or `make run`) first."))
    state = f"demo-{secrets.token_urlsafe(12)}"
    try:
        link = permission_link(partner, {"redirect_url": receiver_url(), "state": state})
    except InvalidInput:
        return error_page(
            400,
            _("The demo receiver is not registered on this address"),
            _(
                "Run `onboarding demo --port %(port)s` (as `make run` does) to register it, "
                "then start again.",
                port=request.host.rpartition(":")[2],
            ),
        )
    return _keep_states(redirect(link, 303), [*issued_states(), state])


@bp.get("/callback")
def callback() -> Response:
    query = request.query_string.decode("utf-8", "replace")
    params = parse_qsl(query, keep_blank_values=True)
    state = dict(params).get("state")
    client = get_session().scalar(
        select(Client).where(Client.public_id == dict(params).get("client"))
    )
    verifier = partner_verifier()
    issued = issued_states()
    answer: Any = None
    refusal = "the client is not one of the demo's" if client is None else None
    if client is not None:
        try:
            answer = verifier.verify_callback(
                f"?{query}",
                signing_secret=client.partner.signing_secret,
                issuer=current_app.config["ISSUER"] or request.url_root.rstrip("/"),
                state=state,  # compared with the issued ones below
            )
        except verifier.CallbackError as error:
            refusal = str(error)
    if answer is not None and state not in issued:
        answer, refusal = None, "not a state this page issued to this browser, or used already"
    page = render_template(
        "demo/callback.html",
        params=params,
        answer=answer,
        refusal=refusal,
        partner_id=client.partner.public_id if client is not None else None,
    )
    # A state is good for one callback, whatever that callback was.
    # werkzeug's Response says text/plain unless told: the browser would show the markup.
    return _keep_states(
        Response(page, mimetype="text/html"), [kept for kept in issued if kept != state]
    )
