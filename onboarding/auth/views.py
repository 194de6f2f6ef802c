"""Client login, signup (inside a permission flow) with its numbers step, and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from onboarding.accounts import mails
from onboarding.auth.forms import FlowForm, LoginForm, NumberForm, SignupForm
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
from onboarding.db import get_session
from onboarding.errors import DomainError
from onboarding.limits import per_address
from onboarding.models import Client, ClientUser
from onboarding.pages import error_page, word, worded
from onboarding.permissions.service import add_channel
from onboarding.phones import to_e164

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
        try:
            _client, user = create_client(
                session,
                flow.partner,
                name=form.company.data,
                email=form.email.data,
                password=form.password.data,
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
    client = get_session().get_one(Client, login.client_id)
    form = NumberForm(flow=token)
    status = 200
    # Continue with a typed number adds it first: leaving it behind unsaid lost it.
    # (CSRFProtect has checked every POST before this view runs.)
    leaving = request.method == "POST" and request.form.get("action") == "continue"
    if leaving and not (form.phone.data or "").strip():
        return redirect(consent_url(token), 303)
    if form.validate_on_submit():
        session = get_session()
        try:
            phone = to_e164(form.phone.data)
            channel = add_channel(
                session,
                client,
                phone,
                (form.name.data or "").strip() or phone,
                actor=f"client_user:{login.public_id}",
            )
            session.commit()
        except DomainError as error:
            session.rollback()
            form.phone.errors.append(worded(error))
        except IntegrityError:  # the client added the same number a moment ago
            session.rollback()
            form.phone.errors.append(word("number.added_already"))
        else:
            flash(_("Added %(number)s.", number=channel.phone_number), "success")
            target = consent_url(token) if leaving else url_for("auth.numbers", flow=token)
            return redirect(target, 303)
        status = 400
    elif form.is_submitted():
        status = 400
    if leaving and status == 400:
        form.phone.errors.append(
            _("Not added yet: correct it, or clear the field to continue without it.")
        )
    return render_template(
        "auth/numbers.html",
        form=form,
        flow=flow,
        channels=client.channels,
        login=login,
        logout_form=FlowForm(flow=token),
    ), status


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
