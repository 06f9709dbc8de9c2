"""``routing``: the domain, the addresses the web app also answers on, the ACME CA and the edge policy."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, model_validator

from sprocket_infra.config.edge import EdgeConfig
from sprocket_infra.config.fields import (
    TAILSCALE_NET,
    Email,
    HostName,
    RoutableIp,
    Strict,
    TailscaleIp,
    public_dns_problem,
)

LETS_ENCRYPT = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}


class AcmeConfig(Strict):
    ca: Literal["none", "staging", "production", "internal"] = Field(
        "none",
        description="Who issues certificates. 'none' serves plain HTTP (local); 'staging' / 'production' "
        "are Let's Encrypt (public DNS names only); 'internal' is an ACME CA of your own at 'server' "
        "(e.g. step-ca on the LAN). Left out: 'none'.",
    )
    email: Email | None = Field(None, description="ACME account contact; required unless ca is 'none'.")
    server: AnyHttpUrl | None = Field(
        None, description="ACME directory URL of the internal CA; required with ca 'internal', else unused."
    )
    ca_bundle: str | None = Field(
        None,
        description="PEM certificate(s) Traefik trusts for the internal CA's HTTPS directory (public data, "
        "shipped as a Docker config). Left out: the system roots of Traefik's image.",
    )

    @model_validator(mode="after")
    def _issuer_settings(self) -> AcmeConfig:
        problems = []
        if self.ca != "none" and self.email is None:
            problems.append(f"acme.email is required when acme.ca is '{self.ca}'")
        if self.ca == "internal" and self.server is None:
            problems.append("acme.server (the CA's ACME directory URL) is required when acme.ca is internal")
        if self.ca != "internal" and (self.server is not None or self.ca_bundle is not None):
            problems.append(f"acme.server and acme.ca_bundle apply only to ca internal (ca is '{self.ca}')")
        if self.ca_bundle is not None and "-----BEGIN CERTIFICATE-----" not in self.ca_bundle:
            problems.append("acme.ca_bundle: expected PEM text with a '-----BEGIN CERTIFICATE-----' block")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def tls(self) -> bool:
        return self.ca != "none"

    @property
    def directory(self) -> str:
        """The ACME directory URL Traefik asks (only meaningful when :attr:`tls`)."""
        if self.ca == "internal":
            return str(self.server)
        return LETS_ENCRYPT[self.ca]


class RoutingConfig(Strict):
    domain: HostName = Field(
        description="Base domain; services answer on '<sub>.<domain>', the web app on it."
    )
    server_ip: RoutableIp | None = Field(
        None, description="LAN address the web app also answers on. Left out: no IP routing."
    )
    tailscale_ip: TailscaleIp | None = Field(
        None, description="Tailscale address the web app also answers on. Left out: none."
    )
    acme: AcmeConfig = Field(default_factory=AcmeConfig)
    edge: EdgeConfig = Field(default_factory=EdgeConfig)

    @model_validator(mode="after")
    def _addresses_and_certificates(self) -> RoutingConfig:
        problems = []
        if self.acme.ca in LETS_ENCRYPT and (why := public_dns_problem(self.domain)):
            problems.append(
                f"acme.ca '{self.acme.ca}' needs a public DNS name, but domain {self.domain!r} is not one "
                f"({why}); use ca: internal or none for private names"
            )
        if self.server_ip is not None and self.server_ip == self.tailscale_ip:
            problems.append(
                f"server_ip and tailscale_ip are both {self.server_ip}: give each its own address"
            )
        elif self.server_ip is not None and self.server_ip in TAILSCALE_NET:
            problems.append(f"server_ip {self.server_ip} is a Tailscale address; put it in tailscale_ip")
        addresses = [str(ip) for ip in (self.server_ip, self.tailscale_ip) if ip is not None]
        if self.acme.tls and self.edge.sni_strict and addresses:
            problems.append(
                f"edge.sni_strict would refuse every HTTPS client of {', '.join(addresses)} (browsers send "
                "no SNI for an IP address): set edge.sni_strict: false or drop server_ip/tailscale_ip"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
