"""The signed-in client user's own account: e-mail verification, password, sessions.

Routes of the Client Hub's blueprint (imported by create_app); the work is the accounts
package's."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from onboarding.accounts import limits, mails
from onboarding.accounts.forms import ButtonForm, ChangePasswordForm
from onboarding.accounts.views import MAIL_NOT_SENT, change_password, log_out_everywhere
from onboarding.auth.session import client_user_required
from onboarding.client_hub.views import bp
from onboarding.db import get_session
from onboarding.models import ClientUser
from onboarding.pages import error_page, worded

Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.get("/account")
@client_user_required
def account(user: ClientUser) -> Page:
    return _account(user, ChangePasswordForm(formdata=None))


@bp.post("/account/password")
@client_user_required
def change_password_(user: ClientUser) -> Page:
    form = ChangePasswordForm()
    status = change_password(user, form)
    if status is None:
        flash(_("Your password is changed. Every other session of yours has ended."), "success")
        return redirect(url_for(".account"), 303)
    return _account(user, form, status)


@bp.post("/account/verify-email")
@client_user_required
def resend_verification(user: ClientUser) -> Page:
    if not ButtonForm().validate_on_submit():
        return error_page(
            400, _("Your form could not be read"), _("Go back, reload the page and try again.")
        )
    if user.email_verified_at is not None:
        flash(_("Your email address is verified already."), "info")
        return redirect(url_for(".account"), 303)
    try:
        limits.spend("verify_per_user", user.public_id)
    except limits.TooManyRequests as refused:
        flash(worded(refused), "error")
        return redirect(url_for(".account"), 303)
    session = get_session()
    delivery = mails.verification(session, user)
    session.commit()
    if delivery.sent:
        flash(
            _("We sent a new link to %(email)s. It works for 7 days.", email=user.email), "success"
        )
    else:
        flash(str(MAIL_NOT_SENT), "error")
    return redirect(url_for(".account"), 303)


@bp.post("/account/log-out-everywhere")
@client_user_required
def log_out_everywhere_(user: ClientUser) -> Page:
    if not ButtonForm().validate_on_submit():
        return error_page(
            400, _("Your form could not be read"), _("Go back, reload the page and try again.")
        )
    log_out_everywhere(user)
    flash(_("You are logged out everywhere, on this device too."), "info")
    return redirect(url_for("auth.login"), 303)


def _account(user: ClientUser, form: ChangePasswordForm, status: int = 200) -> Page:
    return render_template(
        "client_hub/account.html", user=user, form=form, button=ButtonForm()
    ), status


def _refused() -> tuple[str, int]:
    return error_page(
        400, _("Your form could not be read"), _("Go back, reload the page and try again.")
    )
