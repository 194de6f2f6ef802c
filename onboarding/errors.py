"""Exceptions the domain raises; the web layers turn them into pages or problem+json."""


class DomainError(Exception):
    """A request the rules refuse. The message is safe to show to the person who made it."""


class InvalidInput(DomainError):
    pass


class RefusedUrl(InvalidInput):
    """A redirect or webhook URL the hub will not register. The API answers it 409, since what
    decides it (https, no fragment, a public host, …) is more than its schema can say."""


class NotFound(DomainError):
    pass


class ForeignChannel(DomainError):
    """A channel id that is not one of the client's own."""


class Conflict(DomainError):
    pass


class PermissionMissing(DomainError):
    """R1/R6: this side may not generate keys for the channel right now."""


class ChannelNotRunning(Conflict):
    """R8: keys only for running channels."""


class NotAllowed(DomainError):
    """The signed-in user's role does not allow this (a partner member doing an owner's task)."""
