from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from onboarding.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from onboarding.forms import EmptyForm


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    flow = HiddenField()


class SignupForm(FlaskForm):
    company = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Work email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=_l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH),
    )
    flow = HiddenField()


class NumberForm(FlaskForm):
    phone = StringField(
        _l("WhatsApp number"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("With the country code, for example +49 30 1234567."),
    )
    name = StringField(_l("Display name (optional)"), validators=[Length(max=200)])
    flow = HiddenField()


class FlowForm(EmptyForm):
    """A bare button inside a permission flow: its CSRF token and the flow it belongs to."""

    flow = HiddenField()


class ChannelForm(FlowForm):
    """A button on one of the client's numbers (Remove): the number's id and the flow."""

    channel = HiddenField()


class CorrectionForm(NumberForm):
    """The corrected number and name of one of the client's numbers."""

    channel = HiddenField()
