"""The account pages' forms; each POST carries its CSRF token through one of them."""

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from onboarding.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from onboarding.forms import EmptyForm

NEW_PASSWORD_HINT = _l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH)


def _new_password(label: LazyString) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=NEW_PASSWORD_HINT,
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    flow = HiddenField()


class ResetPasswordForm(FlaskForm):
    password = _new_password(_l("New password"))
    flow = HiddenField()


class AcceptInviteForm(FlaskForm):
    password = _new_password(_l("Choose a password"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = _new_password(_l("New password"))


ButtonForm = EmptyForm  # log out everywhere, send the link again
