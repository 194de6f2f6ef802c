"""The permission screen: request → (login/signup) → consent → signed 303 callback."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Config, current_app, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from onboarding.auth.forms import FlowForm
from onboarding.auth.session import current_client_user
from onboarding.consent import flow as flows
from onboarding.consent import selection as sel
from onboarding.consent.callback import CallbackTooLong, callback_url, check_issuer
from onboarding.consent.forms import ConsentForm
from onboarding.consent.request import parse_request, strict_query
from onboarding.db import get_session
from onboarding.errors import ForeignChannel, InvalidInput
from onboarding.models import ClientUser, Consent
from onboarding.observability import metrics
from onboarding.pages import error_page
from onboarding.partners.redirects import is_registered
from onboarding.partners.service import find_partner
from onboarding.permissions import consents

bp = Blueprint("consent", __name__)

Page = Response | tuple[str, int]


@bp.get("/partners/<partner_id>/permission")
def permission(partner_id: str) -> Page:
    partner = find_partner(get_session(), partner_id)
    if partner is None:
        return error_page(404, "Unknown partner", "No integration partner has this id.")
    try:
        asked = parse_request(partner, strict_query(request.query_string))
    except InvalidInput as error:
        return error_page(400, "This link is not valid", str(error), partner=partner)
    token = flows.issue(asked)
    if current_client_user() is not None:
        return redirect(consent_url(token), 303)
    step = "auth.signup" if asked.next == "signup" else "auth.login"
    return redirect(url_for(step, flow=token), 303)


@bp.get("/dashboard/app/<partner_id>/permissions")
def permission_360dialog(partner_id: str) -> Response:
    """The reference system's path, so a partner can switch without changing its links."""
    target = url_for("consent.permission", partner_id=partner_id)
    query = request.query_string.decode()
    return redirect(f"{target}?{query}" if query else target, 308)


@bp.route("/permission/consent", methods=["GET", "POST"])
def consent() -> Page | str:
    form = ConsentForm()
    token = request.values.get("flow", "")
    if request.method == "POST" and not form.validate_on_submit():
        return error_page(400, "Your form expired", "Go back, reload the page and try again.")
    try:
        flow = load_flow(token)
    except flows.FlowError as error:
        return refuse_flow(error)
    user = current_client_user()
    if user is None:
        return redirect(url_for("auth.login", flow=token), 303)
    if user.client.partner_id != flow.partner.id:
        return wrong_account(user, flow)
    selection = sel.Selection()
    q = request.values.get("q", "").strip()[: sel.MAX_QUERY]
    if request.method == "POST":
        selection = _carried(form, user.client.id)
        if request.form.get("action") != "filter":  # anything but Allow is a Cancel
            return _answer(form, flow, user, selection)
    return _screen(form, flow, user, selection, q)


def _carried(form: ConsentForm, client_id: int) -> sel.Selection:
    """The form's selection, with the listed boxes folded in and "Select all matching" applied
    last, whichever button was pressed: Allow with it ticked shares every matching number (it
    used to count only for Filter, so Allow shared none of them)."""
    selection = sel.Selection(
        sel.ids(request.form.get("picked")), sel.ids(request.form.get("unpicked"))
    )
    selection.fold(sel.ids(request.form.get("listed")), form.channels.data or [])
    if request.form.get("all_matching"):
        prior = request.form.get("prior_q", "").strip()[: sel.MAX_QUERY]
        selection.pick(get_session().scalars(sel.matching(client_id, prior)))
    return selection


def _screen(
    form: ConsentForm, flow: flows.Flow, user: ClientUser, selection: sel.Selection, q: str
) -> str:
    session = get_session()
    client = user.client
    start = sel.starting_point(session, client.id, flow.request)
    chosen = sel.selected(start, selection)
    rows = sel.listed_rows(session, client.id, q)
    # A short list is its own count: the counting queries are for clients with many numbers.
    short = len(rows) < sel.SHOW
    total = len(rows) if short and not q else sel.count(session, sel.matching(client.id, ""))
    matches = len(rows) if short else sel.count(session, sel.matching(client.id, q))
    chosen_count = len(sel.own(session, client.id, chosen)) if selection.picked else len(chosen)
    form.flow.data = flow.token
    if request.method == "GET":
        form.all_channels.data = client.all_channels
    return render_template(
        "consent/consent.html",
        form=form,
        flow=flow,
        client=client,
        rows=rows,
        q=q,
        total=total,
        matches=matches,
        chosen=chosen,
        chosen_count=chosen_count,
        selection=selection,
        show=sel.SHOW,
    )


def _answer(
    form: ConsentForm, flow: flows.Flow, user: ClientUser, selection: sel.Selection
) -> Page:
    registered = [entry.url for entry in flow.partner.redirect_urls]
    if not is_registered(flow.request.redirect_url, registered):
        return error_page(
            400,
            "Nothing was changed",
            f"{flow.partner.brand_name} no longer accepts answers at this address. "
            "Start again from your partner's website.",
        )
    session = get_session()
    try:
        flows.spend(session, flow.nonce, flow.request)
    except flows.FlowError as error:
        return refuse_flow(error)
    try:
        if request.form.get("action") == "allow":
            answer = consents.allow(
                session,
                user.client,
                _answer_ids(session, form, flow, user, selection),
                all_channels=form.all_channels.data,
                state=flow.request.state,
                actor=f"client_user:{user.public_id}",
            )
        else:  # Cancel changes nothing but is recorded and uses up the token
            answer = consents.deny(session, user.client, state=flow.request.state)
        target = _back_to_partner(flow, answer)
    except ForeignChannel as error:
        session.rollback()
        return error_page(400, "Nothing was changed", str(error))
    except CallbackTooLong:
        session.rollback()
        return error_page(
            400,
            "Nothing was changed",
            f"Your answer cannot be sent back to {flow.partner.brand_name}: their address for "
            "it is too long. Please let them know.",
        )
    session.commit()
    metrics.consent_answered(answer.action)
    return redirect(target, 303)


def _answer_ids(
    session: Session,
    form: ConsentForm,
    flow: flows.Flow,
    user: ClientUser,
    selection: sel.Selection,
) -> list[str]:
    """The ids to share: from the screen's selection when the form says what it listed (the
    screen always does); else exactly the ticked boxes, as a plain form post has always meant."""
    if "listed" not in request.form:
        return list(form.channels.data or [])
    start = sel.starting_point(session, user.client.id, flow.request)
    return sorted(sel.selected(start, selection))


def _back_to_partner(flow: flows.Flow, answer: Consent) -> str:
    """The signed callback that reports `answer`; it is built before the commit, so that an
    answer that cannot be reported changes nothing."""
    allowed = answer.action == "allow"
    return callback_url(
        flow.request.redirect_url,
        flow.partner.signing_secret,
        client_id=answer.client.public_id,
        consent_id=answer.public_id,
        issuer=issuer(current_app.config),
        state=answer.state,
        shared=answer.channels if allowed else None,
        revoked=answer.revoked if allowed else None,
        error=None if allowed else "access_denied",
    )


def issuer(config: Config) -> str:
    """The callback's `iss`: the configured issuer, else the base URL."""
    return str(config["ISSUER"] or config["BASE_URL"])


@bp.record_once
def _check_issuer(state: BlueprintSetupState) -> None:
    """Refuse to start with an issuer too long for every callback to fit in its budget."""
    check_issuer(issuer(state.app.config))


def load_flow(token: str) -> flows.Flow:
    return flows.load(get_session(), token)


def consent_url(token: str) -> str:
    return url_for("consent.consent", flow=token)


def refuse_flow(error: flows.FlowError) -> tuple[str, int]:
    restart = None
    if error.request is not None:
        screen = url_for("consent.permission", partner_id=error.request.partner_id)
        restart = f"{screen}?{urlencode(error.request.query())}"
    return error_page(
        400,
        "This permission request can't be used",
        f"{error} Start again from your partner's website.",
        restart_url=restart,
    )


def wrong_account(user: ClientUser, flow: flows.Flow) -> tuple[str, int]:
    return error_page(
        403,
        "This account belongs to another partner",
        f"You are logged in as {user.email} of {user.client.name}, which is not a client of "
        f"{flow.partner.brand_name}. Log out to continue with another account.",
        logout_form=FlowForm(flow=flow.token),
    )
