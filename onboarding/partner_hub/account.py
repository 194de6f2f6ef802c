"""The signed-in partner user's own account: password and sessions. The work is the accounts
package's."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from onboarding.accounts.forms import ChangePasswordForm
from onboarding.accounts.views import change_password, log_out_everywhere
from onboarding.models import PartnerUser
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import login_required
from onboarding.partner_hub.forms import EmptyForm
from onboarding.partner_hub.views import check_form


@bp.get("/account")
@login_required
def account(user: PartnerUser) -> ResponseReturnValue:
    return _account(ChangePasswordForm(formdata=None))


@bp.post("/account/password")
@login_required
def change_password_(user: PartnerUser) -> ResponseReturnValue:
    form = ChangePasswordForm()
    status = change_password(user, form)
    if status is None:
        flash(_("Your password is changed. Every other session of yours has ended."), "success")
        return redirect(url_for("partner_hub.account"), 303)
    return _account(form, status)


@bp.post("/account/log-out-everywhere")
@login_required
def log_out_everywhere_(user: PartnerUser) -> ResponseReturnValue:
    check_form(EmptyForm())
    log_out_everywhere(user)
    flash(_("You are logged out everywhere, on this device too."), "info")
    return redirect(url_for("partner_hub.login"), 303)


def _account(form: ChangePasswordForm, status: int = 200) -> ResponseReturnValue:
    return render_template("partner_hub/account.html", form=form, button=EmptyForm()), status
