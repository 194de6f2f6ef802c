"""The team: who has access, invitations by e-mail, removals and roles (owners only).

The rules are `onboarding.partners.team`'s; a person or invitation named in a URL is looked up
within the signed-in user's own partner, so another partner's ids answer 404.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from onboarding import mail
from onboarding.accounts import limits
from onboarding.db import get_session
from onboarding.errors import Conflict, InvalidInput
from onboarding.models import PartnerUser
from onboarding.pages import worded
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import login_required, owner_required
from onboarding.partner_hub.forms import EmptyForm, InviteForm, RoleForm
from onboarding.partner_hub.views import check_form
from onboarding.partners import team as staff
from onboarding.partners.service import team


@bp.get("/team")
@login_required
def team_page(user: PartnerUser) -> ResponseReturnValue:
    return _team(user, InviteForm(formdata=None))


@bp.post("/team/invites")
@login_required
@owner_required
def invite(user: PartnerUser) -> ResponseReturnValue:
    form = InviteForm()
    if not form.validate_on_submit():
        return _team(user, form, status=400)
    session = get_session()
    try:
        limits.spend("invite_per_partner", user.partner.public_id)
        new = staff.invite(session, user, email=form.email.data, role=form.role.data)
    except limits.TooManyRequests as refused:
        form.email.errors.append(worded(refused))
        return _team(user, form, status=429, headers={"Retry-After": str(refused.retry_after)})
    except (InvalidInput, Conflict) as error:
        session.rollback()
        form.email.errors.append(str(error))
        return _team(user, form, status=error.status)
    delivery = mail.send_after_commit(
        session,
        mail.compose(
            "staff_invite",
            new.invite.email,
            partner=user.partner,
            invited_by=user.email,
            role=new.invite.role,
            expires_at=new.invite.expires_at,
            link=mail.absolute_url("accounts.accept_invite", token=new.token),
        ),
        "staff_invite",
    )
    session.commit()
    if delivery.sent:
        flash(
            _("Invited %(email)s as owner. The link works for 7 days.", email=new.invite.email)
            if new.invite.role == "owner"
            else _(
                "Invited %(email)s as member. The link works for 7 days.", email=new.invite.email
            ),
            "success",
        )
    else:
        flash(
            _(
                "The invitation to %(email)s is saved, but the mail could not be sent just now. "
                "Revoke it and invite again in a few minutes.",
                email=new.invite.email,
            ),
            "error",
        )
    return redirect(url_for("partner_hub.team_page"), 303)


@bp.post("/team/invites/<invite_id>/revoke")
@login_required
@owner_required
def revoke_invite(user: PartnerUser, invite_id: str) -> ResponseReturnValue:
    check_form(EmptyForm())
    session = get_session()
    revoked = staff.revoke_invite(session, user, invite_id)
    session.commit()
    flash(
        _(
            "The invitation to %(email)s is withdrawn: its link no longer works.",
            email=revoked.email,
        ),
        "success",
    )
    return redirect(url_for("partner_hub.team_page"), 303)


@bp.post("/team/members/<user_id>/remove")
@login_required
@owner_required
def remove_member(user: PartnerUser, user_id: str) -> ResponseReturnValue:
    check_form(EmptyForm())
    session = get_session()
    removed = staff.remove_member(session, user, user_id)
    session.commit()
    if removed.id == user.id:
        flash(_("You removed yourself from the team and are logged out."), "info")
        return redirect(url_for("partner_hub.login"), 303)
    flash(_("Removed %(email)s: their sessions ended at once.", email=removed.email), "success")
    return redirect(url_for("partner_hub.team_page"), 303)


@bp.post("/team/members/<user_id>/role")
@login_required
@owner_required
def change_role(user: PartnerUser, user_id: str) -> ResponseReturnValue:
    form = RoleForm()
    if not form.validate_on_submit():
        raise InvalidInput("Choose owner or member.")
    session = get_session()
    changed = staff.set_role(session, user, user_id, form.role.data)
    session.commit()
    flash(
        _("%(email)s is now an owner.", email=changed.email)
        if changed.role == "owner"
        else _("%(email)s is now a member.", email=changed.email),
        "success",
    )
    return redirect(url_for("partner_hub.team_page"), 303)


def _team(
    user: PartnerUser,
    form: InviteForm,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> ResponseReturnValue:
    session = get_session()
    members = team(session, user.partner)
    return (
        render_template(
            "partner_hub/team.html",
            members=members,
            owners=sum(member.role == "owner" for member in members),
            invites=staff.pending_invites(session, user.partner),
            form=form,
            button=EmptyForm(),
        ),
        status,
        headers or {},
    )
