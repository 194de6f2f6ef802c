"""Webhook SSRF (issue 7, hole 2): internal destinations are refused at registration and at every
delivery, the checked address is the one connected to, and what a partner sees of a failed attempt
is one of a few fixed texts.

Real sockets throughout. The resolver is patched only for answers this sandbox cannot give (it has
no DNS for public names): a public address, a metadata address, a rebinding name. The one name with
a real answer here is the machine's own, which /etc/hosts maps to 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onboarding.errors import InvalidInput
from onboarding.models import Partner, WebhookAttempt, WebhookOutbox
from onboarding.partners.redirects import check_webhook_url
from onboarding.partners.service import create_partner_user
from onboarding.webhooks import destination
from onboarding.webhooks.delivery import deliver_due
from onboarding.webhooks.destination import Target
from onboarding.webhooks.service import set_webhook_url
from onboarding.webhooks.transport import DeliveryFailed, Transport, connect_directly
from tests.api import api_headers, make_account, partner_settings
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, make_client, make_partner

PUBLIC = "93.184.215.14"  # a global unicast address; nothing here can reach it

# One URL per class of address a webhook must not reach, in the spellings that could slip past.
FORBIDDEN = {
    "loopback": "https://127.0.0.1/hook",
    "loopback-other": "https://127.9.8.7:8443/hook",
    "loopback-v6": "https://[::1]/hook",
    "localhost": "https://localhost/hook",
    "localhost-dot": "https://localhost./hook",
    "localhost-subdomain": "https://api.localhost/hook",
    "localhost-http": "http://localhost:8000/hook",
    "rfc1918-10": "https://10.0.0.5/hook",
    "rfc1918-172": "https://172.16.5.4/hook",
    "rfc1918-192": "https://192.168.1.1/hook",
    "ula": "https://[fd12:3456::1]/hook",
    "link-local": "https://169.254.10.1/hook",
    "link-local-v6": "https://[fe80::1]/hook",
    "link-local-v6-zone": "https://[fe80::1%25eth0]/hook",
    "metadata": "https://169.254.169.254/latest/meta-data/",
    "metadata-v6": "https://[fd00:ec2::254]/latest/meta-data/",
    "cgnat": "https://100.64.0.1/hook",
    "multicast": "https://224.0.0.1/hook",
    "multicast-v6": "https://[ff02::1]/hook",
    "unspecified": "https://0.0.0.0/hook",
    "unspecified-v6": "https://[::]/hook",
    "reserved": "https://240.0.0.1/hook",
    "broadcast": "https://255.255.255.255/hook",
    "benchmarking": "https://198.18.0.1/hook",
    "ietf-protocol": "https://192.0.0.8/hook",
    "ipv4-mapped-loopback": "https://[::ffff:127.0.0.1]/hook",
    "ipv4-mapped-metadata": "https://[::ffff:169.254.169.254]/hook",
    "6to4-loopback": "https://[2002:7f00:1::]/hook",
    "6to4-private": "https://[2002:a00:5::1]/hook",
    "nat64-metadata": "https://[64:ff9b::a9fe:a9fe]/hook",
    "nat64-private": "https://[64:ff9b::a00:5]/hook",
    "decimal": "https://2130706433/hook",
    "decimal-metadata": "https://2852039166/hook",
    "octal": "https://0177.0.0.1/hook",
    "hex-dotted": "https://0x7f.0.0.1/hook",
    "hex-whole": "https://0x7f000001/hook",
    "short": "https://127.1/hook",
    "short-private": "https://10.1/hook",
    "mixed-metadata": "https://0xa9.254.0251.254/hook",
    "trailing-dot": "https://127.0.0.1./hook",
    "not-an-address": "https://1.2.3.256/hook",
}
ALLOWED = [
    "https://hooks.partner.example/v1?tenant=7",  # no DNS answer here: checked again at delivery
    f"https://{PUBLIC}/hook",
    "https://[2606:4700::1111]/hook",
    "https://[64:ff9b::5db8:d70e]/hook",  # NAT64 of a public address (DNS64 networks)
]


# --- a resolver for answers this sandbox cannot give ---------------------------------------------


@dataclass
class Resolver:
    """Answers the names in `answers` (a list per name: one answer per lookup, the last one
    repeating) and counts lookups; anything else goes to the real resolver."""

    answers: dict[str, list[list[str]]]
    real: Callable[..., Any]
    lookups: list[str] = field(default_factory=list)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [_info(address, int(port)) for address in addresses]


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ip_address(address).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Resolver]:
    def install(**answers: list[list[str]]) -> Resolver:
        resolver = Resolver(
            {name.replace("_", "."): queue for name, queue in answers.items()},
            socket.getaddrinfo,
        )
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        return resolver

    return install


def own_name_on_loopback() -> str:
    """This machine's name, which the real resolver (/etc/hosts) maps to a loopback address."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, 443)}
    except socket.gaierror:
        pytest.skip(f"{name} does not resolve here")
    if not all(ip_address(str(a)).is_loopback for a in found):
        pytest.skip(f"{name} resolves to {found}, not to loopback only")
    return name


# --- local endpoints ------------------------------------------------------------------------------


@dataclass
class Endpoint:
    """A TCP listener on 127.0.0.1 that answers each connection with `answer` (bytes, or None to
    close at once) and records the request head it read."""

    answer: bytes | None = b"HTTP/1.1 204 No Content\r\n\r\n"
    tls: ssl.SSLContext | None = None
    read_first: bool = True
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    @property
    def connections(self) -> int:
        return len(self.requests)


@pytest.fixture
def endpoint() -> Iterator[Callable[..., Endpoint]]:
    sockets: list[socket.socket] = []

    def start(**options: Any) -> Endpoint:
        state = Endpoint(**options)
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.1)
        sockets.append(server)
        state.port = server.getsockname()[1]
        if state.tls is not None:
            state.tls.sni_callback = lambda _sock, name, _ctx: state.server_names.append(name)
        threading.Thread(target=_serve, args=(server, state), daemon=True).start()
        return state

    yield start
    for server in sockets:
        server.close()


def _serve(server: socket.socket, state: Endpoint) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        except OSError:
            return  # closed: the test is over
        conn.settimeout(5)
        try:
            if state.tls is not None:
                conn = state.tls.wrap_socket(conn, server_side=True)
            head = b""
            while state.read_first and b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            state.requests.append(head)
            if state.answer is not None:
                conn.sendall(state.answer)
        except OSError:
            state.requests.append(b"")  # the handshake failed: still a connection
        finally:
            conn.close()


def closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port: int = unused.getsockname()[1]
    return port


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener never accepts and whose queue is full: a connection attempt to it
    hangs until its timeout, as to a host behind a firewall that drops packets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))
    yield port
    queued.close()
    server.close()


def failure(transport: Transport, url: str, deadline: float = 2.0) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as raised:
        transport(url, b"{}", {"content-type": "application/json"}, deadline)
    return raised.value


# --- registration --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_registration_refuses_every_internal_address(url: str) -> None:
    with pytest.raises(InvalidInput, match="must point to a public internet host"):
        check_webhook_url(url, allow_private=False)


@pytest.mark.parametrize("url", ALLOWED)
def test_registration_accepts_public_and_unresolvable_hosts(url: str) -> None:
    assert check_webhook_url(url, allow_private=False) == url


def test_registration_refuses_a_name_that_resolves_to_loopback() -> None:
    name = own_name_on_loopback()  # a real answer, from /etc/hosts
    with pytest.raises(InvalidInput, match="public internet host"):
        check_webhook_url(f"https://{name}/hook", allow_private=False)


def test_registration_refuses_a_name_with_any_internal_address(
    dns: Callable[..., Resolver],
) -> None:
    dns(
        metadata_partner_example=[["169.254.169.254"]],
        mixed_partner_example=[[PUBLIC, "10.0.0.7"]],
        public_partner_example=[[PUBLIC, "2606:4700::1111"]],
    )
    for name in ("metadata.partner.example", "mixed.partner.example"):
        with pytest.raises(InvalidInput, match="public internet host") as refused:
            check_webhook_url(f"https://{name}/hook", allow_private=False)
        assert "169.254" not in str(refused.value) and "10.0" not in str(refused.value)
    assert check_webhook_url("https://public.partner.example/hook", allow_private=False)


def test_allow_private_lets_development_receivers_register() -> None:
    for url in ("http://127.0.0.1:8000/hook", "http://localhost:8000/hook", "https://10.0.0.5/h"):
        assert check_webhook_url(url, allow_private=True) == url
    with pytest.raises(InvalidInput, match="must use https"):  # the form rules still hold
        check_webhook_url("http://10.0.0.5/hook", allow_private=True)


def test_the_default_follows_the_app_and_is_off_outside_one(app: Flask, db: Session) -> None:
    assert not destination.private_allowed()
    with pytest.raises(InvalidInput):
        check_webhook_url("https://127.0.0.1/hook")
    partner = make_partner(db)
    with app.app_context():
        assert destination.private_allowed()  # the test app turns it on
        set_webhook_url(db, partner, check_webhook_url("https://127.0.0.1/hook"))
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        with pytest.raises(InvalidInput):
            set_webhook_url(db, partner, check_webhook_url("https://10.0.0.5/hook"))
    assert partner.webhook_url == "https://127.0.0.1/hook"


def test_the_api_refuses_an_internal_webhook_url_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    account = make_account(db, webhook_url="https://hooks.partner.example/v1")
    db.commit()
    before = partner_settings(db, account.partner)

    response = client.patch(
        account.path(),
        json={"webhook_url": "https://169.254.169.254/latest/meta-data/"},
        headers=api_headers(account),
    )

    assert response.status_code == 409  # a URL the hub will not register
    assert response.content_type == "application/problem+json"
    assert "public internet host" in response.get_json()["detail"]
    assert partner_settings(db, account.partner) == before


def test_the_partner_hub_refuses_an_internal_webhook_url(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    partner = make_partner(db)
    owner = create_partner_user(
        db, partner, email="owner@ssrf.example", password=PASSWORD, role="owner"
    )
    db.commit()
    log_in(client, owner.email)

    response = client.post(
        "/hub/settings/webhook",
        data={"csrf_token": hub_token(client), "webhook_url": "https://0x7f.0.0.1/hook"},
    )

    assert response.status_code == 400
    assert "must point to a public internet host" in response.text
    db.expire_all()
    assert db.get_one(Partner, partner.id).webhook_url is None


# --- at every delivery ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_delivery_refuses_every_internal_address_without_connecting(url: str) -> None:
    began = time.monotonic()
    refused = failure(Transport(), url)
    assert refused.shown == "destination not allowed"
    assert time.monotonic() - began < 0.5


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "own"],
)
def test_delivery_to_a_listening_loopback_port_never_connects(
    endpoint: Callable[..., Endpoint], host: str
) -> None:
    listening = endpoint()
    host = own_name_on_loopback() if host == "own" else host

    refused = failure(Transport(), f"http://{host}:{listening.port}/hook")

    assert refused.shown == "destination not allowed"
    assert "127.0.0.1" in refused.detail or "::ffff:7f00:1" in refused.detail
    assert listening.connections == 0
    # With development's switch on, the same URL is delivered: the check is what stopped it.
    if host not in ("[::ffff:127.0.0.1]",):  # IPv4-mapped needs a dual-stack listener
        assert Transport(allow_private=True)(f"http://{host}:{listening.port}/h", b"", {}, 2) == 204
        assert listening.connections == 1


def test_delivery_refuses_a_name_that_resolves_inside_now(dns: Callable[..., Resolver]) -> None:
    """Registered while it did not resolve (or resolved outside); it is checked again."""
    resolver = dns(later_partner_example=[["10.0.0.7"]], both_partner_example=[[PUBLIC, "::1"]])
    for name in ("later.partner.example", "both.partner.example"):
        refused = failure(Transport(), f"https://{name}/hook")
        assert refused.shown == "destination not allowed"
    assert resolver.lookups == ["later.partner.example", "both.partner.example"]


def test_the_checked_address_is_the_one_connected_to(
    dns: Callable[..., Resolver], endpoint: Callable[..., Endpoint]
) -> None:
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 right after.
    The transport looks it up once and connects to the public address it checked."""
    internet = endpoint()  # stands in for the public host: the sandbox has no route out
    inside = endpoint()  # what a second lookup would lead to
    assert internet.port != inside.port
    resolver = dns(rebind_partner_example=[[PUBLIC], ["127.0.0.1"]])
    dialled: list[tuple[Any, ...]] = []

    def route(target: Target, timeout: float) -> socket.socket:
        dialled.append(target.sockaddr)
        assert str(target.address) == PUBLIC, "connected to an address that was not checked"
        local = Target(socket.AF_INET, ("127.0.0.1", internet.port), ip_address("127.0.0.1"))
        return connect_directly(local, timeout)

    url = f"http://rebind.partner.example:{inside.port}/hook?x=1"
    status = Transport(connect=route)(url, b"{}", {"webhook-id": "ev_1"}, 2)

    assert status == 204
    assert resolver.lookups == ["rebind.partner.example"]  # one lookup, no second one
    assert dialled == [(PUBLIC, inside.port)]
    assert inside.connections == 0
    (head,) = internet.requests
    assert head.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert f"\r\nHost: rebind.partner.example:{inside.port}\r\n".encode() in head
    assert b"\r\nwebhook-id: ev_1\r\n" in head

    # The next attempt looks the name up afresh, and now refuses it.
    refused = failure(Transport(connect=route), url)
    assert refused.shown == "destination not allowed"
    assert resolver.lookups == ["rebind.partner.example"] * 2
    assert inside.connections == 0


# --- TLS to the checked address: SNI and the certificate for the name ----------------------------


@dataclass
class Certificates:
    client: ssl.SSLContext  # trusts only the test CA
    server: Callable[[str], ssl.SSLContext]  # a server context with a certificate for a name


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    workdir = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test webhook CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())

    def server(name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = workdir / f"{name}.pem", workdir / f"{name}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(Path(cert_file), Path(key_file))
        return context

    return Certificates(client, server)


def test_https_goes_to_the_checked_address_with_sni_and_the_name_verified(
    dns: Callable[..., Resolver], endpoint: Callable[..., Endpoint], certificates: Certificates
) -> None:
    right = endpoint(tls=certificates.server("hooks.partner.example"))
    wrong = endpoint(tls=certificates.server("other.partner.example"))
    dns(hooks_partner_example=[["127.0.0.1"]])
    transport = Transport(allow_private=True, tls=certificates.client)

    assert transport(f"https://hooks.partner.example:{right.port}/h", b"{}", {}, 2) == 204
    assert right.server_names == ["hooks.partner.example"]
    assert b"\r\nHost: hooks.partner.example:" in right.requests[0]

    refused = failure(transport, f"https://hooks.partner.example:{wrong.port}/h")
    assert refused.shown == "TLS error"
    assert "certificate" in refused.detail.lower()
    assert wrong.server_names == ["hooks.partner.example"]
    # The default context trusts the system's CAs only, not this test CA.
    assert failure(Transport(allow_private=True), f"https://hooks.partner.example:{right.port}/h")


# --- what a partner sees: a few fixed texts ------------------------------------------------------


def test_refused_and_dropped_connections_read_alike(full_backlog: int) -> None:
    """To the same host, a closed port and a port that swallows the connection attempt (as a
    firewall does) both read "could not connect"; only the server log says which."""
    transport = Transport(allow_private=True)

    refused = failure(transport, f"http://127.0.0.1:{closed_port()}/hook", deadline=0.5)
    dropped = failure(transport, f"http://127.0.0.1:{full_backlog}/hook", deadline=0.5)

    assert refused.shown == dropped.shown == "could not connect"
    assert "ConnectionRefused" in refused.detail and "TimeoutError" in dropped.detail


def test_without_the_switch_nothing_inside_can_be_told_apart(
    endpoint: Callable[..., Endpoint], full_backlog: int
) -> None:
    """The port-scan oracle: closed, dropped, non-HTTP and HTTP ports on 127.0.0.1 all read the
    same, and as fast, because none of them is connected to."""
    ssh = endpoint(answer=b"SSH-2.0-OpenSSH_9.6\r\n")
    web = endpoint()
    ports = [closed_port(), full_backlog, ssh.port, web.port]
    seen = set()
    for port in ports:
        began = time.monotonic()
        seen.add(failure(Transport(), f"http://127.0.0.1:{port}/hook").shown)
        assert time.monotonic() - began < 0.5
    assert seen == {"destination not allowed"}
    assert ssh.connections == web.connections == 0


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (None, "could not connect"),  # closed without a word
        (b"SSH-2.0-OpenSSH_9.6\r\n", "could not connect"),  # not HTTP
        (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", None),
    ],
)
def test_answers_that_are_not_a_status_read_could_not_connect(
    endpoint: Callable[..., Endpoint], answer: bytes | None, shown: str | None
) -> None:
    listening = endpoint(answer=answer)
    url = f"http://127.0.0.1:{listening.port}/hook"
    if shown is None:
        assert Transport(allow_private=True)(url, b"", {}, 2) == 502
    else:
        assert failure(Transport(allow_private=True), url).shown == shown


def test_https_to_a_plain_http_port_is_a_tls_error(endpoint: Callable[..., Endpoint]) -> None:
    listening = endpoint(answer=b"HTTP/1.1 400 Bad Request\r\n\r\n", read_first=False)
    refused = failure(Transport(allow_private=True), f"https://127.0.0.1:{listening.port}/hook")
    assert refused.shown == "TLS error"


def test_interim_answers_are_skipped_and_only_the_status_line_is_read(
    endpoint: Callable[..., Endpoint],
) -> None:
    listening = endpoint(
        answer=b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 100000000\r\n\r\n" + b"x" * 65536
    )
    url = f"http://127.0.0.1:{listening.port}/hook"
    assert Transport(allow_private=True)(url, b"{}", {}, 2) == 202


def test_the_partner_hub_log_shows_the_fixed_texts_and_no_detail(
    app: Flask, client: FlaskClient, db: Session, endpoint: Callable[..., Endpoint]
) -> None:
    redirecting = endpoint(answer=b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\n\r\n")
    partner = make_partner(db, webhook_url="https://hooks.partner.example/v1")
    owner = create_partner_user(db, partner, email="owner@log.example", password=PASSWORD)
    make_client(db, partner)
    db.commit()
    urls = [  # as if registered before they pointed inside
        f"http://127.0.0.1:{redirecting.port}/hook",  # 1: refused without the switch
        f"http://127.0.0.1:{closed_port()}/hook",  # 2: with the switch: could not connect
        f"http://127.0.0.1:{redirecting.port}/hook",  # 3: with the switch: a redirect
    ]
    transports = [Transport(), Transport(allow_private=True), Transport(allow_private=True)]
    for url, transport in zip(urls, transports, strict=True):
        db.get_one(Partner, partner.id).webhook_url = url
        db.execute(
            update(WebhookOutbox)
            .where(WebhookOutbox.partner_id == partner.id)
            .values(next_attempt_at=dt.datetime.now(dt.UTC))
        )
        db.commit()
        assert deliver_due(db, post=transport) == 1

    shown = list(db.scalars(select(WebhookAttempt.error).order_by(WebhookAttempt.id)))
    assert shown == [
        "destination not allowed",
        "could not connect",
        "redirect not followed (HTTP 307)",
    ]
    log_in(client, owner.email)
    html = client.get("/hub/webhooks").text
    for text in shown:
        assert text in html
    assert not re.search(r"Errno|Refused|TimeoutError|resolves to", html)


def test_the_server_log_keeps_the_detail(
    db: Session, caplog: pytest.LogCaptureFixture, dns: Callable[..., Resolver]
) -> None:
    partner = make_partner(db, webhook_url="https://inside.partner.example/hook")  # no answer
    make_client(db, partner)
    db.commit()
    dns(inside_partner_example=[["10.0.0.7"]])  # and now one pointing inside

    with caplog.at_level(logging.WARNING, logger="onboarding.webhooks"):
        assert deliver_due(db, post=Transport()) == 1

    (attempt,) = db.scalars(
        select(WebhookAttempt).join(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id)
    )
    assert (attempt.error, attempt.status_code) == ("destination not allowed", None)
    assert "inside.partner.example is or resolves to 10.0.0.7" in caplog.text


# --- helpers for the hub -------------------------------------------------------------------------


def hub_token(client: FlaskClient) -> str:
    return csrf_token(client.get("/hub/settings").text)


def log_in(client: FlaskClient, email: str) -> None:
    response = submit_login(client, "/hub/login", email)
    assert response.status_code == 303, response.text
