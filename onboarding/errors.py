"""Exceptions the domain raises; the web layers turn them into pages or problem+json.

Each refusal carries a stable `code`, the values its text names (`params`) and its HTTP
`status` and `problem` (the API's code), so that no layer keeps a table of its own. The words
are not the domain's: `str(error)` is the English text of its code (onboarding/refusals.py:
the API, the CLI and the logs speak English), and a screen words the same code in the reader's
language (`pages.worded`). A text given instead of a known code is kept as it is (texts only
operators and API callers read).
"""

from __future__ import annotations

from onboarding.refusals import TEXTS


class DomainError(Exception):
    """A request the rules refuse. The message is safe to show to the person who made it."""

    status = 400
    problem = "invalid_request"
    code = "invalid"

    def __init__(self, code_or_text: str = "", /, **params: object) -> None:
        self.params = params
        self.worded = code_or_text in TEXTS  # a code the catalogs word
        if self.worded:
            self.code = code_or_text
            text = TEXTS[code_or_text] % params if params else TEXTS[code_or_text]
        else:
            text = code_or_text
        super().__init__(text)


class InvalidInput(DomainError):
    pass


class RefusedUrl(InvalidInput):
    """A redirect or webhook URL the hub will not register. The API answers it 409, since what
    decides it (https, no fragment, a public host, …) is more than its schema can say."""

    status = 409
    problem = "conflict"


class NotFound(DomainError):
    status = 404
    problem = "not_found"


class ForeignChannel(DomainError):
    """A channel id that is not one of the client's own."""


class Conflict(DomainError):
    status = 409
    problem = "conflict"


class PermissionMissing(DomainError):
    """R1/R6: this side may not generate keys for the channel right now."""

    status = 403
    problem = "permission_missing"


class ChannelNotRunning(Conflict):
    """R8: keys only for running channels."""

    problem = "channel_not_running"


class NotAllowed(DomainError):
    """The signed-in user's role does not allow this (a partner member doing an owner's task)."""

    status = 403
    problem = "forbidden"
