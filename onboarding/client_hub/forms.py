"""The Client Hub's forms: every POST, even a bare button, carries a CSRF token through one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from onboarding.forms import EmptyForm

ButtonForm = EmptyForm  # Generate API Key, Share all


class ChannelIdsField(SelectMultipleField):
    """Channel ids from checkboxes or hidden inputs. Any string is accepted here: the domain
    checks each against the client's own channels and refuses the whole request otherwise."""

    def __init__(self, label: str | None = None, **kwargs: object) -> None:
        super().__init__(label, validate_choice=False, **kwargs)


class AddNumberForm(FlaskForm):
    phone = StringField(
        _l("WhatsApp number"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("With the country code, for example +49 30 1234567."),
    )
    name = StringField(
        _l("Display name (optional)"),
        validators=[Length(max=200)],
        description=_l("How the number is listed here and for your partner, e.g. “Store Berlin”."),
    )


class SharingForm(FlaskForm):
    """Settings → Partner, the edit form, one page of numbers at a time: of the numbers the
    page listed, the ticked ones are shared and the others are not; numbers on other pages
    keep their state."""

    channels = ChannelIdsField(_l("Shared numbers"))
    listed = ChannelIdsField()


class ConfirmChangeForm(FlaskForm):
    """The confirmation page's button: the numbers it listed, to share and to remove."""

    share = ChannelIdsField()
    remove = ChannelIdsField()


class AllNumbersForm(FlaskForm):
    all_numbers = BooleanField(_l("All numbers, including numbers added later"))
