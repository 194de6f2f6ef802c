"""Talking to the hub: signed permission links (made here or by the API), the Partner API, the
messaging endpoint. Everything a partner's backend does with its credentials is in this file."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests

TIMEOUT = 10  # seconds; the hub answers in milliseconds, a hung call must not hold a worker


class HubError(RuntimeError):
    """The hub refused a call: `problem` is its application/problem+json answer."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


def permission_link(hub: str, partner_id: str, signing_secret: str, params: dict[str, str]) -> str:
    """A link to the permission screen that nobody who holds it can change (the integration
    guide's "Signing a link", as is)."""
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params.items())
    message = "&".join(f"{k}={v}" for k, v in pairs)
    key = base64.b64decode(signing_secret.removeprefix("whsec_"))
    sig = hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
    return f"{hub}/partners/{partner_id}/permission?{urlencode({**params, 'sig': sig})}"


@dataclass
class Hub:
    url: str  # e.g. https://hub.example, no trailing slash
    partner_id: str
    api_key: str
    signing_secret: str

    def signed_link(self, params: dict[str, str]) -> str:
        return permission_link(self.url, self.partner_id, self.signing_secret, params)

    def link_from_api(self, body: dict[str, Any]) -> str:
        """The same kind of link, made and signed by the hub (POST permission_links)."""
        answer = self._call("POST", "/permission_links", json=body)
        url: str = answer["url"]
        return url

    def consent(self, consent_id: str) -> dict[str, Any]:
        """One answer of the permission screen: its lists, when the callback omitted them."""
        return self._call("GET", f"/consents/{quote(consent_id, safe='')}")

    def new_key(self, channel_id: str) -> dict[str, Any]:
        """A new API key for a channel you hold permission for; the channel's older keys stop."""
        return self._call("POST", f"/channels/{quote(channel_id, safe='')}/api_keys")

    def messaging_channel(self, channel_key: str) -> dict[str, Any]:
        """What the messaging side says a channel key is for: the proof that the key works."""
        response = requests.get(
            f"{self.url}/messaging/v1/channel",
            headers={"Authorization": f"Bearer {channel_key}"},
            timeout=TIMEOUT,
        )
        return _answer(response)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = requests.request(
            method,
            f"{self.url}/api/v1/partners/{self.partner_id}{path}",
            headers={"X-API-Key": self.api_key},
            timeout=TIMEOUT,
            **kwargs,
        )
        return _answer(response)


def _answer(response: requests.Response) -> dict[str, Any]:
    if not response.ok:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:200]}
        raise HubError(response.status_code, problem)
    answer: dict[str, Any] = response.json()
    return answer
