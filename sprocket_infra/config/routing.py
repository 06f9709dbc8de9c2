"""``routing``: the domain, the addresses the web app also answers on, and the ACME CA."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import (
    TAILSCALE_NET,
    Email,
    HostName,
    RoutableIp,
    Strict,
    TailscaleIp,
    public_dns_problem,
)


class AcmeConfig(Strict):
    ca: Literal["none", "staging", "production"] = Field(
        "none",
        description="Let's Encrypt CA. 'none' serves plain HTTP (local); 'staging' for tests; "
        "'production' for real certificates. Left out: 'none'.",
    )
    email: Email | None = Field(None, description="ACME account contact; required unless ca is 'none'.")

    @model_validator(mode="after")
    def _email_when_issuing(self) -> AcmeConfig:
        if self.ca != "none" and self.email is None:
            raise ValueError(f"acme.email is required when acme.ca is '{self.ca}'")
        return self

    @property
    def tls(self) -> bool:
        return self.ca != "none"


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

    @model_validator(mode="after")
    def _addresses_and_certificates(self) -> RoutingConfig:
        problems = []
        if self.acme.tls and (why := public_dns_problem(self.domain)):
            problems.append(
                f"acme.ca '{self.acme.ca}' needs a public DNS name, but domain {self.domain!r} is not one "
                f"({why}); use ca: none for private names"
            )
        if self.server_ip is not None and self.server_ip == self.tailscale_ip:
            problems.append(
                f"server_ip and tailscale_ip are both {self.server_ip}: give each its own address"
            )
        elif self.server_ip is not None and self.server_ip in TAILSCALE_NET:
            problems.append(f"server_ip {self.server_ip} is a Tailscale address; put it in tailscale_ip")
        if problems:
            raise ValueError("; ".join(problems))
        return self
