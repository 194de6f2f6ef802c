"""The one form of a bare button: every state-changing HTML POST goes through a FlaskForm, so
that its CSRF token is checked, even when the button posts nothing else."""

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""
