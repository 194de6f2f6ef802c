"""Every POST of the hub goes through one of these, so each carries a CSRF token."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from onboarding.consent.request import MAX_STATE
from onboarding.partners.redirects import MAX_LENGTH as MAX_URL


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""


class RedirectUrlForm(FlaskForm):
    url = URLField(
        "New redirect URL",
        validators=[DataRequired(), Length(max=MAX_URL)],
        description="An absolute https URL (http only for localhost), without a fragment.",
    )


class RemoveRedirectUrlForm(FlaskForm):
    url = HiddenField(validators=[DataRequired()])


class WebhookUrlForm(FlaskForm):
    webhook_url = URLField(
        "Webhook URL",
        validators=[Optional(), Length(max=MAX_URL)],
        description="An https URL that accepts POST requests. Leave empty to stop webhooks.",
    )


class RotateSecretForm(FlaskForm):
    at_once = BooleanField("Stop signing with the current secret at once (after a leak)")


ROLES = [SelectChoice("member", "Member"), SelectChoice("owner", "Owner")]


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField(
        "Role",
        choices=ROLES,
        default="member",
        description="Owners also manage the team and the integration settings.",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLES)


class LinkForm(FlaskForm):
    """The permission-link builder; choices are the partner's own, filled in by the view."""

    client = SelectField("Client (optional)", choices=[], validate_choice=False)
    channels = StringField(
        "Channel ids (optional)",
        validators=[Length(max=5000)],
        description="Comma-separated, e.g. ch_abc, ch_def: these numbers are ticked already. "
        "Each client's page lists its channel ids.",
    )
    redirect_url = SelectField("Return to", choices=[], validate_choice=False)
    state = StringField(
        "State (optional)",
        validators=[Length(max=MAX_STATE)],
        description="Your own value, returned unchanged in the callback.",
    )
