"""The permission screen: request → (login/signup) → consent → signed 303 callback."""

from __future__ import annotations

from flask import Blueprint, Config, current_app, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from onboarding.auth.forms import FlowForm
from onboarding.auth.session import ClientLogin, current_client_user
from onboarding.consent import flow as flows
from onboarding.consent import selection as sel
from onboarding.consent.callback import CallbackTooLong, callback_url, check_issuer
from onboarding.consent.forms import ConsentForm
from onboarding.consent.guard import client_in_flow, consent_url, refuse_flow
from onboarding.consent.request import parse_request, strict_query
from onboarding.consent.rows import numbers_html
from onboarding.db import get_session
from onboarding.errors import ForeignChannel, InvalidInput
from onboarding.fragments import draw
from onboarding.i18n import number, switch_base
from onboarding.models import ClientUser, Consent
from onboarding.observability import metrics
from onboarding.pages import error_page, host, worded
from onboarding.partners.redirects import is_registered
from onboarding.partners.service import find_partner
from onboarding.permissions import consents
from onboarding.security import allowed_image, csrf_token

bp = Blueprint("consent", __name__)

Page = Response | tuple[str, int]

CONFIRM_LISTS = 20  # numbers named on the confirmation page; the rest are counted


@bp.get("/partners/<partner_id>/permission")
def permission(partner_id: str) -> Page:
    partner = find_partner(get_session(), partner_id)
    if partner is None:
        return error_page(
            404,
            _("This link doesn't lead anywhere"),
            _(
                "Check that you opened the whole link, or go back to the website that sent you "
                "here and open it again."
            ),
            details=f"No partner has the id {partner_id!r}. The id in the link's path must be "
            "the partner id shown in the Partner Hub → Settings → Your partner account.",
        )
    try:
        asked = parse_request(partner, strict_query(request.query_string))
    except InvalidInput as error:
        return error_page(
            400,
            _("This link from %(brand)s doesn't work", brand=partner.brand_name),
            _(
                "Nothing was changed. Go back to %(brand)s and open their link again; if it "
                "fails again, let %(brand)s know: the details below tell their developers what "
                "to fix.",
                brand=partner.brand_name,
            ),
            details=str(error),
            partner=partner,
        )
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
@client_in_flow
def consent(flow: flows.Flow, login: ClientLogin) -> Page | str:
    q = request.values.get("q", "").strip()[: sel.MAX_QUERY]
    if request.method == "GET":  # from rows alone: no form object, no ORM object
        return _screen(flow, login, sel.Selection(), q, every=login.all_channels)
    form = ConsentForm()
    if not form.validate_on_submit():
        return error_page(400, _("Your form expired"), _("Go back, reload the page and try again."))
    selection = _carried(form, login.client_id)
    # "filter" redraws the screen: the Filter button, Go back, and the hidden first button
    # that Enter presses, so that Enter never answers for the client.
    if request.form.get("action") == "filter":
        return _screen(flow, login, selection, q, every=bool(form.all_channels.data))
    user = get_session().get_one(ClientUser, login.user_id)  # anything but Allow is a Cancel
    if _asks_to_share_nothing(form, flow, user, selection):
        return _confirm_nothing(flow, login, selection)
    return _answer(form, flow, user, selection)


def _carried(form: ConsentForm, client_id: int) -> sel.Selection:
    """The form's selection, with the listed boxes folded in and "Select all matching" applied
    last, whichever button was pressed (it once counted only for Filter, so Allow shared none of
    them). With "All numbers" the boxes say nothing (the script locks them, and All shares every
    number), so the client's own selection is kept for when it chooses "Only the numbers I
    select" again."""
    selection = sel.Selection(
        sel.ids(request.form.get("picked")), sel.ids(request.form.get("unpicked"))
    )
    if not form.all_channels.data:
        selection.fold(sel.ids(request.form.get("listed")), form.channels.data or [])
        if request.form.get("all_matching"):
            prior = request.form.get("prior_q", "").strip()[: sel.MAX_QUERY]
            selection.pick(get_session().scalars(sel.matching(client_id, prior)))
    return selection


def _asks_to_share_nothing(
    form: ConsentForm, flow: flows.Flow, user: ClientUser, selection: sel.Selection
) -> bool:
    """Allow from the screen with no number selected, not yet confirmed. A plain post of the
    ticked boxes (no `listed`: scripts, SPEC §5.2's field names) answers at once, as always."""
    if request.form.get("action") != "allow" or form.all_channels.data:
        return False
    if "listed" not in request.form or request.form.get("share_nothing") == "1":
        return False
    return not _answer_ids(get_session(), form, flow, user, selection)


def _confirm_nothing(flow: flows.Flow, login: ClientLogin, selection: sel.Selection) -> str:
    """A page of its own, so that it works without JavaScript: what sharing nothing takes away."""
    losing, losing_count = sel.shared_numbers(get_session(), login.client_id, CONFIRM_LISTS)
    return render_template(
        "consent/confirm_nothing.html",
        flow=flow,
        login=login,
        csrf_token=generate_csrf(),
        selection=selection,
        q=request.form.get("q", "").strip()[: sel.MAX_QUERY],
        losing=losing,
        losing_count=losing_count,
        logout_form=FlowForm(flow=flow.token),
    )


def _screen(
    flow: flows.Flow, login: ClientLogin, selection: sel.Selection, q: str, *, every: bool
) -> str:
    session = get_session()  # made, not begun: the list and the shared ids are prepared reads
    client_id = login.client_id
    rows = sel.listed_rows(session, client_id, q)
    # A short list is its own count, and unfiltered it holds every shared number: the counting
    # and shared-id queries are for clients with many numbers.
    short = len(rows) < sel.SHOW
    shared = {row.public_id for row in rows if row.shared} if short and not q else None
    chosen = sel.selected(sel.starting_point(session, client_id, flow.request, shared), selection)
    total = len(rows) if short and not q else sel.count(session, sel.matching(client_id, ""))
    matches = len(rows) if short else sel.count(session, sel.matching(client_id, q))
    chosen_count = len(sel.own(session, client_id, chosen)) if selection.picked else len(chosen)
    # What Allow takes away: shared now but not selected, i.e. shared and unpicked (the
    # starting point holds every shared number), so a first GET needs no query for it.
    losing = sel.shared_among(session, client_id, selection.unpicked)
    listed = {row.public_id for row in rows}
    # The button's figures: the script counts the listed boxes and adds these for the rest.
    share = total if every else chosen_count
    remove = 0 if every else len(losing)
    remove_unlisted = len(losing - listed)
    shown = sel.shown(rows, chosen, set() if every else losing, every=every)
    card = flow.card
    return draw(
        "consent/consent.html",
        shape={
            "card": card,
            "logo": allowed_image(card.logo_url),  # on every request: it lets the logo in
            "back_to": host(flow.request.redirect_url),
            "every": every,
            "has_numbers": total > 0,
            "filtered": bool(q),
            "any_match": matches > 0,
            "cut": matches > len(rows),
            "filter_shown": total > sel.SHOW or bool(q),
            "has_rows": bool(rows),
            "unlisted_losing": remove_unlisted > 0,
            "sharing": share > 0,
            "removing": remove > 0,
        },
        slots={
            "here": switch_base(),
            "email": login.email,
            "client_name": login.client_name,
            "csrf": csrf_token(),
            "flow_token": flow.token,
            "listed": " ".join(row.public_id for row in rows),
            "picked": " ".join(sorted(selection.picked)),
            "unpicked": " ".join(sorted(selection.unpicked)),
            "q": q,
            "rows_html": numbers_html(shown, card.brand_name),
            "total": total,
            "total_shown": number(total),
            "matches_shown": number(matches),
            "listed_shown": number(len(rows)),
            "removed_shown": number(remove_unlisted),
            "share_unlisted": chosen_count - len(listed & chosen),
            "remove_unlisted": remove_unlisted,
            "share_shown": number(share),
            "remove_shown": number(remove),
        },
        counts={
            "matches": matches,
            "remove_unlisted_count": remove_unlisted,
            "share_count": share,
            "remove_count": remove,
        },
    )


def _answer(
    form: ConsentForm, flow: flows.Flow, user: ClientUser, selection: sel.Selection
) -> Page:
    registered = [entry.url for entry in flow.partner.redirect_urls]
    if not is_registered(flow.request.redirect_url, registered):
        return error_page(
            400,
            _("Nothing was changed"),
            _(
                "%(brand)s no longer accepts answers at this address. Go back to %(brand)s's "
                "website and open their link again.",
                brand=flow.partner.brand_name,
            ),
            details="This request's redirect_url was removed from the partner's registered URLs "
            "while the client answered. Register it again in the Partner Hub → Settings → "
            "Redirect URLs, or link with one that is registered.",
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
        return error_page(400, _("Nothing was changed"), worded(error))
    except CallbackTooLong:
        session.rollback()
        return error_page(
            400,
            _("Nothing was changed"),
            _(
                "Your answer cannot be sent back to %(brand)s: their address for it is too "
                "long. Please let them know.",
                brand=flow.partner.brand_name,
            ),
            details="The callback would exceed its 8,000-byte budget even without its lists. "
            "Register a shorter redirect URL in the Partner Hub → Settings → Redirect URLs.",
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
