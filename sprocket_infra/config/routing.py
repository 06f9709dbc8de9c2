"""``routing``: the domain, the addresses the web app also answers on, and the ACME CA."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import DomainName, Email, Strict, TailscaleIp


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
    domain: DomainName = Field(
        description="Base domain; services answer on '<sub>.<domain>', the web app on it."
    )
    server_ip: ipaddress.IPv4Address | None = Field(
        None, description="LAN address the web app also answers on. Left out: no IP routing."
    )
    tailscale_ip: TailscaleIp | None = Field(
        None, description="Tailscale address the web app also answers on. Left out: none."
    )
    acme: AcmeConfig = Field(default_factory=AcmeConfig)
