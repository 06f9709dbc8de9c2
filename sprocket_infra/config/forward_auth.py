"""``layer2.forward_auth``: Discord OAuth in front of admin UIs. The production guild, client and role ids
are data, kept in ``config/defaults.yaml``."""

from __future__ import annotations

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

    client_id: DigitString = Field(description="Discord OAuth client id.")
    guild_id: DigitString = Field(description="Guild whose roles count.")
    subdomain: DomainName = Field("fa", description="The login callback answers on '<subdomain>.<domain>'.")
    rules: tuple[ForwardAuthRule, ...] = Field(min_length=1, description="Rules routes may name.")
    command: tuple[str, ...] = Field(
        ("node", "dist/main.js"),
        min_length=1,
        description="The image's own start command, run after the client secret is read from its file "
        "(the image only reads CLIENT_SECRET from the environment).",
    )
