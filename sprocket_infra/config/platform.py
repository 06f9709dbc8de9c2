"""``platform``: how this environment runs the catalog's applications."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sprocket_infra.config.fields import Count, Flag, ImageRegistry, ImageTag, ServiceKey, Strict

LogLevel = Literal["error", "warn", "log", "debug", "verbose"]


class ChatwootConfig(Strict):
    """The support chat widget the web app embeds; both values are public (they ship to browsers)."""

    url: str = Field(pattern=r"^https?://[^/\s]+$", description="Chatwoot base URL, no trailing '/'.")
    website_token: str = Field(
        pattern=r"^[A-Za-z0-9]+$", description="The inbox's public website token shown in Chatwoot."
    )


class PlatformConfig(Strict):
    """How this environment runs the catalog's applications (``sprocket_infra/catalog/services.yaml``).

    Service keys in ``image_tags`` and ``replicas`` are checked against the catalog when inputs are
    loaded, so a typo fails there with this file's name and the key path.
    """

    registry: ImageRegistry = Field(
        description="Registry and namespace of the app images, e.g. 'ghcr.io/sprocketbot'. "
        "Left out: config/defaults.yaml's (Docker Hub 'asaxplayinghorse', where the original images live)."
    )
    image_tag: ImageTag = Field(
        description="Pinned tag every app image runs. Left out: config/defaults.yaml's; set the release "
        "you deploy."
    )
    image_tags: dict[ServiceKey, ImageTag] = Field(
        default_factory=dict,
        description="Per-service tag overrides by catalog key (e.g. roll one service forward). "
        "Left out: every service runs image_tag.",
    )
    replicas: dict[ServiceKey, Annotated[Count, Field(ge=0, le=20)]] = Field(
        default_factory=dict,
        description="Per-service replica counts by catalog key. Left out: the catalog's count.",
    )
    alpha_restrictions: Flag = Field(
        False, description="Put the web app behind the AlphaTesters forward-auth rule. Left out: open."
    )
    log_levels: tuple[LogLevel, ...] = Field(
        ("error", "warn", "log"),
        min_length=1,
        description="Logger levels the apps print. Left out: no debug output.",
    )
    bot_prefix: str = Field(
        "s.", pattern=r"^\S{1,5}$", description="Discord command prefix of the bot. Left out: 's.'."
    )
    parsed_object_prefix: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Key prefix of parsed replays in the replays bucket. Left out: the environment name.",
    )
    chatwoot: ChatwootConfig | None = Field(
        None, description="Support chat widget in the web app. Left out: the widget is disabled."
    )
