"""Reading and validating the query of `/partners/<id>/permission` (SPEC §5.1)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict

from onboarding.consent.callback import canonical
from onboarding.db import utcnow
from onboarding.errors import InvalidInput
from onboarding.ids import PUBLIC_ID
from onboarding.models import Partner
from onboarding.partners.redirects import is_registered
from onboarding.phones import E164, to_e164
from onboarding.security import signing_key

MAX_STATE = 512
MAX_CHANNELS = 500
# Limits of the other free-text parameters, in code points.
MAX_LENGTHS = {"email": 254, "name": 200, "partner_payload": 512}
SIGNATURE = "sig"
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
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


class TamperedLink(InvalidInput):
    """A `sig` that does not match the link (or is malformed, or given twice)."""


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
    # The link carried a valid `sig`: the partner made every parameter (SPEC §5.1).
    signed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def query(self) -> dict[str, str]:
        """The query that asks for this same request again (to restart an expired flow).

        Unsigned, so without `partner_payload`, which only a signed link may carry; the rest
        of the request is the same.
        """
        params = {
            "redirect_url": self.redirect_url,
            "state": self.state,
            "channels": f"[{','.join(self.channels)}]" if self.channels else None,
            "number": self.number,
            "email": self.email,
            "name": self.name,
            "next": self.next,
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
    """Raise InvalidInput (TamperedLink for a wrong `sig`) with a reason fit to show.

    The checks that need no database come first, so that an oversized request costs nothing.
    """
    signed = is_signed(partner, args)
    for key in KNOWN:
        if len(args.getlist(key)) > 1:
            raise InvalidInput(f"The parameter {key} is given more than once.")
    state = args.get("state")
    if state is not None and len(state) > MAX_STATE:
        raise InvalidInput(f"The state parameter is longer than {MAX_STATE} characters.")
    next_step = args.get("next", "login")
    if next_step not in ("login", "signup"):
        raise InvalidInput("The next parameter is either login or signup.")
    channels = _channel_list(args.get("channels"))
    number = args.get("number")
    email = _limited(args, "email")
    name = _limited(args, "name")
    # Whoever opens a link could otherwise set the reference the partner files the client under.
    partner_payload = _limited(args, "partner_payload") if signed else None
    registered = [entry.url for entry in partner.redirect_urls]
    if not registered:
        raise InvalidInput(
            f"{partner.brand_name} has not registered a redirect URL yet. Add one in the "
            "Partner Hub → Settings → Redirect URLs."
        )
    redirect_url = args.get("redirect_url", registered[0])
    if not is_registered(redirect_url, registered):
        raise InvalidInput(
            f"The redirect_url is not one that {partner.brand_name} has registered. Register "
            "this URL in the Partner Hub → Settings → Redirect URLs, or link with one that is "
            "(they must match exactly)."
        )
    return PermissionRequest(
        partner_id=partner.public_id,
        redirect_url=redirect_url,
        state=state,
        channels=channels,
        number=_preselected_number(number),
        email=email,
        name=name,
        next=next_step,
        partner_payload=partner_payload,
        lang=args.get("lang") if args.get("lang") in LANGUAGES else "en",  # type: ignore[arg-type]
        signed=signed,
    )


def link_signature(signing_secret: str, params: Iterable[tuple[str, str]]) -> str:
    """SPEC §5.1 `sig`: lowercase hex HMAC-SHA256, keyed like the callback, over every other
    parameter of the link in the canonical form of §5.3."""
    message = canonical(params, leave_out=SIGNATURE)
    return hmac.new(signing_key(signing_secret), message, hashlib.sha256).hexdigest()


def is_signed(partner: Partner, args: MultiDict[str, str], now: datetime | None = None) -> bool:
    """False for a link without `sig`; True when its `sig` matches every other parameter as
    given; TamperedLink otherwise. During a rotation's overlap the previous key is good too,
    so that links made just before a rotation keep working."""
    given = args.getlist(SIGNATURE)
    if not given:
        return False
    if len(given) == 1 and _HEX_SHA256.match(given[0]):
        pairs = list(args.items(multi=True))
        # `lang` may stay outside the signature, so that a language can be added to a signed
        # link (or changed) without signing it again; a signature that covers it holds it.
        forms = [pairs, [(name, value) for name, value in pairs if name != "lang"]]
        for secret in signing_secrets(partner, now or utcnow()):
            for form in forms[: 2 if "lang" in args else 1]:
                if hmac.compare_digest(given[0], link_signature(secret, form)):
                    return True
    raise TamperedLink(
        f"This link was changed after {partner.brand_name} made it, so it can't be used. "
        f"Ask {partner.brand_name} for a new link."
    )


def signing_secrets(partner: Partner, now: datetime) -> list[str]:
    """The partner's current signing secret, and the previous one while its overlap lasts."""
    secrets = [partner.signing_secret]
    until = partner.previous_signing_secret_until
    if partner.previous_signing_secret and until is not None and now < until:
        secrets.append(partner.previous_signing_secret)
    return secrets


def _preselected_number(raw: str | None) -> str | None:
    """A number already in E.164 form is taken as it is: it only preselects a channel, so one
    that no numbering plan knows simply matches none. Others are normalised (`+49 151 …`)."""
    if not raw:
        return None
    return raw if E164.match(raw) else to_e164(raw)


def _channel_list(raw: str | None) -> list[str]:
    if not raw:
        return []
    match = _CHANNEL_LIST.match(raw)
    ids = [part for part in match.group(1).split(",") if part] if match else None
    if ids is None or not all(PUBLIC_ID.match(i) for i in ids):
        raise InvalidInput("The channels parameter is a list of channel ids: [id,id].")
    if len(ids) > MAX_CHANNELS:
        raise InvalidInput(f"The channels parameter lists more than {MAX_CHANNELS} channels.")
    return ids


def _limited(args: MultiDict[str, str], key: str) -> str | None:
    value, limit = args.get(key), MAX_LENGTHS[key]
    if value is not None and len(value) > limit:
        raise InvalidInput(f"The {key} parameter is longer than {limit} characters.")
    return value
