"""Rules shared by client and partner logins."""

from email_validator import EmailNotValidError, validate_email

from onboarding.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


def normalize_email(email: str) -> str:
    """Lower-cased, so that logins are case-insensitive and unique constraints mean it."""
    return email.strip().lower()


def check_new_login(email: str, password: str) -> str:
    """Return the normalised email if this email and password may make a new login."""
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"This email address is not valid: {error}") from None
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Choose a password of {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    return normalize_email(email)
