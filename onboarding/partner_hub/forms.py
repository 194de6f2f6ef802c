"""Every POST of the hub goes through one of these, so each carries a CSRF token."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from onboarding.consent.request import MAX_STATE
from onboarding.forms import EmptyForm as EmptyForm  # the one empty form, for the hub's views
from onboarding.partners.redirects import MAX_LENGTH as MAX_URL


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class RedirectUrlForm(FlaskForm):
    url = URLField(
        _l("New redirect URL"),
        validators=[DataRequired(), Length(max=MAX_URL)],
        description=_l("An absolute https URL (http only for localhost), without a fragment."),
    )


class RemoveRedirectUrlForm(FlaskForm):
    url = HiddenField(validators=[DataRequired()])


class WebhookUrlForm(FlaskForm):
    webhook_url = URLField(
        _l("Webhook URL"),
        validators=[Optional(), Length(max=MAX_URL)],
        description=_l("An https URL that accepts POST requests. Leave empty to stop webhooks."),
    )


class RotateSecretForm(FlaskForm):
    at_once = BooleanField(_l("Stop signing with the current secret at once (after a leak)"))


ROLES = [SelectChoice("member", _l("Member")), SelectChoice("owner", _l("Owner"))]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(
        _l("Role"),
        choices=ROLES,
        default="member",
        description=_l("Owners also manage the team and the integration settings."),
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLES)


class LinkForm(Form):
    """The permission-link builder, a GET form (no CSRF: it changes nothing); choices are the
    partner's own, filled in by the view. The numbers are checkboxes the template lists."""

    client = SelectField(_l("Client"), choices=[], validate_choice=False)
    redirect_url = SelectField(_l("Return to"), choices=[], validate_choice=False)
    state = StringField(
        _l("State (optional)"),
        validators=[Length(max=MAX_STATE)],
        description=_l("Your own value, returned unchanged in the callback."),
    )
