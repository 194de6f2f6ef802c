"""The Client Hub's forms: every POST, even a bare button, carries a CSRF token through one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from onboarding.forms import EmptyForm

ButtonForm = EmptyForm  # Generate API Key


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


ALL, SELECTED = "all", "selected"


class SharingForm(FlaskForm):
    """Settings → Partner, the one form with one save: "All numbers, now and later", or "Only
    the numbers I select", one page of numbers at a time: of the numbers the page listed, the
    ticked ones are shared and the others are not; numbers on other pages keep their state."""

    mode = RadioField(
        _l("Which numbers may your partner manage?"),
        choices=[
            SelectChoice(ALL, _l("All numbers, now and later")),
            SelectChoice(SELECTED, _l("Only the numbers I select")),
        ],
    )
    channels = ChannelIdsField(_l("Shared numbers"))
    listed = ChannelIdsField()


class ConfirmChangeForm(FlaskForm):
    """The confirmation page's button: the numbers it listed, to share and to remove."""

    share = ChannelIdsField()
    remove = ChannelIdsField()
