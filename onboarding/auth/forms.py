from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from onboarding.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    flow = HiddenField()


class SignupForm(FlaskForm):
    company = StringField("Company name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Work email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    flow = HiddenField()


class NumberForm(FlaskForm):
    phone = StringField(
        "WhatsApp number",
        validators=[DataRequired(), Length(max=32)],
        description="With the country code, for example +49 30 1234567.",
    )
    name = StringField("Display name (optional)", validators=[Length(max=200)])
    flow = HiddenField()


class FlowForm(FlaskForm):
    """A button that posts nothing but its CSRF token and the flow it belongs to."""

    flow = HiddenField()
