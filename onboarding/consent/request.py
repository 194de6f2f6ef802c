"""Reading and validating the query of `/partners/<id>/permission` (SPEC §5.1)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict

from onboarding.errors import InvalidInput
from onboarding.ids import PUBLIC_ID
from onboarding.models import Partner
from onboarding.partners.redirects import is_registered
from onboarding.phones import to_e164

MAX_STATE = 512
LANGUAGES = ("en", "de", "pt")
KNOWN = (
    "redirect_url",
    "state",
    "channels",
    "number",
    "email",
    "name",
    "next",
    "partner_payload",
    "lang",
)
_CHANNEL_LIST = re.compile(r"^\[?([A-Za-z0-9_,-]*)\]?$")


@dataclass(frozen=True)
class PermissionRequest:
    """A validated request; travels inside the signed flow token."""

    partner_id: str
    redirect_url: str
    state: str | None = None
    channels: list[str] = field(default_factory=list)
    number: str | None = None
    email: str | None = None
    name: str | None = None
    next: str = "login"
    partner_payload: str | None = None
    lang: str = "en"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def query(self) -> dict[str, str]:
        """The query that asks for this same request again (to restart an expired flow)."""
        params = {
            "redirect_url": self.redirect_url,
            "state": self.state,
            "channels": f"[{','.join(self.channels)}]" if self.channels else None,
            "number": self.number,
            "email": self.email,
            "name": self.name,
            "next": self.next,
            "partner_payload": self.partner_payload,
            "lang": self.lang,
        }
        return {key: value for key, value in params.items() if value is not None}


def strict_query(raw: bytes) -> MultiDict[str, str]:
    """The query as UTF-8 text, refused (not patched up) when a value is not valid UTF-8,
    so that `state` comes back exactly as it was sent."""
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("The link's parameters are not valid UTF-8.") from None
    return MultiDict(pairs)


def parse_request(partner: Partner, args: MultiDict[str, str]) -> PermissionRequest:
    """Raise InvalidInput (UnknownRedirectUrl for the redirect) with a reason fit to show."""
    for key in KNOWN:
        if len(args.getlist(key)) > 1:
            raise InvalidInput(f"The parameter {key} is given more than once.")
    registered = [entry.url for entry in partner.redirect_urls]
    if not registered:
        raise InvalidInput(f"{partner.brand_name} has not registered a redirect URL yet.")
    redirect_url = args.get("redirect_url", registered[0])
    if not is_registered(redirect_url, registered):
        raise InvalidInput(f"The redirect_url is not one that {partner.brand_name} has registered.")
    state = args.get("state")
    if state is not None and len(state) > MAX_STATE:
        raise InvalidInput(f"The state parameter is longer than {MAX_STATE} characters.")
    next_step = args.get("next", "login")
    if next_step not in ("login", "signup"):
        raise InvalidInput("The next parameter is either login or signup.")
    number = args.get("number")
    return PermissionRequest(
        partner_id=partner.public_id,
        redirect_url=redirect_url,
        state=state,
        channels=_channel_list(args.get("channels")),
        number=to_e164(number) if number else None,
        email=_limited(args, "email", 254),
        name=_limited(args, "name", 200),
        next=next_step,
        partner_payload=_limited(args, "partner_payload", 512),
        lang=args.get("lang") if args.get("lang") in LANGUAGES else "en",  # type: ignore[arg-type]
    )


def _channel_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    match = _CHANNEL_LIST.match(raw)
    ids = [part for part in match.group(1).split(",") if part] if match else None
    if ids is None or not all(PUBLIC_ID.match(i) for i in ids) or len(ids) > 500:
        raise InvalidInput("The channels parameter is a list of channel ids: [id,id].")
    return ids


def _limited(args: MultiDict[str, str], key: str, limit: int) -> str | None:
    value = args.get(key)
    if value is not None and len(value) > limit:
        raise InvalidInput(f"The {key} parameter is longer than {limit} characters.")
    return value
