"""Client login, signup (inside a permission flow) with its numbers step, and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from onboarding.accounts import mails, new_login
from onboarding.auth.forms import (
    ChannelForm,
    CorrectionForm,
    FlowForm,
    LoginForm,
    NumberForm,
    SignupForm,
)
from onboarding.auth.session import ClientLogin, log_in, log_out
from onboarding.auth.throttle import TooManyAttempts, attempt_login
from onboarding.clients.service import create_client
from onboarding.consent.flow import Flow, FlowError
from onboarding.consent.guard import (
    client_in_flow,
    consent_url,
    flow_required,
    load_flow,
    refuse_flow,
)
from onboarding.db import end_reads, get_session
from onboarding.errors import DomainError
from onboarding.forms import save_number
from onboarding.limits import per_address
from onboarding.models import Channel, Client, ClientUser
from onboarding.pages import error_page, word, worded
from onboarding.permissions.removal import correct_channel, kept, remove_channel, why_kept
from onboarding.permissions.service import add_channel
from onboarding.phones import readable

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    token = request.values.get("flow") or None
    try:
        flow = load_flow(token) if token else None
    except FlowError as error:
        return refuse_flow(error)
    form = LoginForm(flow=token, email=flow.request.email if flow else None)
    status = 200
    if form.validate_on_submit():
        try:
            user = attempt_login(get_session(), ClientUser, form.email.data, form.password.data)
        except TooManyAttempts as refused:
            form.password.errors.append(worded(refused))
            page = render_template("auth/login.html", form=form, flow=flow)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        if user is not None:
            log_in(user)
            get_session().commit()  # the login session, and a rehashed password if due
            target = consent_url(flow.token) if flow else url_for("client_hub.home")
            return redirect(target, 303)
        form.password.errors.append(_("Wrong email or password."))
        status = 401
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form, flow=flow), status


@bp.route("/signup", methods=["GET", "POST"])
@per_address("SIGNUP_RATE_LIMIT")
def signup() -> ResponseReturnValue:
    if not request.values.get("flow"):
        return error_page(
            400,
            _("Sign up through your partner"),
            _(
                "Accounts are created when your integration partner sends you here. "
                "Ask your partner for the link, or log in if you have an account."
            ),
        )
    return _signup()


@flow_required
def _signup(flow: Flow) -> ResponseReturnValue:
    token = flow.token
    form = SignupForm(flow=token, company=flow.request.name, email=flow.request.email)
    status = 200
    if form.validate_on_submit():
        session = get_session()
        end_reads(session)  # the password's hash holds no lock
        try:
            login = new_login(form.email.data, form.password.data)
            _client, user = create_client(
                session,
                flow.partner,
                name=form.company.data,
                login=login,
                partner_payload=flow.request.partner_payload,
            )
            verification = mails.verification(session, user)
            session.commit()
        except DomainError as error:
            session.rollback()
            form.email.errors.append(worded(error))
        except IntegrityError:  # the same email signed up a moment ago
            session.rollback()
            form.email.errors.append(word("email.may_exist"))
        else:
            log_in(user)
            session.commit()
            if verification.sent:
                flash(
                    _("We sent a link to %(email)s to verify your address.", email=user.email),
                    "info",
                )
            else:
                flash(
                    _(
                        "We could not send the mail to verify your address just now; you can "
                        "send it again from your account page. Everything else works meanwhile."
                    ),
                    "error",
                )
            return redirect(url_for("auth.numbers", flow=token), 303)
        status = 400
    elif form.is_submitted():
        status = 400
    return render_template("auth/signup.html", form=form, flow=flow), status


@bp.route("/signup/numbers", methods=["GET", "POST"])
@client_in_flow
def numbers(flow: Flow, login: ClientLogin) -> ResponseReturnValue:
    token = flow.token
    if request.method == "GET" and request.args.get("edit"):
        return _edit(flow, login, request.args["edit"])
    form = NumberForm(flow=token)
    status = 200
    # Continue with a typed number adds it first: leaving it behind unsaid lost it.
    # (CSRFProtect has checked every POST before this view runs.)
    leaving = request.method == "POST" and request.form.get("action") == "continue"
    if leaving and not (form.phone.data or "").strip():
        return redirect(consent_url(token), 303)
    if form.validate_on_submit():
        session, client = get_session(), _client_of(login)
        channel = save_number(
            form, lambda phone, name: add_channel(session, client, phone, name, actor=_actor(login))
        )
        if channel is not None:
            flash(_("Added %(number)s.", number=readable(channel.phone_number)), "success")
            target = consent_url(token) if leaving else url_for("auth.numbers", flow=token)
            return redirect(target, 303)
        status = 400
    elif form.is_submitted():
        status = 400
    if leaving and status == 400:
        form.phone.errors.append(
            _("Not added yet: correct it, or clear the field to continue without it.")
        )
    return _numbers_page(flow, login, form=form), status


@bp.post("/signup/numbers/remove")
@client_in_flow
def remove_number(flow: Flow, login: ClientLogin) -> ResponseReturnValue:
    form = ChannelForm()  # CSRFProtect has checked the token before this view runs
    channel = _own_channel(login, form.channel.data)
    if channel is None:
        return _not_found()
    session = get_session()
    phone = channel.phone_number
    try:
        remove_channel(session, _client_of(login), channel, actor=_actor(login))
        session.commit()
    except DomainError as error:
        session.rollback()
        page = _numbers_page(flow, login, form=NumberForm(flow=flow.token), refusal=worded(error))
        return page, error.status
    flash(_("Removed %(number)s.", number=readable(phone)), "success")
    return redirect(url_for("auth.numbers", flow=flow.token), 303)


@bp.post("/signup/numbers/correct")
@client_in_flow
def correct_number(flow: Flow, login: ClientLogin) -> ResponseReturnValue:
    form = CorrectionForm()
    channel = _own_channel(login, form.channel.data)
    if channel is None:
        return _not_found()
    if form.validate_on_submit():
        old = channel.phone_number
        session, client = get_session(), _client_of(login)
        corrected = save_number(  # refused: the number stays as it was (rolled back)
            form,
            lambda phone, name: correct_channel(
                session, client, channel, phone, name, actor=_actor(login)
            ),
        )
        if corrected is not None:
            old, new = readable(old), readable(corrected.phone_number)
            flash(_("Corrected %(old)s to %(new)s.", old=old, new=new), "success")
            return redirect(url_for("auth.numbers", flow=flow.token), 303)
    return _numbers_page(flow, login, correction=form, editing=channel), 400


def _edit(flow: Flow, login: ClientLogin, channel_id: str) -> ResponseReturnValue:
    """The numbers step with one number in an editable form (`?edit=<channel id>`)."""
    channel = _own_channel(login, channel_id)
    if channel is None:
        return _not_found()
    code = why_kept(get_session(), channel)
    if code is not None:
        return _numbers_page(flow, login, form=NumberForm(flow=flow.token), refusal=word(code)), 409
    named = channel.name if channel.name != channel.phone_number else ""
    form = CorrectionForm(
        flow=flow.token, channel=channel.public_id, phone=channel.phone_number, name=named
    )
    return _numbers_page(flow, login, correction=form, editing=channel)


def _numbers_page(
    flow: Flow,
    login: ClientLogin,
    *,
    form: NumberForm | None = None,
    correction: CorrectionForm | None = None,
    editing: Channel | None = None,
    refusal: str | None = None,
) -> str:
    """The numbers step: the client's numbers, each with Remove and Correct unless it stays
    (then why), and the form to add one, or, while correcting one, the form for that."""
    channels = _client_of(login).channels
    return render_template(
        "auth/numbers.html",
        form=form,
        correction=correction,
        editing=editing,
        refusal=refusal,
        flow=flow,
        channels=channels,
        kept={id: word(code) for id, code in kept(get_session(), channels).items() if code},
        row_form=ChannelForm(flow=flow.token),
        login=login,
        logout_form=FlowForm(flow=flow.token),
    )


def _own_channel(login: ClientLogin, channel_id: str | None) -> Channel | None:
    """The signed-in client's channel by its public id; None for another client's or no id."""
    if not channel_id:
        return None
    return get_session().scalar(
        select(Channel).where(Channel.public_id == channel_id, Channel.client_id == login.client_id)
    )


def _not_found() -> tuple[str, int]:
    return error_page(
        404,
        word("number.not_found"),
        _("Go back to your numbers, reload the page and try again."),
    )


def _actor(login: ClientLogin) -> str:
    return f"client_user:{login.public_id}"


def _client_of(login: ClientLogin) -> Client:
    return get_session().get_one(Client, login.client_id)


@bp.post("/logout")
def logout() -> Response | tuple[str, int]:
    form = FlowForm()
    if not form.validate_on_submit():
        return error_page(400, _("Could not log out"), _("Reload the page and try again."))
    log_out()
    get_session().commit()
    flash(_("You are logged out."), "info")
    token = form.flow.data
    return redirect(url_for("auth.login", flow=token) if token else url_for("auth.login"), 303)
