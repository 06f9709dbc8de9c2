"""``layer2.forward_auth``: Discord OAuth in front of admin UIs. The guild and role ids are shared data in
``config/defaults.yaml``; the OAuth application (its client id here, its secret in the environment's own
Vault) belongs to one environment only, so a local or LAN Vault never holds production's client secret."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sprocket_infra.config.fields import DigitString, DomainName, Strict


class ForwardAuthRule(Strict):
    """A Discord forward-auth rule: members holding any of ``role_ids`` in the guild pass."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$", description="Rule key, e.g. 'SprocketAdmin'.")
    role_ids: tuple[DigitString, ...] = Field(min_length=1, description="Discord role ids (snowflakes).")

    @model_validator(mode="after")
    def _snowflakes(self) -> ForwardAuthRule:
        bad = [role for role in self.role_ids if not role.isdigit()]
        if bad:
            raise ValueError(f"role ids must be Discord snowflakes (digits only), got {bad}")
        return self


class ForwardAuthConfig(Strict):
    """Discord OAuth forward-auth in front of admin UIs (inventory 3.5); its client secret is in Vault."""

    client_id: DigitString | Literal["unregistered"] = Field(
        "unregistered",
        description="Client id of this environment's own Discord OAuth application (redirect "
        "'<scheme>://<subdomain>.<domain>/login'); never another environment's. Left out: 'unregistered': "
        "logins fail at Discord, so admin UIs stay closed until the environment has its own application.",
    )
    guild_id: DigitString = Field(description="Guild whose roles count.")
    subdomain: DomainName = Field("fa", description="The login callback answers on '<subdomain>.<domain>'.")
    rules: tuple[ForwardAuthRule, ...] = Field(min_length=1, description="Rules routes may name.")
    command: tuple[str, ...] = Field(
        ("node", "dist/main.js"),
        min_length=1,
        description="The image's own start command, run after the client secret is read from its file "
        "(the image only reads CLIENT_SECRET from the environment).",
    )
