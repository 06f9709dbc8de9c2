"""One HTTP request or TLS handshake addressed to a host name, sent to wherever Traefik listens.

Routed hosts often have no DNS where ``verify`` runs (``*.localhost`` inside a LAN, a LAN domain, a test
Traefik on a loopback port), so the caller says where to connect and the probe carries the host in the
``Host`` header and as TLS SNI, exactly as a browser that resolved the name would. Every socket operation
has a timeout; nothing here retries. Proxies in the environment are not used: the probe must reach the
Traefik it was pointed at.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from sprocket_infra.routing import is_ip


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where to open the connection: ``host:port`` (a name resolved by the system, or an address)."""

    host: str
    port: int

    @classmethod
    def parse(cls, value: str, *, default_port: int) -> Target:
        """``host``, ``host:port`` or ``[v6]:port``; a bad port is a ``ValueError`` naming the value."""
        if value.startswith("["):
            host, _, rest = value[1:].partition("]")
            port = rest.removeprefix(":")
        elif value.count(":") == 1:
            host, _, port = value.partition(":")
        else:
            host, port = value, ""
        if not port:
            return cls(host=host, port=default_port)
        if not port.isdigit() or not 1 <= int(port) <= 65535 or not host:
            raise ValueError(f"connect address {value!r}: expected host or host:port with a port 1..65535")
        return cls(host=host, port=int(port))


@dataclass(frozen=True, kw_only=True)
class HttpAnswer:
    status: int
    location: str | None
    body: bytes


@dataclass(frozen=True, kw_only=True)
class Certificate:
    """The peer's certificate as the verifying handshake saw it (None fields: verification failed)."""

    trusted: bool
    error: str | None
    not_after: datetime | None

    def days_left(self, now: datetime) -> float | None:
        return None if self.not_after is None else (self.not_after - now).total_seconds() / 86400


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect(target: Target, server_name: str | None, *, tls: bool, timeout_s: float) -> socket.socket:
    raw = socket.create_connection((target.host, target.port), timeout=timeout_s)
    if not tls:
        return raw
    try:
        return _unverified().wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def http_get(
    target: Target,
    host: str,
    path: str,
    *,
    tls: bool,
    timeout_s: float,
    max_body_bytes: int = 1 << 20,
) -> HttpAnswer:
    """``GET path`` with ``Host: host`` (SNI ``host`` unless it is an IP); redirects are not followed,
    because a redirect to a login page is exactly the answer an auth-protected route must give."""
    conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
    try:
        conn.sock = _connect(target, None if is_ip(host) else host, tls=tls, timeout_s=timeout_s)
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("User-Agent", "sprocket-infra-verify")
        conn.endheaders()
        reply = conn.getresponse()
        return HttpAnswer(
            status=reply.status, location=reply.getheader("Location"), body=reply.read(max_body_bytes)
        )
    finally:
        conn.close()


def tls_handshake(target: Target, host: str, *, timeout_s: float) -> None:
    """A TLS handshake with SNI ``host`` (what a TCP router matches on); raises ``OSError`` on failure."""
    _connect(target, host, tls=True, timeout_s=timeout_s).close()


def certificate(target: Target, host: str, *, timeout_s: float, ca_file: str | None = None) -> Certificate:
    """Verify the certificate served for ``host`` against the system CAs (or ``ca_file``) and the name.

    A failed verification is a result, not an exception: its reason is what the operator needs.
    """
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with (
            socket.create_connection((target.host, target.port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as conn,
        ):
            peer = conn.getpeercert()
    except ssl.SSLCertVerificationError as error:
        return Certificate(trusted=False, error=error.verify_message or str(error), not_after=None)
    not_after = peer.get("notAfter") if peer else None
    if not isinstance(not_after, str):
        return Certificate(
            trusted=False, error="no certificate expiry in the peer certificate", not_after=None
        )
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), tz=UTC)
    return Certificate(trusted=True, error=None, not_after=expires)
