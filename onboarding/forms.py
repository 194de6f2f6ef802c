"""Forms every part of the web layer shares: the one form of a bare button (every state-changing
HTML POST goes through a FlaskForm, so that its CSRF token is checked, even when the button posts
nothing else), and saving a number typed into a form."""

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from onboarding.db import get_session
from onboarding.errors import DomainError
from onboarding.models import Channel
from onboarding.pages import word, worded
from onboarding.phones import to_e164


class EmptyForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""


def save_number(form: Any, change: Callable[[str, str], Channel]) -> Channel | None:
    """Commit `change(number, name)` with the form's number (E.164) and name (the number when
    empty): the channel, or None with the refusal on the form's phone field and nothing kept."""
    session = get_session()
    try:
        phone = to_e164(form.phone.data)
        channel = change(phone, (form.name.data or "").strip() or phone)
        session.commit()
    except DomainError as error:
        session.rollback()
        form.phone.errors.append(worded(error))
    except IntegrityError:  # the client added the same number a moment ago
        session.rollback()
        form.phone.errors.append(word("number.added_already"))
    else:
        return channel
    return None
