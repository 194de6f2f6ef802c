"""One webhook POST: resolve once, check, connect to exactly that address, give up at a deadline.

Why not `requests`: its timeout bounds each read, not the call, so a receiver sending one byte
every few seconds held a delivery for 111 s (issue 7, hole 1); and it resolves the name itself,
after any check of ours, so a DNS answer could change between the check and the connection (hole
2). Here every step (name lookup, connect, TLS handshake, each send, each read of the status line)
gets only the time left until one deadline, and the connection goes to the address that was
checked, with the URL's host in the `Host` header and, for https, as SNI and the name the
certificate must match. Only the status line is read; the body never is.

A failure is a `DeliveryFailed` whose `shown` is one of a few fixed texts, the only thing a
partner sees of it: what exactly went wrong at which address goes to the server log (`detail`),
so the delivery log cannot be used to map the network behind the hub.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from onboarding.webhooks import destination
from onboarding.webhooks.destination import DestinationRefused, Target, Unresolvable

# The texts a partner may see of an attempt that got no (final) HTTP status.
NOT_ALLOWED = "destination not allowed"
COULD_NOT_CONNECT = "could not connect"
TIMED_OUT = "timed out"
TLS_ERROR = "TLS error"

USER_AGENT = "onboarding-hub-webhooks/1"
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ANSWER = 16 * 1024  # bytes read while looking for the final status line
CHUNK = 64 * 1024
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")

Connect = Callable[[Target, float], socket.socket]
"""`(target, timeout) -> connected socket`; raises OSError."""


class DeliveryFailed(OSError):
    """No HTTP status came back. `shown` is for the partner, `detail` for the server log."""

    def __init__(self, shown: str, detail: str) -> None:
        super().__init__(f"{shown}: {detail}")
        self.shown = shown
        self.detail = detail


class Deadline:
    """The time left of one delivery; every blocking step asks it for its timeout."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises TimeoutError once none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the delivery deadline passed")
        return left


def connect_directly(target: Target, timeout: float) -> socket.socket:
    # Not socket.create_connection: it would look the (already resolved) address up again.
    sock = socket.socket(target.family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(target.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class Transport:
    """`Post` for `delivery.deliver_due`: `transport(url, body, headers, deadline) -> status`.

    `allow_private` lets webhooks reach loopback and private addresses (development only);
    `tls` replaces the default context (system CAs, hostname checked); `connect` replaces the
    TCP connect, for tests that stand in for the internet.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        tls: ssl.SSLContext | None = None,
        connect: Connect = connect_directly,
    ) -> None:
        self.allow_private = allow_private
        self.tls = tls
        self.connect = connect

    def __call__(self, url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        clock = Deadline(deadline)
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
        except ValueError:
            port = 0
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if (
            parts.scheme not in DEFAULT_PORTS
            or not host
            or not port
            or "@" in parts.netloc
            or _UNSAFE.search(parts.netloc + target)
        ):
            raise DeliveryFailed(NOT_ALLOWED, f"not a webhook URL: {url!r}")
        addresses = self._resolve(host, port, clock)
        sock, peer = self._connect(addresses, clock)
        try:
            if parts.scheme == "https":
                sock = self._handshake(sock, host, peer, clock)
            request = _request(target, parts.netloc, body, headers)
            return _exchange(sock, request, peer, clock)
        finally:
            sock.close()

    def _resolve(self, host: str, port: int, clock: Deadline) -> list[Target]:
        # getaddrinfo cannot be interrupted, so it runs in a thread that is left behind (to
        # finish on the resolver's own timeouts) once the deadline passes.
        outcome: list[list[Target] | Exception] = []

        def lookup() -> None:
            try:
                outcome.append(destination.resolve(host, port, allow_private=self.allow_private))
            except Exception as error:
                outcome.append(error)

        thread = threading.Thread(target=lookup, name="webhook-resolve", daemon=True)
        thread.start()
        thread.join(_left(clock))
        if not outcome:
            raise DeliveryFailed(COULD_NOT_CONNECT, f"looking up {host} took too long")
        result = outcome[0]
        if isinstance(result, DestinationRefused):
            raise DeliveryFailed(NOT_ALLOWED, str(result))
        if isinstance(result, Unresolvable):
            raise DeliveryFailed(COULD_NOT_CONNECT, str(result))
        if isinstance(result, Exception):
            raise result
        return result

    def _connect(self, targets: list[Target], clock: Deadline) -> tuple[socket.socket, str]:
        """Connect to the first address that answers. Refused, unreachable and timed out read
        alike: that nothing took the connection is all a partner learns."""
        failures = []
        for target in targets:
            try:
                return self.connect(target, clock.remaining()), str(target.address)
            except OSError as error:
                failures.append(f"{target.address}: {_describe(error)}")
        raise DeliveryFailed(COULD_NOT_CONNECT, "; ".join(failures))

    def _handshake(
        self, sock: socket.socket, host: str, peer: str, clock: Deadline
    ) -> socket.socket:
        context = self.tls or _default_tls()
        try:
            sock.settimeout(clock.remaining())
            # The checked address is connected already; the name goes into SNI and is what the
            # certificate has to match.
            return context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as error:
            raise DeliveryFailed(TIMED_OUT, f"TLS handshake with {peer}: {error}") from None
        except (ssl.SSLError, ssl.CertificateError) as error:
            raise DeliveryFailed(TLS_ERROR, f"{peer}: {_describe(error)}") from None
        except OSError as error:
            raise DeliveryFailed(COULD_NOT_CONNECT, f"{peer}: {_describe(error)}") from None


def _left(clock: Deadline) -> float:
    try:
        return clock.remaining()
    except TimeoutError:
        return 0.0


def _request(target: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    fields = {
        "Host": host,
        "User-Agent": USER_AGENT,
        "Content-Length": str(len(body)),
        "Connection": "close",
        **headers,
    }
    lines = [f"POST {target} HTTP/1.1"]
    for name, value in fields.items():
        if "\r" in value or "\n" in value or _UNSAFE.search(name):
            raise ValueError(f"header {name!r} is not sendable")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _exchange(sock: socket.socket, request: bytes, peer: str, clock: Deadline) -> int:
    try:
        view = memoryview(request)
        while view:
            sock.settimeout(clock.remaining())
            view = view[sock.send(view[:CHUNK]) :]
        return _status(sock, peer, clock)
    except DeliveryFailed:
        raise
    except TimeoutError as error:
        raise DeliveryFailed(TIMED_OUT, f"{peer}: {error}") from None
    except ssl.SSLError as error:
        raise DeliveryFailed(TLS_ERROR, f"{peer}: {_describe(error)}") from None
    except OSError as error:
        raise DeliveryFailed(COULD_NOT_CONNECT, f"{peer}: {_describe(error)}") from None


def _status(sock: socket.socket, peer: str, clock: Deadline) -> int:
    """The final status code: interim (1xx) answers and their header blocks are skipped."""
    answer = b""
    while True:
        line_end = answer.find(b"\r\n")
        if line_end >= 0:
            match = _STATUS_LINE.fullmatch(answer[:line_end])
            if match is None:
                raise DeliveryFailed(COULD_NOT_CONNECT, f"{peer}: not an HTTP answer")
            status = int(match.group(1))
            if status >= 200:
                return status
            block_end = answer.find(b"\r\n\r\n")
            if block_end >= 0:
                answer = answer[block_end + 4 :]
                continue
        if len(answer) > MAX_ANSWER:
            raise DeliveryFailed(COULD_NOT_CONNECT, f"{peer}: no status line in {MAX_ANSWER} B")
        sock.settimeout(clock.remaining())
        chunk = sock.recv(4096)
        if not chunk:
            raise DeliveryFailed(COULD_NOT_CONNECT, f"{peer}: closed without an answer")
        answer += chunk


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


_tls_context: ssl.SSLContext | None = None


def _default_tls() -> ssl.SSLContext:
    global _tls_context  # one context per process: loading the CA store costs milliseconds
    if _tls_context is None:
        _tls_context = ssl.create_default_context()
    return _tls_context


def describe_failure(error: OSError) -> tuple[str, str]:
    """`(shown, detail)` for any failure a `Post` raises; a test double's plain OSError reads
    like the transport's own."""
    if isinstance(error, DeliveryFailed):
        return error.shown, error.detail
    if isinstance(error, TimeoutError):
        return TIMED_OUT, _describe(error)
    if isinstance(error, ssl.SSLError):
        return TLS_ERROR, _describe(error)
    return COULD_NOT_CONNECT, _describe(error)
