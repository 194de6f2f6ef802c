"""Random, non-sequential public ids: a short type prefix and 96 random bits."""

import re
import secrets

PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"
