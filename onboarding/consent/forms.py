from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    flow = HiddenField(validators=[DataRequired()])
    # Ownership of each id is the domain's to check, so that a foreign id is refused as a whole.
    channels = SelectMultipleField(choices=[], validate_choice=False)
    # Only a ticked box counts: "0" or "off" from a script must not share every number.
    all_channels = BooleanField(
        "All numbers, including numbers added later", false_values=("", "0", "false", "off")
    )
