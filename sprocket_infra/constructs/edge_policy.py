"""What Traefik applies to every TLS handshake and every routed response, as its dynamic file.

Traefik reads TLS options only from a dynamic provider that is not Docker/Swarm labels, so this policy is
a file (shipped as a Docker config and read by ``providers.file``), not labels on Traefik's own service.
The same file holds the response-header middleware the routed entrypoint runs for every router
(``entryPoints.<ep>.http.middlewares`` in the static config), so no router can forget it.

Pure functions of the environment: tests decode the shipped file and compare it with these.
"""

from __future__ import annotations

from typing import Any

from sprocket_infra import naming
from sprocket_infra.config import Environment

TLS12_CIPHERS = (
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
)
"""TLS 1.2 suites with forward secrecy and AEAD only (no CBC, no static RSA); TLS 1.3 suites are fixed
by Go and all fine."""
CURVES = ("X25519MLKEM768", "X25519", "CurveP256", "CurveP384")
"""Key exchanges offered, best first: the hybrid post-quantum one Go supports, then the classic ones."""
STRIPPED_RESPONSE_HEADERS = ("Server", "X-Powered-By")
"""Backend banners that name software and versions; an empty value makes Traefik remove the header."""


def tls_options(environment: Environment) -> dict[str, Any]:
    """Traefik's ``default`` TLS options: every router and TCP router without options of its own uses them.

    ``sniStrict`` only where certificates are issued: without ACME the only certificate is Traefik's
    self-signed default, which matches no name, so strict SNI would refuse every handshake."""
    edge = environment.routing.edge
    options: dict[str, Any] = {
        "minVersion": "VersionTLS12",
        "cipherSuites": list(TLS12_CIPHERS),
        "curvePreferences": list(CURVES),
    }
    if environment.routing.acme.tls and edge.sni_strict:
        options["sniStrict"] = True
    return {"default": options}


def security_headers(environment: Environment) -> dict[str, Any]:
    """The ``headers`` middleware every router of the routed entrypoint runs.

    HSTS only with TLS (a browser ignores it over plain HTTP, and local has no certificates). Framing is
    refused with ``X-Frame-Options: DENY`` rather than a ``Content-Security-Policy`` here: Traefik would
    replace a backend's own, stricter policy (Vault's UI, Grafana) with this one line."""
    edge = environment.routing.edge
    headers: dict[str, Any] = {
        "contentTypeNosniff": True,
        "frameDeny": True,
        "referrerPolicy": "strict-origin-when-cross-origin",
        "customResponseHeaders": dict.fromkeys(STRIPPED_RESPONSE_HEADERS, ""),
    }
    if environment.routing.acme.tls:
        headers["stsSeconds"] = edge.hsts_max_age_s
        headers["stsIncludeSubdomains"] = True
        if edge.hsts_preload:
            headers["stsPreload"] = True
    return {"headers": headers}


def dynamic_config(environment: Environment) -> dict[str, Any]:
    """The whole dynamic file: default TLS options and the shared response-header middleware."""
    return {
        "tls": {"options": tls_options(environment)},
        "http": {"middlewares": {naming.SECURITY_HEADERS_MIDDLEWARE: security_headers(environment)}},
    }
