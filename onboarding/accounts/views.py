"""Account pages reached from a mail or before login: forgotten password, reset link, e-mail
verification link, and joining a partner's team through an invitation. Plus the two actions the
hubs' own account pages share (`change_password`, `log_out_everywhere`).

None of these need a login; each link's token is the credential, checked by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from onboarding.accounts import limits, mails, normalize_email, service
from onboarding.accounts.forms import (
    AcceptInviteForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    ResetPasswordForm,
)
from onboarding.accounts.tokens import Kind, TokenExpired, TokenInvalid
from onboarding.auth.session import current_token, end_sessions, log_in, log_out
from onboarding.consent.flow import Flow, FlowError
from onboarding.consent.guard import consent_url, load_flow, refuse_flow
from onboarding.db import end_reads, get_session
from onboarding.errors import Conflict, InvalidInput
from onboarding.models import ClientUser, Partner, PartnerUser
from onboarding.pages import error_page, word, worded
from onboarding.partners import team

bp = Blueprint("accounts", __name__)

# Translated where it is shown (a flash message must be a plain string in the session).
MAIL_NOT_SENT = _l("The mail could not be sent just now. Try again in a few minutes.")


@dataclass(frozen=True)
class Door:
    """Client login or Partner Hub login: the same pages, their own words and ways back."""

    kind: Kind
    model: type[ClientUser] | type[PartnerUser]
    login: str  # endpoint
    forgot: str  # endpoint


DOORS: dict[Kind, Door] = {
    "client": Door("client", ClientUser, "auth.login", "accounts.forgot_password"),
    "partner": Door(
        "partner", PartnerUser, "partner_hub.login", "accounts.forgot_partner_password"
    ),
}


@bp.after_request
def _no_store(response: Any) -> Any:
    # The pages carry one-time links' tokens in their URLs and forms: no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


# -- forgotten password ---------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    return _forgot(DOORS["client"])


@bp.route("/hub/password/forgot", methods=["GET", "POST"])
def forgot_partner_password() -> ResponseReturnValue:
    return _forgot(DOORS["partner"])


def _forgot(door: Door) -> ResponseReturnValue:
    token = (request.values.get("flow") or None) if door.kind == "client" else None
    try:
        flow = load_flow(token) if token else None
    except FlowError as error:
        return refuse_flow(error)
    form = ForgotPasswordForm(flow=token)
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return _forgot_page(door, form, flow, status)
    try:
        validate_email(form.email.data.strip(), check_deliverability=False)
    except EmailNotValidError:
        form.email.errors.append(_("This email address is not valid."))
        return _forgot_page(door, form, flow, 400)
    email = normalize_email(form.email.data)
    try:
        _spend_reset_budget(door, email)
    except limits.TooManyRequests as refused:
        form.email.errors.append(worded(refused))
        page, status = _forgot_page(door, form, flow, 429)
        return page, status, {"Retry-After": str(refused.retry_after)}
    session = get_session()
    user = service.find_user(session, door.model, email)
    delivery = mails.password_reset(session, door.kind, email, user, token)
    session.commit()  # nothing changed; the commit is what lets the mail go
    return render_template(
        "accounts/forgot_sent.html", door=door, email=email, flow=flow, sent=delivery.sent
    ), (200 if delivery.sent else 503)


def _spend_reset_budget(door: Door, email: str) -> None:
    # Checked before either is spent, so a refusal by one does not use up the other.
    by_email, by_address = f"{door.kind}:{email}", request.remote_addr or ""
    limits.check("reset_per_email", by_email)
    limits.check("reset_per_address", by_address)
    limits.spend("reset_per_email", by_email)
    limits.spend("reset_per_address", by_address)


def _forgot_page(
    door: Door, form: ForgotPasswordForm, flow: Flow | None, status: int
) -> tuple[str, int]:
    return render_template("accounts/forgot.html", door=door, form=form, flow=flow), status


# -- the reset link -------------------------------------------------------------------------------


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    session = get_session()
    try:
        user = service.user_for_reset(session, token)
    except (TokenExpired, TokenInvalid) as error:
        return _unusable_reset_link(error, request.values.get("flow"))
    door = DOORS[service.kind_of(user)]
    flow_token = (request.values.get("flow") or None) if door.kind == "client" else None
    form = ResetPasswordForm(flow=flow_token)
    if form.validate_on_submit():
        end_reads(session)  # the new password's hash holds no lock
        try:
            user = service.reset_password(session, token, form.password.data)
        except InvalidInput as error:
            session.rollback()
            form.password.errors.append(worded(error))
        except TokenInvalid as error:
            return _unusable_reset_link(error, flow_token)
        else:
            log_in(user)  # every other login of the user ended with the reset
            session.commit()
            flash(
                _("Your new password is set, and every other session of yours has ended."),
                "success",
            )
            if door.kind == "partner":
                return redirect(url_for("partner_hub.clients"), 303)
            target = consent_url(flow_token) if flow_token else url_for("client_hub.home")
            return redirect(target, 303)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "accounts/reset.html", form=form, door=door, user=user, flow=_flow_or_none(flow_token)
    ), status


def _unusable_reset_link(
    error: TokenExpired | TokenInvalid, flow: str | None
) -> ResponseReturnValue:
    # Which door the link was for is unknown once it can't be read: offer the client one, whose
    # page links to the Partner Hub's too.
    again = (
        url_for("accounts.forgot_password", flow=flow)
        if flow
        else url_for("accounts.forgot_password")
    )
    expired = isinstance(error, TokenExpired)
    return error_page(
        400,
        _("This link has expired") if expired else _("This link can't be used"),
        (
            _("Password reset links work for 30 minutes. Ask for a new one.")
            if expired
            else _("%(reason)s Ask for a new link if you still need one.", reason=worded(error))
        ),
        again_url=again,
        again_label=_("Ask for a new link"),
    )


def _flow_or_none(token: str | None) -> Flow | None:
    """The flow, to show whose request is waiting; a stale one is refused by the consent page
    later (which offers to start again), not here."""
    if not token:
        return None
    try:
        return load_flow(token)
    except FlowError:
        return None


# -- e-mail verification --------------------------------------------------------------------------


@bp.get("/verify-email/<token>")
def verify_email(token: str) -> ResponseReturnValue:
    """Following the link verifies the address, logged in or not. A GET that changes state, on
    purpose: it only records that someone could read the mailbox, once (again changes nothing),
    which is what the link proves however it is opened."""
    session = get_session()
    try:
        user = service.verify_email(session, token)
    except TokenExpired:
        return error_page(
            400,
            _("This link has expired"),
            _("Verification links work for 7 days. Log in and send a new one from your account."),
        )
    except TokenInvalid as error:
        return error_page(400, _("This link can't be used"), worded(error))
    session.commit()
    return render_template("accounts/verified.html", user=user)


# -- joining a partner's team ---------------------------------------------------------------------


@bp.route("/hub/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str) -> ResponseReturnValue:
    session = get_session()
    try:
        invite = team.open_invite(session, token)
    except team.InviteUnusable as error:
        return _unusable_invite(400, worded(error))
    partner = session.get_one(Partner, invite.partner_id)
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            user = team.accept_invite(session, token, password=form.password.data)
        except InvalidInput as error:
            session.rollback()
            form.password.errors.append(worded(error))
        except team.InviteUnusable as error:
            return _unusable_invite(400, worded(error))
        except Conflict as error:
            return _unusable_invite(409, worded(error))
        except IntegrityError:  # the same address joined a moment ago
            return _unusable_invite(409, word(team.EMAIL_HAS_LOGIN))
        else:
            log_in(user)
            session.commit()
            flash(_("Welcome to %(brand)s's team.", brand=partner.brand_name), "success")
            return redirect(url_for("partner_hub.clients"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "accounts/accept_invite.html", form=form, invite=invite, partner=partner
    ), status


def _unusable_invite(status: int, reason: str) -> tuple[str, int]:
    return error_page(status, _("This invitation can't be used"), reason)


# -- shared by both hubs' account pages -----------------------------------------------------------


def change_password(user: ClientUser | PartnerUser, form: ChangePasswordForm) -> int | None:
    """Handle the password-change form: None once changed (and every other login ended), else
    the status to answer with, the reason being on the form. Wrong current passwords are
    counted, so a borrowed session can't be used to guess it."""
    if not form.validate_on_submit():
        return 400
    budget = f"{service.kind_of(user)}:{user.public_id}"
    kind, user_id = type(user), user.id
    session = get_session()
    end_reads(session)  # the password hashes below hold no lock
    try:
        limits.check("current_password_per_user", budget)
        service.change_password(
            session,
            kind,
            user_id,
            current=form.current_password.data,
            new=form.new_password.data,
            keep=current_token(),
        )
    except limits.TooManyRequests as refused:
        form.current_password.errors.append(worded(refused))
        return 429
    except service.WrongCurrentPassword as error:
        session.rollback()
        limits.spend("current_password_per_user", budget)
        form.current_password.errors.append(worded(error))
        return 400
    except InvalidInput as error:
        session.rollback()
        form.new_password.errors.append(worded(error))
        return 400
    session.commit()
    return None


def log_out_everywhere(user: ClientUser | PartnerUser) -> None:
    """End every login of the user, this browser's included."""
    end_sessions(get_session(), user)
    log_out()
    get_session().commit()
