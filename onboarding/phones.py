"""WhatsApp numbers are stored in E.164."""

import re
from functools import lru_cache

import phonenumbers

from onboarding.errors import InvalidInput

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def to_e164(raw: str) -> str:
    """Parse a number typed with its country code ("+49 30 1234567") into E.164, or refuse it."""
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidInput("phone.no_plus")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone.not_a_number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone.invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=16384)  # ~35 µs a number in phonenumbers; a page lists up to 100 of them
def readable(e164: str) -> str:
    """The number grouped for reading ("+49 151 12345001"); as stored when no plan knows it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
